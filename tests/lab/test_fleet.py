"""Many organizations on one lab port: each its own state, password and faults (docs/lab.md)."""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pypsrp.complex_objects import RunspacePoolState
from pypsrp.exceptions import AuthenticationError
from pypsrp.powershell import RunspacePool

from compliance import resources
from compliance.lab.fleet import Fleet, OrgSpec, numbered
from compliance.lab.inventory import PASSWORD_ENV
from compliance.lab.state import LabState
from tests.conftest import CliRunner
from tests.lab.conftest import run, wsman
from tests.lab_serve import lab_serve

pytestmark = pytest.mark.server

SCENARIO = "exchange2010-sp3-defaults"
PASSWORDS = {"org-a": "alpha-password", "org-b": "bravo-password"}
SMALL_TIMEOUTS = {"connection": 2, "read": 2, "operation": 1}


def _env(name: str) -> str:
    return f"FLEET_PW_{name.upper().replace('-', '_')}"


@pytest.fixture
def two() -> Iterator[Fleet]:
    specs = [OrgSpec(name, SCENARIO, password) for name, password in PASSWORDS.items()]
    with Fleet(specs, port=0) as fleet:
        yield fleet


def _pool(fleet: Fleet, path: str, password: str) -> RunspacePool:
    return RunspacePool(wsman(fleet, path, password), configuration_name="Microsoft.Exchange")


def _fresh_snapshot() -> dict[str, list[object]]:
    return LabState.from_folder(resources.scenario_dir(SCENARIO)).snapshot()


def _plan(cli: CliRunner, inventory: Path) -> tuple[int, dict[str, dict[str, Any]]]:
    result = cli("plan", "--inventory", inventory, "--format", "json")
    return result.code, {t["target"]: t for t in json.loads(result.out)["targets"]}


