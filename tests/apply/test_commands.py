"""Changes -> cmdlet specs: the safe order, merged policy settings, inverses, and stop-at-failure."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from compliance.apply.commands import build_steps, inverse_command
from compliance.apply.executor import Outcome, Sent, run_steps
from compliance.cmdlet import EXCHANGE, CommandSpec
from compliance.errors import ApplyError
from compliance.kinds import CHANGE_HANDLERS
from compliance.kinds.ad_permission import principal
from compliance.pipeline import plan_folder
from compliance.plan import Action, Change, ChangeKind

ROOT = Path(__file__).resolve().parents[2]


def changes() -> list[Change]:
    return plan_folder(
        ROOT / "baselines/uccx-exchange2010-sp1.yaml", ROOT / "examples/facts/exchange2010-sp3-defaults", {}
    ).changes


def test_a_policy_is_created_then_set_once_then_assigned() -> None:
    steps = build_steps(changes())
    cmdlets = [c.cmdlet for s in steps for c in s.commands]
    assert cmdlets[:3] == ["New-ThrottlingPolicy", "Set-ThrottlingPolicy", "Set-Mailbox"]
    assert cmdlets.count("Set-ThrottlingPolicy") == 1
    new, merged, assign = steps[:3]
    assert len(merged.changes) == 14 and merged.depends_on == (new.number,) and merged.needs_created
    assert assign.depends_on == (new.number, merged.number)
    assert merged.commands[0].parameters["IMAPMaxConcurrency"] is None
    assert merged.commands[0].parameters["Identity"] == "UCCX"


def test_every_change_is_in_exactly_one_step() -> None:
    planned = changes()
    covered = sorted(i for s in build_steps(planned) for i in s.changes)
    assert covered == list(range(len(planned)))


def test_registry_goes_to_the_mailbox_servers_host_endpoint() -> None:
    store = next(c for c in changes() if c.check == "UCCX-STORE-001")
    [step] = [s for s in build_steps([store])]
    assert step.commands[0] == CommandSpec(
        "host:EX01",
        "New-ItemProperty",
        {
            "Path": "HKLM:\\SYSTEM\\CurrentControlSet\\Services\\MSExchangeIS\\ParametersSystem",
            "Name": "Maximum Allowed Service Sessions Per User",
            "PropertyType": "DWord",
            "Value": store.desired,
        },
    )
    updated = dataclasses.replace(store, current=16, desired=204, action=Action.UPDATE)
    assert build_steps([updated])[0].commands[0].cmdlet == "Set-ItemProperty"
    assert build_steps([updated])[0].commands[0].parameters["Type"] == "DWord"


def test_inverses() -> None:
    by_check = {c.check: c for c in changes()}
    assert inverse_command(by_check["UCCX-THR-000"], None) == CommandSpec(
        EXCHANGE, "Remove-ThrottlingPolicy", {"Identity": "UCCX", "Confirm": False}
    )
    assert inverse_command(by_check["UCCX-THR-001"], None) is None  # removed with its policy
    assert inverse_command(by_check["UCCX-STORE-001"], None).cmdlet == "Remove-ItemProperty"  # type: ignore[union-attr]
    assert inverse_command(by_check["UCCX-ADP-001"], None).cmdlet == "Remove-ADPermission"  # type: ignore[union-attr]
    mailbox = inverse_command(by_check["UCCX-MBX-001"], None)
    assert mailbox is not None and mailbox.parameters["ThrottlingPolicy"] is None


def test_ad_user_is_the_principal_the_check_recorded() -> None:
    adp = next(c for c in changes() if c.check == "UCCX-ADP-001")
    assert principal(adp) == "uccx"
    hostile = dataclasses.replace(adp, principal="a has b'; Remove-Mailbox x")
    assert principal(hostile) == "a has b'; Remove-Mailbox x"
    with pytest.raises(ApplyError, match="which user"):
        principal(dataclasses.replace(adp, principal=None))


def test_every_change_kind_has_a_handler_and_a_change_needs_its_kind() -> None:
    assert set(CHANGE_HANDLERS) == set(ChangeKind)
    fields: dict[str, Any] = {
        "check": "UCCX-X-001",
        "title": "t",
        "severity": "low",
        "resource": "r",
        "identity": "i",
        "setting": "S",
        "current": 1,
        "desired": 2,
        "requirement": "exactly 2",
        "action": Action.UPDATE,
    }
    with pytest.raises(TypeError, match="kind"):
        Change(**fields)
    with pytest.raises(TypeError):
        Change("UCCX-X-001", "t", "low", "r", "i", "S", 1, 2, "exactly 2", Action.UPDATE)  # type: ignore[call-arg]


def test_the_first_failure_stops_the_run() -> None:
    steps = build_steps(changes())
    sent: list[str] = []

    def send(command: CommandSpec, what_if: bool) -> Sent:
        sent.append(command.cmdlet)
        fails = command.cmdlet == "Set-ThrottlingPolicy"
        return Sent(command, "boom" if fails else None)

    outcomes = run_steps(send, steps, dry_run=False)

    assert [o.result for o in outcomes[:3]] == [Outcome.APPLIED, Outcome.FAILED, Outcome.NOT_ATTEMPTED]
    assert all(o.result is Outcome.NOT_ATTEMPTED for o in outcomes[2:])
    assert sent == ["New-ThrottlingPolicy", "Set-ThrottlingPolicy"]


def test_dry_run_does_not_send_what_needs_a_created_object() -> None:
    steps = build_steps(changes())
    sent: list[tuple[str, bool]] = []

    def send(command: CommandSpec, what_if: bool) -> Sent:
        sent.append((command.cmdlet, what_if))
        return Sent(command, None, (f"What if: {command.cmdlet}",))

    outcomes = run_steps(send, steps, dry_run=True)

    assert all(o.result is Outcome.WHAT_IF for o in outcomes)
    assert ("Set-ThrottlingPolicy", True) not in sent and ("Set-Mailbox", True) not in sent
    assert all(what_if for _, what_if in sent)
    assert "needs the object step 1 creates" in (outcomes[1].message or "")
    assert {o.step.kind for o in outcomes if o.lines} >= {ChangeKind.IMAP, ChangeKind.REGISTRY}
