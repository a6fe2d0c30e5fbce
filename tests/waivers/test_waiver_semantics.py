"""What a waiver does to real plans (the shipped defaults folder: 22 changes, 2 findings)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest

from compliance import pipeline, resources
from compliance.baseline import load_baseline
from compliance.errors import ExitCode
from compliance.plan import Change, Finding, Plan
from compliance.waivers import EXPIRED_CHECK, WaiverSet, load_waivers
from tests.waivers.waiverhelpers import TODAY, waiver, write_waivers

REPO = Path(__file__).resolve().parents[2]
DEFAULTS = REPO / "examples" / "facts" / "exchange2010-sp3-defaults"
COMPLIANT = REPO / "examples" / "facts" / "exchange2010-sp3-compliant"
BASELINE = resources.shipped_baseline("uccx-exchange2010-sp1")


def waivers(tmp_path: Path, *entries: dict[str, Any]) -> WaiverSet:
    return load_waivers(write_waivers(tmp_path / "waivers.yaml", *entries), today=TODAY)


def planned(folder: Path, waiver_set: WaiverSet | None, today: datetime.date = TODAY) -> tuple[Plan, list[str]]:
    warned: list[str] = []
    plan = pipeline.plan_folder(BASELINE, folder, {}, waivers=waiver_set, today=today, warn=warned.append)
    return plan, warned


def test_a_live_waiver_moves_its_change_into_waived(tmp_path: Path) -> None:
    before, _ = planned(DEFAULTS, None)
    plan, warned = planned(DEFAULTS, waivers(tmp_path, waiver()))
    assert warned == []
    [item] = plan.waived
    assert isinstance(item.result, Change)
    assert (item.check, item.resource, item.result.setting) == (
        "UCCX-IMAP-004",
        "IMAP settings on EX01",
        "MaxConnectionsPerUser",
    )
    assert item.waiver.source == f"{tmp_path / 'waivers.yaml'}:4"
    assert item.waiver.approver == "jane.doe@example.com"
    assert item.result not in plan.changes
    assert len(plan.changes) == len(before.changes) - 1
    assert plan.summary()["drift"] == before.summary()["drift"] - 1
    assert plan.summary()["waived"] == 1


def test_a_finding_can_be_waived_too(tmp_path: Path) -> None:
    before, _ = planned(DEFAULTS, None)
    [event] = [f for f in before.findings if f.check == "UCCX-EVT-001"]
    plan, _ = planned(DEFAULTS, waivers(tmp_path, waiver(check="UCCX-EVT-001", resource=event.resource.upper())))
    assert [w.result for w in plan.waived] == [event]  # the glob ignores case
    assert event not in plan.findings


def test_waiving_all_drift_exits_0_and_drops_the_restarts_it_needed(tmp_path: Path) -> None:
    before, _ = planned(DEFAULTS, None)
    drift: list[Change | Finding] = [*before.changes, *before.findings]
    checks = sorted({r.check for r in drift})
    plan, warned = planned(DEFAULTS, waivers(tmp_path, *(waiver(check=c, resource="*") for c in checks)))
    assert warned == []
    assert (plan.changes, plan.findings, plan.exit_code) == ([], [], ExitCode.OK)
    assert len(plan.waived) == len(before.changes) + len(before.findings)
    assert plan.restarts == []


def test_the_first_matching_waiver_in_the_file_wins(tmp_path: Path) -> None:
    plan, warned = planned(DEFAULTS, waivers(tmp_path, waiver(approver="first"), waiver(approver="second")))
    assert [w.waiver.approver for w in plan.waived] == ["first"]
    assert len(warned) == 1 and ":10 " in warned[0] and "matches nothing" in warned[0]


def test_an_expired_waiver_is_a_finding_and_its_drift_stays_drift(tmp_path: Path) -> None:
    waiver_set = waivers(tmp_path, waiver(expires="2026-12-01"))
    on_the_day, _ = planned(DEFAULTS, waiver_set, today=datetime.date(2026, 12, 1))
    assert len(on_the_day.waived) == 1  # valid through its expires day
    plan, _ = planned(DEFAULTS, waiver_set, today=datetime.date(2026, 12, 2))
    assert plan.waived == []
    assert any(c.check == "UCCX-IMAP-004" for c in plan.changes)
    [expired] = [f for f in plan.findings if f.check == EXPIRED_CHECK]
    assert expired.severity == "high"
    assert f"{tmp_path / 'waivers.yaml'}:4" in expired.resource and "UCCX-IMAP-004" in expired.resource
    assert "expired on 2026-12-01" in expired.message and "renew" in expired.message


def test_an_expired_waiver_fails_a_compliant_run(tmp_path: Path) -> None:
    plan, _ = planned(COMPLIANT, waivers(tmp_path, waiver(expires="2026-11-10")), today=TODAY)
    assert [f.check for f in plan.findings] == [EXPIRED_CHECK]
    assert plan.exit_code is ExitCode.DRIFT


def test_a_waiver_that_matches_nothing_is_a_warning_in_the_notes(tmp_path: Path) -> None:
    plan, warned = planned(DEFAULTS, waivers(tmp_path, waiver(resource="IMAP setings on *")))  # typo
    assert plan.waived == []
    [line] = warned
    assert f"{tmp_path / 'waivers.yaml'}:4" in line and "matches nothing" in line
    assert plan.notes[-1] == f"warning: {line}"


def test_an_unreadable_check_is_never_waived(tmp_path: Path, copy_of: Any) -> None:
    folder = copy_of(DEFAULTS)
    (folder / "GetImapSettings.xml").unlink()
    plan, warned = planned(folder, waivers(tmp_path, waiver(resource="IMAP settings*")))
    assert plan.waived == []
    assert any(u.check == "UCCX-IMAP-004" for u in plan.unreadable)
    assert plan.exit_code is ExitCode.INCOMPLETE
    [line] = warned
    assert "could not be read" in line and "never waived" in line and "UCCX-IMAP-004" in line


def test_a_target_glob_never_matches_an_offline_folder_and_only_its_targets(tmp_path: Path) -> None:
    plan, warned = planned(DEFAULTS, waivers(tmp_path, waiver(target="lab-*")))
    assert plan.waived == [] and "matches nothing" in warned[0]
    ours = pipeline.plan(load_baseline(BASELINE), pipeline.read(pipeline.FactsFolder(DEFAULTS)), target="lab-a")
    other = pipeline.plan(load_baseline(BASELINE), pipeline.read(pipeline.FactsFolder(DEFAULTS)), target="prod")
    assert waivers(tmp_path, waiver(target="LAB-*")).apply([ours, other], today=TODAY) == []
    assert (len(ours.waived), len(other.waived)) == (1, 0)


def test_a_target_that_was_not_planned_is_never_waived(tmp_path: Path) -> None:
    failed = Plan.failed_target("lab-a", "http://x/", "unreachable", ExitCode.INCOMPLETE)
    failed.findings.append(
        Finding(check="UCCX-IMAP-004", title="t", severity="high", resource="IMAP settings on EX01", message="m")
    )
    warned = waivers(tmp_path, waiver(), waiver(expires="2026-11-10")).apply([failed], today=TODAY)
    assert failed.waived == [] and len(failed.findings) == 1  # neither waived nor given an expired finding
    assert failed.exit_code is ExitCode.INCOMPLETE
    assert len(warned) == 2


def test_expiring_lists_live_waivers_due_within_n_days(tmp_path: Path) -> None:
    waiver_set = waivers(
        tmp_path,
        waiver(expires="2026-12-01"),
        waiver(expires="2026-11-20"),
        waiver(expires="2027-01-30"),
        waiver(created="2026-10-01", expires="2026-11-10"),  # already expired
    )
    assert [w.expires.isoformat() for w in waiver_set.expiring(16, TODAY)] == ["2026-11-20", "2026-12-01"]
    assert waiver_set.expiring(0, TODAY) == []


@pytest.mark.parametrize("fmt", ["json", "text", "markdown", "junit", "ps1"])
def test_every_format_shows_the_waived_drift(tmp_path: Path, fmt: str) -> None:
    from compliance.reporters import render

    hostile = waiver(justification="ok\x1b[2J\n| <script> `x` ]]>", approver="eve\u202e")
    plan, _ = planned(DEFAULTS, waivers(tmp_path, hostile))
    text = render(fmt, [plan])
    assert "\x1b" not in text and "\u202e" not in text  # escaped in every format, JUnit too (CI shows it)
    if fmt == "json":
        import json

        [entry] = json.loads(text)["waived"]
        assert entry["waiver"]["justification"] == hostile["justification"]
        assert entry["waived_as"] == "change"
    if fmt == "junit":
        import xml.etree.ElementTree as ET

        [skipped] = ET.fromstring(text).iter("skipped")
        assert skipped.get("message", "").startswith("waived until 2027-02-01 by eve\\u202e: ok\\x1b[2J\n| <script>")
    if fmt == "ps1":
        lines = [line for line in text.splitlines() if "UCCX-IMAP-004" in line]
        assert all(line.startswith("#") for line in lines), lines  # a comment, never a command
        assert "MaxConnectionsPerUser 2400" not in text
    if fmt == "text":
        assert "1 waived" in text and "waived until 2027-02-01 by eve\\u202e" in text
    if fmt == "markdown":
        assert "&lt;script&gt;" in text and "\\|" in text
