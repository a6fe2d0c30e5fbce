"""A saved plan cannot redirect the credential: endpoints come from the inventory, never the plan.

The checksum is public (``canonical_checksum``), so every tampered plan here has it recomputed:
only the inventory comparison, the rebuilt commands and the signature stand between the edit and
an NTLM handshake. A capture listener that is in no inventory must see no connection at all.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.apply.saved_plan import SIGNING_KEY_ENV, canonical_checksum, write_saved_plan
from compliance.cli import main
from compliance.pipeline import plan_folder
from tests.apply.applyhelpers import Workspace
from tests.apply.capture import CaptureListener

ROOT = Path(__file__).resolve().parents[2]


def tamper(path: Path, edit: Any) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    edit(document)
    document["checksum"] = canonical_checksum(document)
    path.write_text(json.dumps(document), encoding="utf-8")


def cli(workspace: Workspace, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = workspace.cli(*argv)
    return code, capsys.readouterr().err


def assert_refused(code: int, err: str, expected: str) -> None:
    assert code == 1, err
    assert err.count("\n") == 1, err
    assert err == f"uccx-compliance: error: {expected}\n"


@pytest.mark.parametrize("field", ["host_endpoints", "exchange_endpoint"])
def test_a_plan_pointing_an_endpoint_elsewhere_sends_nothing(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], field: str
) -> None:
    plan = workspace.save_plan()
    before = workspace.lab.state.snapshot()
    lab = workspace.lab
    with CaptureListener() as listener:
        if field == "host_endpoints":
            tamper(plan, lambda d: d["targets"][0]["host_endpoints"].update(EX01=listener.url))
            said = f"targets[0].host_endpoints.EX01: the plan says {listener.url}, the inventory says "
            said += lab.host_endpoints["EX01"]
        else:
            tamper(plan, lambda d: d["targets"][0].update(exchange_endpoint=listener.url))
            said = f"targets[0].exchange_endpoint: the plan says {listener.url}, the inventory says "
            said += lab.exchange_endpoint
        code, err = cli(workspace, capsys, "apply", str(plan), "--auto-approve")
    assert_refused(code, err, f"{plan}: {said}; nothing was sent")
    assert (listener.connections, bytes(listener.received)) == (0, b"")
    assert lab.state.snapshot() == before
    assert workspace.audit_lines() == [] and not workspace.backups.exists()


def test_a_plan_naming_an_extra_server_is_refused(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    plan = workspace.save_plan()
    with CaptureListener() as listener:
        tamper(plan, lambda d: d["targets"][0]["host_endpoints"].update(EX99=listener.url))
        code, err = cli(workspace, capsys, "apply", str(plan))
    said = f"targets[0].host_endpoints.EX99: the plan says {listener.url}, the inventory says no such server"
    assert_refused(code, err, f"{plan}: {said}; nothing was sent")
    assert listener.connections == 0


def attacker_inventory(workspace: Workspace, listener: CaptureListener) -> Path:
    """The real inventory with every endpoint moved to the listener, as an attacker would write it."""
    document = yaml.safe_load(workspace.inventory.read_text(encoding="utf-8"))
    target = document["targets"][0]
    target["exchange_endpoint"] = listener.url
    for server in target["servers"]:
        server["host_endpoint"] = f"http://127.0.0.1:{listener.port}/wsman/{server['name']}"
    path = workspace.root / "elsewhere" / "inventory.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_a_plan_pointing_at_another_inventory_is_refused_when_the_inventory_is_given(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = workspace.save_plan()
    before = workspace.lab.state.snapshot()
    with CaptureListener() as listener:
        other = attacker_inventory(workspace, listener)
        tamper(plan, lambda d: d["targets"][0].update(inventory=str(other)))
        code, err = cli(workspace, capsys, "apply", str(plan), "--inventory", str(workspace.inventory))
    said = f"targets[0].inventory: the plan says {other}, but --inventory {workspace.inventory} was given"
    assert_refused(code, err, f"{plan}: {said}; nothing was sent")
    assert listener.connections == 0 and workspace.lab.state.snapshot() == before


def test_an_untampered_plan_with_another_inventory_given_is_refused(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """--inventory names the attacker's file while the plan names the real one: still nothing sent."""
    plan = workspace.save_plan()
    with CaptureListener() as listener:
        other = attacker_inventory(workspace, listener)
        code, err = cli(workspace, capsys, "apply", str(plan), "--inventory", str(other))
    assert code == 1 and "targets[0].inventory: the plan says" in err and err.count("\n") == 1
    assert listener.connections == 0


