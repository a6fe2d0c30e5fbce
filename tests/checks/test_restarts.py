"""The restart-pending rule (compliance.checks.restarts) with WMI's real time text and zones."""

from __future__ import annotations

import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.apply.state import ChangeRecord
from compliance.checks.restarts import ApplyRecords, RestartGate
from compliance.facts.model import Facts, Reading, server_file
from compliance.kinds import service_start
from compliance.kinds.service_start import ServiceStart, dmtf_time
from compliance.plan import Compliant, Finding, Unreadable

UTC = datetime.timezone.utc
STORE = Compliant(check="UCCX-STORE-001", title="store sessions", resource="registry on EX01", evidence="is 204")


def facts_with(started: str | None, state: str = "Running") -> Facts:
    when = dmtf_time(started) if started else None
    starts = [ServiceStart("EX01", "MSExchangeIS", state, 4242 if when else 0, when)]
    return Facts(source="test", readings={server_file(service_start.KIND.stem, "EX01"): Reading(starts)})


def records(changed: datetime.datetime) -> ApplyRecords:
    record = ChangeRecord(
        "EX01", "UCCX-STORE-001", "Maximum Allowed Service Sessions Per User", ("MSExchangeIS",), changed
    )
    return ApplyRecords("state/lab.json", (record,))


def judge(facts: Facts, recs: ApplyRecords) -> object:
    return RestartGate(facts, recs).judge(STORE, server="EX01", services=("MSExchangeIS",), severity="high")


def test_dmtf_offsets_are_minutes_east_of_utc() -> None:
    assert dmtf_time("20261201093000.000000+060") == datetime.datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    assert dmtf_time("20210929115907.020592-420") == datetime.datetime(2021, 9, 29, 18, 59, 7, 20592, tzinfo=UTC)


def test_started_after_the_change_is_compliant_across_zones() -> None:
    # Changed 08:15 UTC; the server (UTC+1) says its store started at 09:30 local = 08:30 UTC.
    changed = datetime.datetime(2026, 12, 1, 8, 15, tzinfo=UTC)
    result = judge(facts_with("20261201093000.000000+060"), records(changed))
    assert isinstance(result, Compliant)
    assert "in effect: set 2026-12-01 08:15:00 UTC (apply record in state/lab.json)" in result.evidence
    assert "MSExchangeIS up since 2026-12-01 08:30:00 UTC" in result.evidence


def test_started_before_the_change_is_restart_pending() -> None:
    # 09:30 at UTC+1 is 08:30 UTC; the change at 08:45 UTC came after: the old value is in effect.
    changed = datetime.datetime(2026, 12, 1, 8, 45, tzinfo=UTC)
    result = judge(facts_with("20261201093000.000000+060"), records(changed))
    assert isinstance(result, Finding)
    assert result.message == (
        "restart pending: MSExchangeIS on EX01 (value set 2026-12-01 08:45:00 UTC, "
        "service up since 2026-12-01 08:30:00 UTC)"
    )
    assert result.severity == "high"


def test_a_negative_offset_moves_the_start_later_in_utc() -> None:
    # 01:30 at UTC-7 (-420) is 08:30 UTC, after a change at 08:00 UTC: in effect.
    result = judge(facts_with("20261201013000.000000-420"), records(datetime.datetime(2026, 12, 1, 8, tzinfo=UTC)))
    assert isinstance(result, Compliant)


def test_unknown_change_time_is_unreadable_never_compliant() -> None:
    result = judge(facts_with("20261201093000.000000+060"), ApplyRecords("state/lab.json"))
    assert isinstance(result, Unreadable)
    assert "no apply record of UCCX-STORE-001 on EX01 in state/lab.json" in result.reason
    assert "Exchange keeps no change time PowerShell 2.0 can read" in result.reason


def test_unknown_start_time_is_unreadable() -> None:
    facts = Facts(source="test")
    result = judge(facts, records(datetime.datetime(2026, 12, 1, tzinfo=UTC)))
    assert isinstance(result, Unreadable)
    assert result.reason == "service start times unknown: GetServiceStartTime-EX01.xml: not collected"


def test_a_stopped_service_is_pending() -> None:
    result = judge(facts_with(None, state="Stopped"), records(datetime.datetime(2026, 12, 1, tzinfo=UTC)))
    assert isinstance(result, Finding) and "service Stopped" in result.message


def test_exchange_evidence_older_than_the_start_is_in_effect_without_a_record() -> None:
    imap = Compliant(check="UCCX-IMAP-001", title="t", resource="IMAP settings on EX01", evidence="ok")
    facts = facts_with("20261201093000.000000+060")
    starts = facts.readings.pop("GetServiceStartTime-EX01")
    facts.readings["GetServiceStartTime-EX01"] = Reading(
        [s.__class__(**{**s.__dict__, "name": "MSExchangeIMAP4"}) for s in starts.get() or []]
    )
    gate = RestartGate(facts, ApplyRecords("state/lab.json"))
    old = datetime.datetime(2025, 4, 2, 10, 48, 31, tzinfo=UTC)
    result = gate.judge(
        imap,
        server="EX01",
        services=("MSExchangeIMAP4",),
        severity="high",
        evidence=old,
        evidence_name="WhenChangedUTC",
    )
    assert isinstance(result, Compliant) and "(WhenChangedUTC)" in result.evidence


@settings(max_examples=200, deadline=None)
@given(
    change=st.datetimes(min_value=datetime.datetime(2001, 1, 1), max_value=datetime.datetime(2090, 1, 1)),
    delta=st.integers(min_value=-(10**8), max_value=10**8),
    offset=st.integers(min_value=-720, max_value=840),
)
def test_compliant_exactly_when_the_start_follows_the_change(
    change: datetime.datetime, delta: int, offset: int
) -> None:
    changed = change.replace(tzinfo=UTC)
    start = changed + datetime.timedelta(microseconds=delta)
    local = start.astimezone(datetime.timezone(datetime.timedelta(minutes=offset)))
    text = local.strftime("%Y%m%d%H%M%S.%f") + ("+" if offset >= 0 else "-") + f"{abs(offset):03d}"
    result = judge(facts_with(text), records(changed))
    assert isinstance(result, Compliant if delta > 0 else Finding)
