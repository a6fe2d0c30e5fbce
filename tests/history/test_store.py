"""The history store on both backends: episodes, timeline, dedup, filters, prune, applies, hostile text."""

from __future__ import annotations

import dataclasses
import datetime
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from compliance.errors import InputError
from compliance.history import HistoryStore, open_history
from compliance.history.schema import metadata
from compliance.plan import Action, Change, ChangeKind, Plan, Waived, WaiverRef
from tests.history.conftest import DAY, T0, record


def _as(plan: Plan, target: str) -> Plan:
    """The same real plan, for another target (lists copied: the store must not share state)."""
    return dataclasses.replace(
        plan,
        target=target,
        changes=list(plan.changes),
        findings=list(plan.findings),
        compliant=list(plan.compliant),
        unreadable=list(plan.unreadable),
        waived=list(plan.waived),
    )


def _drift_keys(plan: Plan, target: str) -> set[tuple[str, str, str]]:
    return {(target, c.check, c.resource) for c in plan.changes} | {
        (target, f.check, f.resource) for f in plan.findings
    }


def test_episode_first_seen_last_seen_and_fix(store: HistoryStore, example_plans: dict[str, Plan]) -> None:
    drift, fixed = example_plans["exchange2010-sp3-defaults"], example_plans["exchange2010-sp3-compliant"]
    for day in range(3):
        record(store, [_as(drift, "lab-01")], day)
    record(store, [_as(fixed, "lab-01")], 3)

    episodes = store.episodes()

    assert {(e.target, e.check, e.resource) for e in episodes} == _drift_keys(drift, "lab-01")
    for e in episodes:
        assert (e.first_seen, e.last_seen, e.fixed_at) == (T0, T0 + 2 * DAY, T0 + 3 * DAY)
        assert (e.first_run, e.last_run, e.fixed_run) == ("run-000", "run-002", "run-003")
        assert e.fixed_by == ()  # nothing in the audit log: fixed outside the tool
    imap = next(e for e in episodes if e.check == "UCCX-IMAP-004")
    change = next(c for c in drift.changes if c.check == "UCCX-IMAP-004" and c.resource == imap.resource)
    assert (imap.current, imap.desired, imap.text) == (change.current, change.desired, change.requirement)