def test_the_right_inventory_given_applies(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    plan = workspace.save_plan()
    before = workspace.lab.state.snapshot()
    code, err = cli(workspace, capsys, "apply", str(plan), "--inventory", str(workspace.inventory))
    assert code == 0, err
    assert workspace.lab.state.snapshot() != before


def test_edited_stored_commands_are_refused_not_sent(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    plan = workspace.save_plan()
    before = workspace.lab.state.snapshot()

    def edit(document: dict[str, Any]) -> None:
        change = next(c for c in document["changes"] if c["check"] == "UCCX-IMAP-004")
        change["commands"][0]["parameters"]["MaxConnectionsPerUser"] = 1

    tamper(plan, edit)
    code, err = cli(workspace, capsys, "apply", str(plan))
    assert code == 1 and err.count("\n") == 1
    assert "the saved commands of UCCX-IMAP-004" in err
    assert workspace.lab.state.snapshot() == before


def test_a_backup_pointing_rollback_elsewhere_sends_nothing(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = cli(workspace, capsys, "apply", str(workspace.save_plan()))
    assert code == 0, err
    [backup] = workspace.backups.iterdir()
    after_apply = workspace.lab.state.snapshot()
    with CaptureListener() as listener:
        document = json.loads(backup.read_text(encoding="utf-8"))
        document["target"]["host_endpoints"]["EX01"] = listener.url
        backup.write_text(json.dumps(document), encoding="utf-8")
        code, err = cli(workspace, capsys, "rollback", str(backup), "--auto-approve")
    said = f"target.host_endpoints.EX01: the backup says {listener.url}, the inventory says "
    assert_refused(code, err, f"{backup}: {said}{workspace.lab.host_endpoints['EX01']}; nothing was sent")
    assert listener.connections == 0 and workspace.lab.state.snapshot() == after_apply


# -- hypothesis: random edits, no lab: the inventory itself points at the capture listener ----------

INVENTORY = """\
apiVersion: uccx-compliance/v1
kind: Inventory
targets:
  - name: site-a
    exchange_endpoint: http://127.0.0.1:{port}/PowerShell/
    auth: ntlm
    username: uccx-admin@LAB.LOCAL
    password_env: UCCX_TAMPER_PASSWORD
    baseline: uccx-exchange2010-sp1
    servers:
      - {{name: EX01, roles: [Mailbox, ClientAccess, HubTransport], host_endpoint: "http://127.0.0.1:{port}/wsman"}}
"""


@pytest.fixture(scope="module")
def listener() -> Any:
    with CaptureListener() as running:
        yield running


@pytest.fixture(scope="module")
def pristine(listener: CaptureListener, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A saved plan (offline facts) whose inventory sends everything to the listener."""
    root = tmp_path_factory.mktemp("tamper")
    inventory = root / "inventory.yaml"
    inventory.write_text(INVENTORY.format(port=listener.port), encoding="utf-8")
    plan = plan_folder(
        ROOT / "baselines/uccx-exchange2010-sp1.yaml", ROOT / "examples/facts/exchange2010-sp3-defaults", {}
    )
    plan.target = "site-a"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SIGNING_KEY_ENV, "tamper-test-key")
        document = write_saved_plan(root / "pristine.json", [plan], inventory, {"agents": 100})
    return root, document


def run_apply(root: Path, document: dict[str, Any], key: str | None) -> tuple[int, str]:
    path = root / "edited.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    err = io.StringIO()
    with (
        pytest.MonkeyPatch.context() as patch,
        contextlib.redirect_stderr(err),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        patch.setenv("UCCX_TAMPER_PASSWORD", "tamper-password")
        if key is None:
            patch.delenv(SIGNING_KEY_ENV, raising=False)
        else:
            patch.setenv(SIGNING_KEY_ENV, key)
        code = main(
            [
                "apply",
                str(path),
                "--auto-approve",
                "--audit-log",
                str(root / "audit.log"),
                "--backup-dir",
                str(root / "b"),
            ]
        )
    return code, err.getvalue()


def test_the_unmodified_plan_does_connect(listener: CaptureListener, pristine: tuple[Path, dict[str, Any]]) -> None:
    """The control for the properties below: a plan that passes every check reaches the listener."""
    root, document = pristine
    before = listener.connections
    code, err = run_apply(root, document, "tamper-test-key")
    assert listener.connections > before, err
    assert b"POST /PowerShell/" in listener.received
    assert code == 3 and err.count("\n") == 1  # the listener answers nothing: unreachable


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value, interior nodes included."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


def replaced(document: dict[str, Any], where: tuple[Any, ...], value: Any) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(document))
    node = copy
    for part in where[:-1]:
        node = node[part]
    node[where[-1]] = value
    copy["checksum"] = canonical_checksum(copy)
    return copy


def assert_refused_offline(code: int, err: str, listener: CaptureListener, connections_before: int) -> None:
    """One error line, exit 1, and not one connection more to the listener."""
    assert code == 1, err
    assert err.count("\n") == 1 and err.startswith("uccx-compliance: error: ")
    assert listener.connections == connections_before


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_edit_of_a_signed_plan_is_refused_before_any_connection(
    listener: CaptureListener, pristine: tuple[Path, dict[str, Any]], data: st.DataObject
) -> None:
    root, document = pristine
    where = data.draw(
        st.sampled_from([p for p in paths(document) if p[0] in ("targets", "changes", "vars", "baseline")])
    )
    node: Any = document
    for part in where:
        node = node[part]
    value = data.draw(JSON.filter(lambda v: v != node))
    before = listener.connections
    code, err = run_apply(root, replaced(document, where, value), "tamper-test-key")
    assert_refused_offline(code, err, listener, before)
    assert "tamper-test-key" not in err


URLS = st.one_of(
    st.text(max_size=30),
    st.builds(lambda h, p: f"http://{h}:{p}/PowerShell/", st.text(min_size=1, max_size=12), st.integers(0, 70000)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_endpoint_edit_of_an_unsigned_plan_is_refused_before_any_connection(
    listener: CaptureListener, pristine: tuple[Path, dict[str, Any]], data: st.DataObject
) -> None:
    root, document = pristine
    unsigned = {k: v for k, v in document.items() if k != "signature"}
    target = unsigned["targets"][0]
    field = data.draw(st.sampled_from(["exchange_endpoint", "host_endpoints", "inventory", "name"]))
    if field == "host_endpoints":
        value: Any = data.draw(st.dictionaries(st.text(max_size=8), URLS, max_size=3))
        same = {k.casefold(): v for k, v in value.items()} == {k.casefold(): v for k, v in target[field].items()}
    else:
        value = data.draw(URLS)
        same = value.casefold() == target[field].casefold() if field == "name" else value == target[field]
    if same:
        return  # not an edit
    before = listener.connections
    code, err = run_apply(root, replaced(unsigned, ("targets", 0, field), value), None)
    assert_refused_offline(code, err, listener, before)


def test_an_unsigned_plan_needs_the_inventory_named_on_the_command_line(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --inventory, a plan edited to name the attacker's inventory would send it the password:
    so an unsigned plan is refused unless the admin names the inventory."""
    plan = workspace.save_plan()
    before = workspace.lab.state.snapshot()
    with CaptureListener() as listener:
        other = attacker_inventory(workspace, listener)
        tamper(plan, lambda d: d["targets"][0].update(inventory=str(other)))
        capsys.readouterr()
        code = main(["apply", str(plan), "--auto-approve", "--audit-log", str(workspace.audit)])
        err = capsys.readouterr().err
    assert_refused(
        code,
        err,
        f"{plan}: give --inventory FILE: endpoints and credentials come only from an inventory you name, "
        f"and this plan is not signed (it names {other}); nothing was sent",
    )
    assert listener.connections == 0 and workspace.lab.state.snapshot() == before
    assert workspace.audit_lines() == []


def test_rollback_needs_the_inventory_named(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = cli(workspace, capsys, "apply", str(workspace.save_plan()))
    assert code == 0, err
    [backup] = workspace.backups.iterdir()
    capsys.readouterr()
    with pytest.raises(SystemExit) as usage:  # argparse: a usage error, exit 1 (cli._Parser)
        main(["rollback", str(backup), "--auto-approve"])
    assert usage.value.code == 1
    assert "the following arguments are required: --inventory" in capsys.readouterr().err
