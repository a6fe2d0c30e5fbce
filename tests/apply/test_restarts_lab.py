"""Restarts against the lab: compliant means in effect (issue 11, "Restarts").

apply without --restart-services leaves the services on their old values: the next plan is
drift with ``restart pending`` lines. apply --restart-services restarts each service once,
waits for Running, checks the start time moved, and the next plan is compliant.
"""

from __future__ import annotations

import datetime
import json

import pytest

from compliance.cli import main
from compliance.errors import ExitCode
from tests.apply.applyhelpers import Workspace

pytestmark = pytest.mark.server


def plan_cli(workspace: Workspace, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["plan", "--inventory", str(workspace.inventory), *argv])
    return code, capsys.readouterr().out


def test_apply_without_restarts_then_plan_is_restart_pending_in_every_format(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert workspace.cli("apply", str(workspace.save_plan())) == 0

    code, text = plan_cli(workspace, capsys)
    assert code == ExitCode.DRIFT, text
    lines = [line for line in text.splitlines() if "restart pending: " in line]
    assert any("restart pending: MSExchangeIS on EX01 (value set 2026-" in line for line in lines), text
    assert any("MSExchangeIMAP4 on EX01 (value set " in line for line in lines), text
    assert all(", service up since " in line for line in lines)
    for fmt in ("json", "junit", "markdown"):
        code, out = plan_cli(workspace, capsys, "--format", fmt)
        assert code == ExitCode.DRIFT
        assert "restart pending: MSExchangeIS on EX01 (value set " in out, fmt
    _code, out = plan_cli(workspace, capsys, "--format", "json")
    report = json.loads(out)
    assert report["unreadable"] == []
    assert {f["check"] for f in report["findings"]} >= {"UCCX-STORE-001", "UCCX-IMAP-004"}
    # The state file apply wrote holds the change times plan used.
    written = json.loads((workspace.root / "state" / "lab-exchange2010-sp3-defaults.json").read_text())
    assert {(c["check"], tuple(c["services"])) for c in written["changes"]} == {
        ("UCCX-IMAP-003", ("MSExchangeIMAP4",)),
        ("UCCX-IMAP-004", ("MSExchangeIMAP4",)),
        ("UCCX-STORE-001", ("MSExchangeIS",)),
    }


def test_apply_with_restarts_then_plan_is_compliant(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    before = workspace.lab.state.started_at
    assert workspace.cli("apply", str(workspace.save_plan()), "--restart-services") == 0

    assert sorted(workspace.lab.state.service_restarts) == [("EX01", "MSExchangeIMAP4"), ("EX01", "MSExchangeIS")]
    moved = workspace.lab.state.service_started
    assert moved[("ex01", "msexchangeis")] > before
    code, text = plan_cli(workspace, capsys, "-v")
    assert code == ExitCode.OK, text
    assert "restart pending" not in text
    assert "in effect: set 2026-" in text
    restarts = [line for line in workspace.audit_lines() if line["setting"] == "Restart-Service"]
    assert [(r["resource"], r["result"]) for r in restarts] == [
        ("service MSExchangeIMAP4 on EX01", "applied"),
        ("service MSExchangeIS on EX01", "applied"),
    ]


def test_restart_waits_for_running(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    workspace.lab.state.restart_takes = datetime.timedelta(seconds=1.5)
    assert workspace.cli("apply", str(workspace.save_plan()), "--restart-services", "--restart-wait", "30") == 0

    code, text = plan_cli(workspace, capsys)
    assert code == ExitCode.OK, text


def test_a_restart_that_never_reports_running_in_time_is_a_failure(workspace: Workspace) -> None:
    workspace.lab.state.restart_takes = datetime.timedelta(seconds=30)
    code = workspace.cli("apply", str(workspace.save_plan()), "--restart-services", "--restart-wait", "0.5")

    assert code == ExitCode.BAD_INPUT  # a failed change or restart (docs/exit-codes.md)
    [first, *_] = [line for line in workspace.audit_lines() if line["setting"] == "Restart-Service"]
    assert first["result"] == "failed"
    assert "did not report Running with a new start time within 0.5 s (State Start Pending" in first["message"]


def test_a_restart_that_did_not_move_the_start_time_is_a_failure(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace.lab.state.restart_moves_start = False
    code = workspace.cli("apply", str(workspace.save_plan()), "--restart-services", "--restart-wait", "0.5")

    assert code == ExitCode.BAD_INPUT
    err = capsys.readouterr().err
    assert "restart of MSExchangeIMAP4 on EX01 failed: did not report Running with a new start time" in err
    restarts = [line for line in workspace.audit_lines() if line["setting"] == "Restart-Service"]
    assert {r["result"] for r in restarts} == {"failed"}
    assert all("before the restart it was up since" in r["message"] for r in restarts)
    # The plan still says pending: the services never started onto the new values.
    code, text = plan_cli(workspace, capsys)
    assert code == ExitCode.DRIFT and "restart pending: MSExchangeIS on EX01" in text
