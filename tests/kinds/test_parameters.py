"""Setting names come from their cmdlet's known parameters: validate refuses any other with a
located line, and every command built from a change (apply, rollback, a saved plan) refuses one.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from compliance import parameters
from compliance.apply.commands import build_steps, inverse_command
from compliance.apply.saved_plan import canonical_checksum, read_saved_plan, write_saved_plan
from compliance.kinds import CHANGE_HANDLERS, KINDS
from compliance.pipeline import plan_folder
from compliance.plan import Change, ChangeKind, Plan

ROOT = Path(__file__).resolve().parents[2]
SP1 = ROOT / "baselines/uccx-exchange2010-sp1.yaml"
DEFAULTS = ROOT / "examples/facts/exchange2010-sp3-defaults"
INJECTION = "MaxCommandSize 1; Remove-Mailbox -Identity ceo -Confirm:$false; #"

BASELINE = """\
apiVersion: uccx-compliance/v1
kind: Baseline
metadata: {name: small, description: d, source: s}
applies_to: ">=14.1,<15"
rules:
  imap_settings:
    checks:
      - {id: UCCX-IMAP-001, title: t, severity: low, rationale: r, remediation: x, setting: MaxCommandSize, at_least: 1}
      - {id: UCCX-IMAP-002, title: t, severity: low, rationale: r, remediation: x, setting: MaxConnections, at_least: 1}
      - id: UCCX-IMAP-003
        title: t
        severity: low
        rationale: r
        remediation: x
        setting: SETTING
        at_least: 1
  throttling_policy:
    name: UCCX
    presence_check: {id: UCCX-THR-000, title: t, severity: low, rationale: r, remediation: x}
    checks:
      - {id: UCCX-THR-001, title: t, severity: low, rationale: r, remediation: x,
         setting: IMAPMaxConcurrency, unlimited: true}