def test_drift_that_returns_is_a_second_episode(store: HistoryStore, example_plans: dict[str, Plan]) -> None:
    drift, fixed = example_plans["exchange2010-sp3-defaults"], example_plans["exchange2010-sp3-compliant"]
    for day, plan in enumerate([drift, fixed, fixed, drift]):
        record(store, [_as(plan, "lab-01")], day)

    imap = [e for e in store.episodes(check="UCCX-IMAP-004")]

    assert [(e.first_seen, e.fixed_at) for e in imap] == [(T0, T0 + DAY), (T0 + 3 * DAY, None)] * (len(imap) // 2)
    assert len(imap) == 2 * len({e.resource for e in imap})


def test_identical_runs_add_no_value_rows(store: HistoryStore, example_plans: dict[str, Plan]) -> None:
    plans = [_as(example_plans["exchange2010-sp3-defaults"], f"lab-{n:02d}") for n in range(3)]
    record(store, plans, 0)
    first = store.counts()

    for day in range(1, 11):
        record(store, plans, day)

    after = store.counts()
    for table in ("facts", "subjects", "observations", "targets"):
        assert after[table] == first[table], table
    assert after["runs"] == first["runs"] + 10
    assert after["target_runs"] == first["target_runs"] + 30
    # Three targets with the same values share each value row.
    assert first["facts"] == len(plans[0].changes) + len(plans[0].findings) + len(plans[0].compliant)


def test_timeline_is_oldest_first_with_counts(store: HistoryStore, example_plans: dict[str, Plan]) -> None:
    drift, fixed = example_plans["exchange2010-sp3-defaults"], example_plans["exchange2010-sp3-compliant"]
    record(store, [_as(drift, "lab-01"), _as(fixed, "lab-02")], 0)
    record(store, [_as(fixed, "lab-01"), _as(fixed, "lab-02")], 1)

    points = store.timeline()

    assert [(p.at, p.target, p.drift) for p in points] == [
        (T0, "lab-01", drift.summary()["drift"]),
        (T0, "lab-02", 0),
        (T0 + DAY, "lab-01", 0),
        (T0 + DAY, "lab-02", 0),
    ]
    assert [p.target for p in store.timeline(since=T0 + DAY, targets=["LAB-01"])] == ["lab-01"]


def test_filters(store: HistoryStore, example_plans: dict[str, Plan]) -> None:
    drift, fixed = example_plans["exchange2010-sp3-defaults"], example_plans["exchange2010-sp3-compliant"]
    record(store, [_as(drift, "lab-01"), _as(drift, "prod-01")], 0)
    record(store, [_as(fixed, "lab-01"), _as(drift, "prod-01")], 5)

    assert {e.target for e in store.episodes(target="LAB-*")} == {"lab-01"}
    assert {e.check for e in store.episodes(check="UCCX-IMAP-004")} == {"UCCX-IMAP-004"}
    # Since day 5: lab-01's episodes were fixed on day 5, prod-01's were last seen then: all stay.
    assert len(store.episodes(since=T0 + 5 * DAY)) == len(store.episodes())
    assert store.episodes(since=T0 + 6 * DAY) == []
    assert store.episodes(target="nothing-*") == []


def test_previous_drift_is_each_targets_previous_run(store: HistoryStore, example_plans: dict[str, Plan]) -> None:
    drift, fixed = example_plans["exchange2010-sp3-defaults"], example_plans["exchange2010-sp3-compliant"]
    record(store, [_as(drift, "lab-01")], 0)
    second = record(store, [_as(fixed, "lab-01")], 1)

    assert store.previous_drift(before_run=second) == _drift_keys(drift, "lab-01")
    assert store.previous_drift(before_run="run-000") == set()  # no run before the first
    assert store.previous_drift(before_run="not-recorded-yet") == set()  # the latest run is compliant


def test_a_run_is_recorded_once_and_in_order(store: HistoryStore, example_plans: dict[str, Plan]) -> None:
    plan = _as(example_plans["exchange2010-sp3-defaults"], "lab-01")
    record(store, [plan], 5)
    with pytest.raises(InputError, match="already recorded"):
        record(store, [plan], 6, run_id="run-005")
    with pytest.raises(InputError, match="runs are recorded in order"):
        record(store, [plan], 4)
    assert store.counts()["runs"] == 1  # each refusal rolled its run back


def test_prune_forgets_old_runs_and_keeps_what_is_still_seen(
    store: HistoryStore, example_plans: dict[str, Plan]
) -> None:
    drift, fixed = example_plans["exchange2010-sp3-defaults"], example_plans["exchange2010-sp3-compliant"]
    for day in range(10):
        record(
            store,
            [_as(drift if day < 8 else fixed, "lab-01"), _as(drift, "old-01")]
            if day < 2
            else [_as(drift if day < 8 else fixed, "lab-01")],
            day,
        )

    assert store.prune(keep_days=5, now=T0 + 10 * DAY) == 5

    counts = store.counts()
    assert counts["runs"] == 5
    assert [p.at for p in store.timeline()] == [T0 + d * DAY for d in range(5, 10)]
    episodes = store.episodes()
    assert {e.target for e in episodes} == {"lab-01"}  # old-01 was only in forgotten runs
    assert {(e.first_seen, e.last_seen, e.fixed_at) for e in episodes} == {(T0 + 5 * DAY, T0 + 7 * DAY, T0 + 8 * DAY)}
    # old-01's target row went with its results; lab-01's values of both verdicts stay.
    assert counts["targets"] == 1
    assert store.prune(keep_days=5, now=T0 + 10 * DAY) == 0
    with pytest.raises(InputError, match="at least 1 day"):
        store.prune(keep_days=0, now=T0)


def _audit_line(time: datetime.datetime, run: str, resource: str, result: str, check: str = "UCCX-IMAP-004") -> str:
    entry = {
        "time": time.isoformat(timespec="milliseconds"),
        "run": run,
        "command": "apply",
        "operator": {"local": "ops", "remote": "LAB\\admin"},
        "target": "lab-01",
        "check": check,
        "resource": resource,
        "setting": "MaxConnectionsPerUser",
        "old": 16,
        "new": 2400,
        "result": result,
        "message": None,
    }
    return json.dumps(entry) + "\n"


def test_applies_are_idempotent_and_fix_the_episode(
    store: HistoryStore, example_plans: dict[str, Plan], tmp_path: Path
) -> None:
    drift, fixed = example_plans["exchange2010-sp3-defaults"], example_plans["exchange2010-sp3-compliant"]
    record(store, [_as(drift, "lab-01")], 0)
    record(store, [_as(fixed, "lab-01")], 1)
    imap = next(c for c in drift.changes if c.check == "UCCX-IMAP-004")
    at = T0 + datetime.timedelta(hours=12)
    log = tmp_path / "audit.log"
    lines = [
        _audit_line(at, "apply-1", imap.resource, "applied"),
        _audit_line(at + datetime.timedelta(seconds=1), "apply-1", imap.resource, "verified"),
        _audit_line(at - 2 * DAY, "apply-0", imap.resource, "applied"),  # before the drift: not the fix
    ]
    log.write_text("".join([*lines, lines[0]]), encoding="utf-8")  # one line twice

    assert store.record_applies(log) == 3
    assert store.record_applies(log) == 0
    assert store.record_applies(tmp_path / "absent.log") == 0

    [episode] = [e for e in store.episodes(check="UCCX-IMAP-004") if e.resource == imap.resource]
    [fix] = episode.fixed_by
    assert (fix.run, fix.time, fix.operator, fix.results) == (
        "apply-1",
        at,
        "ops as LAB\\admin",
        ("applied", "verified"),
    )


def test_a_bad_audit_line_is_named_by_file_and_line(store: HistoryStore, tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text(_audit_line(T0, "a", "r", "applied") + "{not json\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"audit\.log:2: not an audit log line"):
        store.record_applies(log)
    assert store.counts()["applies"] == 0


HOSTILE = "EX01\\\x00\x1b[31mred\u202eevil\ud800\n\r" + "x" * 200_000


def _hostile_plan() -> Plan:
    change = Change(
        check="UCCX-IMAP-001",
        title="IMAP\x07",
        severity="high",
        resource=HOSTILE,
        identity="EX01",
        setting="MaxConnections",
        current=HOSTILE,
        desired=2400,
        requirement="at least 2400\x1b]0;title\x07",
        action=Action.UPDATE,
        kind=ChangeKind.IMAP,
    )
    waiver = WaiverRef(
        check="UCCX-IMAP-001",
        resource="*",
        justification="vendor\x00ticket",
        approver="cab",
        created=datetime.date(2026, 1, 1),
        expires=datetime.date(2026, 6, 1),
        source="waivers.yaml:3",
    )
    plan = Plan(baseline="b", baseline_path="b.yaml", baseline_sha256="0" * 64, source="lab", target="lab\x1b-01")
    plan.add(change)
    plan.waived.append(Waived(result=dataclasses.replace(change, check="UCCX-IMAP-002"), waiver=waiver))
    return plan


def test_hostile_values_round_trip_and_are_shown_escaped(location: str, tmp_path: Path, cli: object) -> None:
    with open_history(location, state_dir=tmp_path) as store:
        record(store, [_hostile_plan()], 0)
        [drift, waived] = store.episodes()
    assert (drift.target, drift.resource, drift.current, drift.text) == (
        "lab\x1b-01",
        HOSTILE,
        HOSTILE,
        "at least 2400\x1b]0;title\x07",
    )
    assert waived.waived and waived.check == "UCCX-IMAP-002"

    result = cli("history", "--history", location)  # type: ignore[operator]
    assert result.code == 0
    assert "\x1b" not in result.out and "\x00" not in result.out and "\u202e" not in result.out
    assert "lab\\x1b-01" in result.out and "open, waived" in result.out
    assert max(len(line) for line in result.out.splitlines()) < 600  # a 200 kB value is cut in the table

    result = cli("history", "--history", location, "--format", "json")  # type: ignore[operator]
    document = json.loads(result.out)
    assert document["episodes"][0]["resource"] == HOSTILE  # the JSON keeps all of it, exactly


def _all_text(location: str) -> str:
    """Every value in every table, as the database returns it (for "no secret stored")."""
    url = location.replace("postgresql://", "postgresql+psycopg://") if "://" in location else f"sqlite:///{location}"
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = [str(row) for table in metadata.sorted_tables for row in conn.execute(sa.select(table))]
    engine.dispose()
    return "\n".join(rows)


def test_all_text_sees_what_is_stored(store: HistoryStore, location: str, example_plans: dict[str, Plan]) -> None:
    """The helper the secrets test relies on does find a stored value (so its "not in" can fail)."""
    record(store, [_as(example_plans["exchange2010-sp3-defaults"], "needle-target-7")], 0)
    assert "needle-target-7" in _all_text(location)
