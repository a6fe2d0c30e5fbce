"""apply, dry-run, stale plans, partial failure and rollback against the lab over real PSRP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compliance.lab import CmdletFailure
from compliance.lab.properties import prop
from compliance.lab.state import MAILBOX_FILE
from compliance.lab.values import set_property
from compliance.pipeline import plan_inventory
from tests.apply.applyhelpers import BASELINE, PASSWORD, Workspace, run_cmdlet
from tests.transports import LabTransport

pytestmark = pytest.mark.server


def test_apply_changes_the_lab_and_a_new_plan_has_only_restarts_left(workspace: Workspace) -> None:
    plan = workspace.save_plan()

    assert workspace.cli("apply", str(plan)) == 0

    [replan] = plan_inventory(workspace.inventory, {})
    assert replan.changes == []
    assert replan.unreadable == []
    # Not restarted: the services still run with the old values (tests/apply/test_restarts_lab.py).
    assert {f.check for f in replan.findings} == {"UCCX-IMAP-003", "UCCX-IMAP-004", "UCCX-STORE-001"}
    assert all(f.message.startswith("restart pending: ") for f in replan.findings)
    results = {(line["check"], line["result"]) for line in workspace.audit_lines()}
    assert ("UCCX-IMAP-004", "applied") in results
    assert ("UCCX-IMAP-004", "verified") in results
    assert not any(r == "mismatch" for _, r in results)
    written = [workspace.audit.read_text(encoding="utf-8")]
    written += [p.read_text(encoding="utf-8") for p in workspace.backups.glob("*.json")]
    assert written[1:] and not any(PASSWORD in text for text in written)


def test_apply_lists_pending_restarts_in_json_and_exits_0(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = workspace.save_plan()

    assert workspace.cli("apply", str(plan), "--format", "json") == 0

    result = json.loads(capsys.readouterr().out)
    assert {(r["server"], r["service"]) for r in result["restarts_pending"]} == {
        ("EX01", "MSExchangeIMAP4"),
        ("EX01", "MSExchangeIS"),
    }
    assert workspace.lab.state.service_restarts == []


def test_restart_services_restarts_on_the_host_endpoint(workspace: Workspace) -> None:
    plan = workspace.save_plan()

    assert workspace.cli("apply", str(plan), "--restart-services") == 0

    assert sorted(workspace.lab.state.service_restarts) == [
        ("EX01", "MSExchangeIMAP4"),
        ("EX01", "MSExchangeIS"),
    ]


def test_dry_run_changes_nothing_and_shows_what_if(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    plan = workspace.save_plan()
    before = workspace.lab.state.snapshot()

    assert workspace.cli("apply", str(plan), "--dry-run") == 0

    assert workspace.lab.state.snapshot() == before
    out = capsys.readouterr().out
    assert 'What if: Performing operation "Set-ImapSettings" on Target "EX01".' in out
    assert 'What if: Performing operation "New Property"' in out  # the registry, on the host endpoint
    assert not workspace.backups.exists()
    assert {line["result"] for line in workspace.audit_lines()} == {"what-if"}


def test_a_change_made_after_plan_makes_apply_refuse_with_nothing_sent(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = workspace.save_plan()
    run_cmdlet(workspace.lab, "Set-ImapSettings", Server="EX01", MaxConnectionsPerUser=100)
    before = workspace.lab.state.snapshot()

    assert workspace.cli("apply", str(plan)) == 1

    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "plan is stale" in err[0] and "MaxConnectionsPerUser was 16, is now 100" in err[0]
    assert workspace.lab.state.snapshot() == before
    assert workspace.audit_lines() == []
    assert not workspace.backups.exists()


def test_a_failure_stops_apply_and_rollback_restores_the_original_state(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = workspace.save_plan()
    original = workspace.lab.state.snapshot()
    # The second Set-ReceiveConnector fails: the registry change after it must not be attempted.
    workspace.lab.faults.failing_cmdlets = {"Set-ReceiveConnector": CmdletFailure("injected fault", at_call=2)}

    assert workspace.cli("apply", str(plan), "--format", "json") == 1

    captured = capsys.readouterr()
    result = json.loads(captured.out)["targets"][0]
    by_result: dict[str, list[str]] = {}
    for change in result["changes"]:
        by_result.setdefault(change["result"], []).append(change["check"])
    assert by_result["failed"] == ["UCCX-SMTP-004"]
    assert by_result["not-attempted"] == ["UCCX-STORE-001"]
    assert len(by_result["applied"]) == 20
    assert "1 failed, 1 not attempted" in captured.err
    backup = json.loads(Path(result["backup"]).read_text(encoding="utf-8"))
    statuses = {e["change"]["check"]: e["status"] for e in backup["entries"]}
    assert statuses["UCCX-SMTP-003"] == "applied" and statuses["UCCX-SMTP-004"] == "failed"
    assert workspace.lab.state.snapshot() != original

    workspace.lab.faults.failing_cmdlets = {}
    assert workspace.cli("rollback", result["backup"], "--auto-approve") == 0

    assert workspace.lab.state.snapshot() == original


def test_rollback_dry_run_changes_nothing(workspace: Workspace) -> None:
    plan = workspace.save_plan()
    assert workspace.cli("apply", str(plan)) == 0
    applied = workspace.lab.state.snapshot()
    [backup] = workspace.backups.glob("*.json")

    assert workspace.cli("rollback", str(backup), "--dry-run") == 0

    assert workspace.lab.state.snapshot() == applied


def test_rollback_without_a_terminal_needs_auto_approve(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = workspace.save_plan()
    assert workspace.cli("apply", str(plan)) == 0
    applied = workspace.lab.state.snapshot()
    [backup] = workspace.backups.glob("*.json")

    assert workspace.cli("rollback", str(backup)) == 1  # pytest's stdin is not a terminal

    assert "--auto-approve" in capsys.readouterr().err
    assert workspace.lab.state.snapshot() == applied


def test_apply_inventory_refuses_without_a_terminal_unless_auto_approved(workspace: Workspace) -> None:
    before = workspace.lab.state.snapshot()

    assert workspace.cli("apply", "--inventory", str(workspace.inventory)) == 1
    assert workspace.lab.state.snapshot() == before

    assert workspace.cli("apply", "--inventory", str(workspace.inventory), "--auto-approve") == 0
    assert plan_inventory(workspace.inventory, {})[0].changes == []


def test_target_limits_apply_to_one_check(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    plan = workspace.save_plan()

    assert workspace.cli("apply", str(plan), "--target", "UCCX-IMAP-004") == 0

    assert "--target applies only part of the plan" in capsys.readouterr().out
    [replan] = plan_inventory(workspace.inventory, {})
    remaining = {c.check for c in replan.changes}
    assert "UCCX-IMAP-004" not in remaining
    assert "UCCX-IMAP-003" in remaining


HOSTILE = "O'Brien’s ‘x’ ‛y‚ \"; $(Remove-Mailbox -Confirm:$false) `whoami` # <# z #>\nnext line"


def test_a_hostile_mailbox_name_reaches_the_lab_as_one_literal_value(lab_hostile: Workspace) -> None:
    plan = lab_hostile.save_plan()

    assert lab_hostile.cli("apply", str(plan), "--target", "UCCX-ADP-001") == 0

    users = [str(prop(ace, "User")) for ace in lab_hostile.lab.state.of("GetADPermission")]
    assert f"LAB\\{HOSTILE}" in users


@pytest.fixture
def lab_hostile(workspace: Workspace, lab_transport: LabTransport) -> Workspace:
    """The UCCX mailbox renamed to a hostile name before the inventory (and its uccx_mailbox) is written."""
    mailbox = workspace.lab.state.of(MAILBOX_FILE)[0]
    for name in ("Alias", "SamAccountName"):
        set_property(mailbox, name, HOSTILE)
    workspace.lab.write_inventory(workspace.inventory, baseline=BASELINE, **lab_transport.inventory_fields)
    return workspace