"""


def validate(tmp_path: Path, cli: Any, text: str) -> tuple[int, list[str], str]:
    path = tmp_path / "b.yaml"
    path.write_text(text, encoding="utf-8")
    result = cli("validate", path)
    return result.code, result.err.splitlines(), str(path)


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("MaxComandSize", "unknown Set-ImapSettings parameter 'MaxComandSize' (did you mean 'MaxCommandSize'?)"),
        (f"'{INJECTION}'", f"unknown Set-ImapSettings parameter {INJECTION!r}"),
        ("Frobnicate", "unknown Set-ImapSettings parameter 'Frobnicate'"),
        # Parameters of the cmdlet that are not settings: which server, and how it runs.
        ("Server", "unknown Set-ImapSettings parameter 'Server'"),
        ("WhatIf", "unknown Set-ImapSettings parameter 'WhatIf'"),
        ("DomainController", "unknown Set-ImapSettings parameter 'DomainController'"),
    ],
)
def test_validate_refuses_a_setting_its_cmdlet_does_not_take(
    tmp_path: Path, cli: Any, setting: str, message: str
) -> None:
    text = BASELINE.replace("SETTING", setting)
    code, err, path = validate(tmp_path, cli, text)
    line = line_of(text, "setting: " + setting)
    assert code == 1
    assert err == [f"{path}:{line}:9: rules.imap_settings.checks[2].setting: {message}"]


def test_validate_matches_names_case_insensitively(tmp_path: Path, cli: Any) -> None:
    code, err, _ = validate(tmp_path, cli, BASELINE.replace("SETTING", "maxconnectionsperuser"))
    assert (code, err) == (0, [])


def test_validate_refuses_a_throttling_setting_of_another_family_and_a_twice_set_one(tmp_path: Path, cli: Any) -> None:
    text = BASELINE.replace("SETTING", "MaxConnectionsPerUser")
    code, err, _ = validate(tmp_path, cli, text.replace("setting: IMAPMaxConcurrency", "setting: MaxCommandSize"))
    assert code == 1 and len(err) == 1
    assert err[0].endswith(
        "rules.throttling_policy.checks[0].setting: unknown Set-ThrottlingPolicy parameter 'MaxCommandSize'"
    )
    twice = text.replace(
        "setting: IMAPMaxConcurrency, unlimited: true}",
        "setting: IMAPMaxConcurrency, unlimited: true}\n"
        "      - {id: UCCX-THR-002, title: t, severity: low, rationale: r, remediation: x,"
        " setting: imapmaxconcurrency, unlimited: true}",
    )
    code, err, _ = validate(tmp_path, cli, twice)
    assert code == 1
    assert err[0].endswith(
        "rules.throttling_policy: imapmaxconcurrency is checked by both UCCX-THR-001 and UCCX-THR-002;"
        " check a setting once"
    )


def test_both_throttling_generations_are_known() -> None:
    # Exchange 2010's percent-time parameters and 2013+'s budget parameters differ.
    assert parameters.spelled(parameters.THROTTLING_SETTINGS, "imappercenttimeincas") == "IMAPPercentTimeInCAS"
    assert parameters.spelled(parameters.THROTTLING_SETTINGS, "ImapCutoffBalance") == "ImapCutoffBalance"
    assert "IMAPPercentTimeInCAS" not in parameters.SET_THROTTLING_POLICY_2013
    assert "ImapCutoffBalance" not in parameters.SET_THROTTLING_POLICY_2010
    for name in ("Identity", "Name", "Confirm", "WhatIf", "Force", "DomainController"):
        assert parameters.spelled(parameters.THROTTLING_SETTINGS, name) is None, name


def test_every_listed_parameter_is_a_plain_identifier() -> None:
    for handler in set(CHANGE_HANDLERS.values()) | set(KINDS.values()):
        for cmdlet, names in getattr(handler, "parameters", {}).items():
            assert names, cmdlet
            for name in names:
                assert parameters.is_plain_identifier(name), (cmdlet, name)


def _changes() -> list[Change]:
    # The shipped Exchange 2010 SP3 folders, with the SP1+ baseline. Not exchange2019-defaults: the
    # 2013+ baseline names ImapMaxConcurrency as Get-ThrottlingPolicy prints it, where the documented
    # parameter is IMAPMaxConcurrency (the same to PowerShell); this test asks for the exact spelling.
    folders = sorted(p for p in (ROOT / "examples/facts").iterdir() if p.is_dir() and p.name.startswith("exchange2010"))
    return [change for folder in folders for change in plan_folder(SP1, folder, {}).changes]


def test_every_command_a_shipped_plan_builds_is_declared_by_its_kind() -> None:
    changes = _changes()
    assert {c.kind for c in changes} == set(ChangeKind)
    for change in changes:
        kind = CHANGE_HANDLERS[change.kind]
        built = [kind.forward(change), kind.inverse(change, change.current), kind.inverse(change, None)]
        for command in (c for c in built if c is not None):
            assert command.cmdlet in kind.parameters, command.cmdlet
            for name in command.parameters:
                assert parameters.spelled(kind.parameters[command.cmdlet], name) == name, (command.cmdlet, name)


def imap_change(setting: str) -> Change:
    change = next(c for c in plan_folder(SP1, DEFAULTS, {}).changes if c.kind is ChangeKind.IMAP)
    return replace(change, setting=setting)


@pytest.mark.parametrize("setting", [INJECTION, "MaxComandSize", "Server", "WhatIf", "", "Max-Connections"])
def test_apply_and_rollback_refuse_a_setting_outside_the_list(setting: str) -> None:
    change = imap_change(setting)
    from compliance.errors import InputError

    with pytest.raises(InputError) as built:
        build_steps([change])
    with pytest.raises(InputError) as undone:
        inverse_command(change, 16)
    for exc in (built.value, undone.value):
        assert "\n" not in str(exc)
        assert str(exc).startswith(f"{change.check} on {change.resource}: refusing to send Set-ImapSettings: unknown")


def test_a_kind_refuses_a_parameter_its_cmdlet_does_not_take() -> None:
    from compliance.errors import InputError
    from compliance.kinds import mailbox

    with pytest.raises(InputError, match=r"^refusing to send Set-Mailbox: unknown Set-Mailbox parameter 'Alias'$"):
        mailbox.KIND.command("exchange", "Set-Mailbox", {"Identity": "x", "Alias": "y"})
    with pytest.raises(InputError, match="not a plain identifier"):
        mailbox.KIND.command("exchange", "Set-Mailbox", {"Identity": "x", "ThrottlingPolicy x; Remove-Mailbox": 1})
    with pytest.raises(InputError, match="not a cmdlet MailboxKind sends"):
        mailbox.KIND.command("exchange", "Remove-Mailbox", {"Identity": "x"})


def test_a_saved_plan_edited_to_send_another_parameter_is_refused(tmp_path: Path) -> None:
    from compliance.errors import InputError

    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        "apiVersion: uccx-compliance/v1\nkind: Inventory\ntargets:\n  - name: site-a\n"
        "    exchange_endpoint: http://ex01.lab.local/PowerShell/\n    username: u@LAB.LOCAL\n"
        "    password_env: UCCX_TEST_UNUSED\n    baseline: uccx-exchange2010-sp1\n"
        "    servers:\n      - {name: EX01, roles: [Mailbox, ClientAccess, HubTransport]}\n",
        encoding="utf-8",
    )
    plan: Plan = plan_folder(SP1, DEFAULTS, {})
    plan.target = "site-a"
    path = tmp_path / "plan.json"
    write_saved_plan(path, [plan], inventory, {})
    document = json.loads(path.read_text(encoding="utf-8"))
    imap = next(c for c in document["changes"] if c["kind"] == "imap")
    # A consistent forgery: the change and its saved command both name the injected parameter,
    # and the checksum (which detects edits, it is no signature) is recomputed.
    imap["commands"][0]["parameters"] = {"Server": "EX01", INJECTION: 2400}
    imap["setting"] = INJECTION
    document["checksum"] = canonical_checksum(document)
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(InputError) as refused:
        read_saved_plan(path)
    assert "\n" not in str(refused.value)
    assert str(refused.value).startswith(f"{path}: UCCX-IMAP-")
    assert f"refusing to send Set-ImapSettings: unknown Set-ImapSettings parameter {INJECTION!r}" in str(refused.value)