def test_a_change_applied_to_one_organization_leaves_the_other_as_it_was(
    two: Fleet, tmp_path: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, password in PASSWORDS.items():
        monkeypatch.setenv(_env(name), password)
    both = two.write_inventory(tmp_path / "both.yaml", password_env=_env)
    code, before = _plan(cli, both)
    assert code == 2 and all(two[name].state.shared for name in PASSWORDS)  # reading copies nothing
    drift = before["org-b"]["summary"]
    assert drift == before["org-a"]["summary"] and drift["drift"] > 0 and drift["unreadable"] == 0

    document = yaml.safe_load(both.read_text())
    document["targets"] = [t for t in document["targets"] if t["name"] == "org-a"]
    only_a = tmp_path / "org-a.yaml"
    only_a.write_text(yaml.safe_dump(document), encoding="utf-8")
    applied = cli(
        "apply", "--inventory", only_a, "--auto-approve",
        "--audit-log", tmp_path / "audit.log", "--backup-dir", tmp_path / "backups",
    )  # fmt: skip
    assert applied.code == 0, applied.err

    assert not two["org-a"].state.shared and two["org-a"].state.snapshot() != _fresh_snapshot()
    assert two["org-b"].state.shared and two["org-b"].state.snapshot() == _fresh_snapshot()
    code, after = _plan(cli, both)
    assert after["org-b"]["summary"] == drift  # untouched: the same drift as before
    assert after["org-a"]["summary"]["drift"] < drift["drift"]


@pytest.mark.parametrize(("name", "other"), [("org-a", "org-b"), ("org-b", "org-a")])
def test_each_organization_refuses_a_wrong_password_and_the_other_ones(two: Fleet, name: str, other: str) -> None:
    path = f"org/{name}/PowerShell/"
    for password in ("not-the-password", PASSWORDS[other]):
        with pytest.raises(AuthenticationError):
            _pool(two, path, password).open()
    with _pool(two, path, PASSWORDS[name]) as pool:
        assert [str(o) for o in run(pool, "Get-ExchangeServer").output] == ["EX01"]
    assert two[name].logons["ntlm"] == 1 and sum(two[other].requests.values()) == 0


def test_a_connection_authenticated_for_one_organization_must_authenticate_again_for_another(two: Fleet) -> None:
    pool = _pool(two, "org/org-a/PowerShell/", PASSWORDS["org-a"])
    pool.open()
    session = pool.connection.transport.session  # requests.Session: its keep-alive connection
    assert session is not None
    url = two["org-b"].exchange_endpoint
    answer = session.post(url, data=b"x" * 10, headers={"Content-Type": "application/soap+xml;charset=UTF-8"})
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"] == "Negotiate"
    assert two["org-a"].logons["ntlm"] == 1 and two["org-b"].logons["ntlm"] == 0
    pool.state = RunspacePoolState.BROKEN  # its NTLM session on that connection is gone: nothing to close


def _variants(path: str) -> st.SearchStrategy[str]:
    flips = st.lists(st.booleans(), min_size=len(path), max_size=len(path))
    cased = flips.map(lambda up: "".join(c.upper() if u else c.lower() for c, u in zip(path, up, strict=True)))
    return st.tuples(cased, st.sampled_from(["", "/", "?PSVersion=2.0"])).map(lambda p: p[0].rstrip("/") + p[1])


@pytest.fixture(scope="module")
def three() -> Iterator[Fleet]:
    with Fleet.numbered(3, port=0) as fleet:
        yield fleet


@settings(max_examples=300, deadline=None)
@given(
    org=st.sampled_from(numbered(3)),
    endpoint=st.sampled_from(["/PowerShell/", "/wsman/EX01"]),
    data=st.data(),
)
def test_paths_match_in_any_case_with_or_without_the_trailing_slash(
    three: Fleet, org: str, endpoint: str, data: st.DataObject
) -> None:
    canonical = three.route(f"/org/{org}{endpoint}")
    assert canonical is not None and canonical[0] is three[org]
    path = data.draw(_variants(f"/org/{org}{endpoint}"))
    assert three.route(path) == canonical


@pytest.mark.parametrize(
    "path", ["/PowerShell/", "/wsman/EX01", "/org/org-0009/PowerShell/", "/org/org-0001/", "/org/org-0001/wsman/EX02"]
)
def test_other_paths_get_the_iis_404_page(three: Fleet, path: str) -> None:
    answer = requests.get(three.base_url + path, timeout=10)
    assert answer.status_code == 404 and b"404 - File or directory not found." in answer.content


def test_a_mixed_case_path_opens_the_right_organization(three: Fleet) -> None:
    with _pool(three, "ORG/Org-0002/powershell", "uccx-lab") as pool:
        run(pool, "Get-ExchangeServer")
    assert [sum(three[n].requests.values()) > 0 for n in numbered(3)] == [False, True, False]


def test_a_hung_organization_is_unreadable_and_the_others_are_planned(
    tmp_path: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "uccx-lab")
    with Fleet.numbered(3, hung=1, port=0) as fleet:
        inventory = fleet.write_inventory(tmp_path / "fleet.yaml", timeouts=SMALL_TIMEOUTS)
        code, plans = _plan(cli, inventory)
        hung = fleet["org-0001"]
        asked = sum(hung.requests.values())
        _until(lambda: fleet.held_connections == 0)  # the client gave up and closed: the lab let go
    assert code == 3 and list(plans) == numbered(3)
    assert asked > 0  # it read the requests...
    reasons = {u["reason"] for u in plans["org-0001"]["unreadable"]}  # ...and answered none
    assert plans["org-0001"]["summary"]["compliant"] == 0 and reasons
    assert all(f"{hung.exchange_endpoint}: timed out waiting for an answer" in r for r in reasons), reasons
    for name in ("org-0002", "org-0003"):
        assert plans[name]["exit_code"] == 2 and plans[name]["summary"]["unreadable"] == 0


def _until(condition: object, limit_s: float = 10.0) -> None:
    """Wait for a condition the lab reaches on its own threads (bounded; not a timing assertion)."""
    assert callable(condition)
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, "the lab did not get there"
        time.sleep(0.05)


def test_a_hung_organization_holds_the_connection_until_the_client_closes_or_the_lab_stops() -> None:
    request = b"POST /org/org-0001/PowerShell/ HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody"
    with Fleet.numbered(1, hung=1, port=0) as fleet:
        with socket.create_connection(("127.0.0.1", fleet.port)) as client:
            client.sendall(request)
            _until(lambda: fleet.held_connections == 1)
            client.settimeout(0.3)
            with pytest.raises(TimeoutError):
                client.recv(1)  # accepted, read, and not a byte back
        _until(lambda: fleet.held_connections == 0)  # the client closed: its thread is free
        kept = socket.create_connection(("127.0.0.1", fleet.port))
        kept.sendall(request)
        _until(lambda: fleet.held_connections == 1)
    _until(lambda: fleet.held_connections == 0)  # the lab stopped: it let go too
    kept.settimeout(10)
    assert kept.recv(1) == b""  # closed without an answer
    kept.close()


def test_each_organization_has_its_own_latency_and_faults() -> None:
    with Fleet.numbered(2, port=0) as fleet:
        fleet["org-0001"].faults.reject_auth = True
        with pytest.raises(AuthenticationError):
            _pool(fleet, "org/org-0001/PowerShell/", "uccx-lab").open()
        with _pool(fleet, "org/org-0002/PowerShell/", "uccx-lab") as pool:
            run(pool, "Get-ExchangeServer")
        assert fleet["org-0002"].faults.latency_ms == 0
        assert fleet["org-0001"].faults is not fleet["org-0002"].faults
        assert fleet["org-0001"].faults.failing_cmdlets is not fleet["org-0002"].faults.failing_cmdlets


def test_lab_serve_organizations_writes_an_inventory_that_plans_every_one(
    tmp_path: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "uccx-lab")
    written = tmp_path / "fleet.yaml"
    with lab_serve("--port", "0", "--organizations", "3", "--first-org", "8", "--write-inventory", str(written)) as lab:
        code, plans = _plan(cli, written)
    said = lab.said
    assert said[0].startswith("lab: 3 organizations org-0008..org-0010 of scenario exchange2010-sp3-defaults"), said
    assert len(said) < 8, said  # a summary, not a line per organization
    assert code == 2 and list(plans) == ["org-0008", "org-0009", "org-0010"]
    assert all(p["exit_code"] == 2 and p["summary"]["unreadable"] == 0 for p in plans.values())
    targets = yaml.safe_load(written.read_text())["targets"]
    assert {t["password_env"] for t in targets} == {PASSWORD_ENV}
    assert lab.returncode == 0 and "lab stopped after" in lab.out, lab.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--hung", "1"], "--hung and --first-org go with --organizations"),
        (["--organizations", "2", "--hung", "3"], "--hung: expected 0 to 2"),
        (["--organizations", "0"], "--organizations: expected at least 1, got 0"),
        (["--organizations", "2", "--kerberos"], "--kerberos serves one organization"),
    ],
)
def test_lab_serve_refuses_fleet_options_that_do_not_fit(cli: CliRunner, argv: list[str], message: str) -> None:
    result = cli("lab", "serve", "--port", "0", *argv)
    assert result.code == 1 and message in result.err, result.err


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_lab_serve_started_in_the_background_stops_on_ctrl_c_and_on_sigterm(stop: signal.Signals) -> None:
    """A shell starts a background job with SIGINT ignored; the lab still stops, and says so."""
    ignore_ctrl_c = lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)  # noqa: E731  # as `lab serve ... &`
    with lab_serve("--port", "0", "--organizations", "2", stop=stop, preexec_fn=ignore_ctrl_c) as lab:
        pass
    assert lab.returncode == 0 and "lab stopped after 0 requests" in lab.out, (lab.returncode, lab.out, lab.err)
