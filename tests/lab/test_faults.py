"""Faults on demand, on a running lab."""

from __future__ import annotations

import pytest
import requests
import yaml
from pypsrp.complex_objects import RunspacePoolState
from pypsrp.exceptions import AuthenticationError, WinRMTransportError
from pypsrp.powershell import RunspacePool

from compliance.lab import CmdletFailure, Lab
from tests.lab.conftest import error_messages, host, run, wsman

pytestmark = pytest.mark.server


def test_reject_auth_makes_every_login_fail(lab: Lab) -> None:
    lab.faults.reject_auth = True
    with pytest.raises(AuthenticationError):
        RunspacePool(wsman(lab), configuration_name="Microsoft.Exchange").open()


def test_dropped_connection_fails_the_call_and_the_lab_keeps_serving(lab: Lab) -> None:
    pool = RunspacePool(wsman(lab), configuration_name="Microsoft.Exchange", host=host())
    pool.open()
    lab.faults.drop_connection_after = 2  # the Command goes through, its Receive is dropped
    # The socket closes without a response. urllib3 may resend on a fresh connection, which has
    # no NTLM session: the client re-authenticates and the body sealed for the old session is
    # refused. Either way the call fails, as against a real server whose connection was reset.
    with pytest.raises((requests.exceptions.ConnectionError, WinRMTransportError)):
        run(pool, "Get-ExchangeServer")
    pool.state = RunspacePoolState.BROKEN  # its session died with the connection
    assert lab.faults.drop_connection_after is None  # the countdown fired once and is spent
    with RunspacePool(wsman(lab), configuration_name="Microsoft.Exchange") as fresh:
        assert [str(o) for o in run(fresh, "Get-ExchangeServer").output] == ["EX01"]


def test_a_cmdlet_fails_only_at_its_third_call(lab: Lab) -> None:
    lab.faults.failing_cmdlets["set-receiveconnector"] = CmdletFailure("The AD write failed.", at_call=3)
    limits = [("EX01\\Default EX01", 101), ("EX01\\Client EX01", 102), ("EX01\\Default EX01", 103)]
    results = []
    with RunspacePool(wsman(lab), configuration_name="Microsoft.Exchange", host=host()) as pool:
        for identity, value in limits:
            results.append(run(pool, "Set-ReceiveConnector", Identity=identity, MaxInboundConnection=value))
    assert [ps.had_errors for ps in results] == [False, False, True]
    assert error_messages(results[2]) == ["The AD write failed."]
    connectors = {c["to_string"]: c["props"] for c in lab.state.snapshot()["GetReceiveConnector"]}
    assert connectors["EX01\\Default EX01"]["MaxInboundConnection"]["to_string"] == "101"  # the 3rd did nothing
    assert connectors["EX01\\Client EX01"]["MaxInboundConnection"]["to_string"] == "102"


def test_cmdlet_latency_beyond_the_read_timeout_is_a_read_timeout(lab: Lab) -> None:
    pool = RunspacePool(wsman(lab, read_timeout=0.3), configuration_name="Microsoft.Exchange", host=host())
    pool.open()
    lab.faults.cmdlet_latency_ms["Get-Mailbox"] = 600
    with pytest.raises(requests.exceptions.ReadTimeout):
        run(pool, "Get-Mailbox", Identity="uccx")
    pool.state = RunspacePoolState.BROKEN  # the connection's NTLM session went with the socket


def test_request_latency_beyond_the_read_timeout_is_a_read_timeout(lab: Lab) -> None:
    pool = RunspacePool(wsman(lab, read_timeout=0.3), configuration_name="Microsoft.Exchange", host=host())
    pool.open()
    lab.faults.latency_ms = 600
    with pytest.raises(requests.exceptions.ReadTimeout):
        run(pool, "Get-ExchangeServer")
    pool.state = RunspacePoolState.BROKEN


def test_inventory_points_at_the_running_lab(lab: Lab, tmp_path: pytest.TempPathFactory) -> None:
    path = lab.write_inventory(tmp_path / "inventory.yaml", baseline="uccx-exchange2010-sp1")  # type: ignore[operator]
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    target = document["targets"][0]
    assert (document["apiVersion"], document["kind"]) == ("uccx-compliance/v1", "Inventory")
    assert target["exchange_endpoint"] == lab.exchange_endpoint
    assert (target["auth"], target["username"], target["password_env"]) == (
        "ntlm",
        "uccx-audit@lab.local",
        "UCCX_LAB_PASSWORD",
    )
    assert target["servers"] == [
        {
            "name": "EX01",
            "roles": ["Mailbox", "ClientAccess", "HubTransport"],
            "host_endpoint": lab.host_endpoints["EX01"],
        }
    ]
    assert "password" not in path.read_text(encoding="utf-8").replace("password_env", "")
