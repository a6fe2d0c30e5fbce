"""The Exchange endpoint (/PowerShell/, Microsoft.Exchange) through pypsrp's real client."""

from __future__ import annotations

import pytest
import requests
from pypsrp.exceptions import AuthenticationError, WSManFaultError
from pypsrp.powershell import PowerShell, RunspacePool

from compliance.lab import Lab
from tests.lab.conftest import error_messages, host, run, wsman

pytestmark = pytest.mark.server


def test_get_exchange_server_returns_ex01_with_its_version(lab: Lab) -> None:
    with RunspacePool(wsman(lab), configuration_name="Microsoft.Exchange", host=host()) as pool:
        ps = run(pool, "Get-ExchangeServer")
    assert [str(o) for o in ps.output] == ["EX01"]
    server = ps.output[0]
    assert server.types[0] == "Microsoft.Exchange.Data.Directory.Management.ExchangeServer"
    version = server.adapted_properties["AdminDisplayVersion"]
    assert str(version) == "Version 14.3 (Build 123.4)"
    assert (version.adapted_properties["Major"], version.adapted_properties["Minor"]) == (14, 3)


def test_receive_connector_limits_arrive_as_unlimited_objects(lab: Lab) -> None:
    with RunspacePool(wsman(lab), configuration_name="Microsoft.Exchange", host=host()) as pool:
        ps = run(pool, "Get-ReceiveConnector", Server="EX01")
    connector = next(o for o in ps.output if str(o) == "EX01\\Default EX01")
    rate = connector.adapted_properties["MessageRateLimit"]
    assert rate.types[0].startswith("Microsoft.Exchange.Data.Unlimited`1[[System.Int32")
    assert str(rate) == "Unlimited"
    assert rate.adapted_properties["IsUnlimited"] is True
    per_source = connector.adapted_properties["MaxInboundConnectionPerSource"]
    assert per_source.adapted_properties["IsUnlimited"] is False
    assert per_source.adapted_properties["Value"] == int(str(per_source))


def test_a_script_is_refused_in_no_language_mode(lab: Lab) -> None:
    with RunspacePool(wsman(lab), configuration_name="Microsoft.Exchange", host=host()) as pool:
        ps = PowerShell(pool)
        ps.add_script("Get-ExchangeServer | Select-Object Name")
        ps.invoke()
    assert ps.had_errors
    assert error_messages(ps) == [
        "The syntax is not supported by this runspace. This can occur if the runspace is in no-language mode."
    ]


def test_unknown_cmdlet_gives_command_not_found(lab: Lab) -> None:
    with RunspacePool(wsman(lab), configuration_name="Microsoft.Exchange", host=host()) as pool:
        ps = run(pool, "Get-ExchangeCertificate")
    assert ps.had_errors
    assert error_messages(ps)[0].startswith(
        "The term 'Get-ExchangeCertificate' is not recognized as the name of a cmdlet, function, "
        "script file, or operable program."
    )


def test_other_configuration_on_the_exchange_path_is_a_resource_uri_fault(lab: Lab) -> None:
    with pytest.raises(WSManFaultError) as caught:
        RunspacePool(wsman(lab), configuration_name="Microsoft.PowerShell").open()
    assert caught.value.code == 2150858811
    assert "The resource URI (http://schemas.microsoft.com/powershell/Microsoft.PowerShell) was not found" in str(
        caught.value.reason
    )


def test_exchange_configuration_on_a_host_endpoint_is_a_resource_uri_fault(lab: Lab) -> None:
    with pytest.raises(WSManFaultError) as caught:
        RunspacePool(wsman(lab, path="wsman/EX01"), configuration_name="Microsoft.Exchange").open()
    assert "was not found in the WS-Management catalog" in str(caught.value.reason)


def test_wrong_path_is_an_html_404(lab: Lab) -> None:
    response = requests.post(f"http://127.0.0.1:{lab.port}/wsman", data=b"", timeout=5)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "text/html"
    assert "404 - File or directory not found." in response.text


def test_wrong_password_is_an_authentication_error(lab: Lab) -> None:
    with pytest.raises(AuthenticationError):
        RunspacePool(wsman(lab, password="not-the-password"), configuration_name="Microsoft.Exchange").open()


def test_domain_logon_name_is_accepted(lab: Lab) -> None:
    connection = wsman(lab)
    connection.transport.username = "LAB\\uccx-audit"
    with RunspacePool(connection, configuration_name="Microsoft.Exchange") as pool:
        assert [str(o) for o in run(pool, "Get-ExchangeServer").output] == ["EX01"]


def test_unknown_mailbox_is_a_non_terminating_not_found_record(lab: Lab) -> None:
    with RunspacePool(wsman(lab), configuration_name="Microsoft.Exchange", host=host()) as pool:
        ps = run(pool, "Get-Mailbox", Identity="nobody")
    assert ps.output == []
    assert not ps.had_errors  # non-terminating: the pipeline completed
    assert error_messages(ps) == [
        "The operation couldn't be performed because object 'nobody' couldn't be found on 'DC01.lab.local'."
    ]
    assert str(ps.streams.error[0].message).startswith("ObjectNotFound (nobody:String) [Get-Mailbox]")


def test_two_statements_in_one_invocation_return_output_in_order(lab: Lab) -> None:
    with RunspacePool(wsman(lab), configuration_name="Microsoft.Exchange", host=host()) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-OrganizationConfig").add_statement()
        ps.add_cmdlet("Get-ExchangeServer").add_parameter("Identity", "EX01")
        output = ps.invoke()
    assert [o.types[0].rsplit(".", 1)[-1] for o in output] == ["OrganizationConfig", "ExchangeServer"]


def test_several_pipelines_share_one_runspace_pool(lab: Lab) -> None:
    with RunspacePool(wsman(lab), configuration_name="Microsoft.Exchange", host=host()) as pool:
        first, second = PowerShell(pool), PowerShell(pool)
        first.add_cmdlet("Get-ImapSettings").add_parameter("Server", "EX01")
        second.add_cmdlet("Get-ThrottlingPolicy")
        first.begin_invoke()
        second.begin_invoke()
        imap, policies = first.end_invoke(), second.end_invoke()
    assert imap[0].adapted_properties["MaxConnectionsPerUser"] == 16
    assert any(p.adapted_properties["IsDefault"] for p in policies)


def test_requests_are_counted_per_endpoint(lab: Lab) -> None:
    with RunspacePool(wsman(lab), configuration_name="Microsoft.Exchange") as pool:
        run(pool, "Get-ExchangeServer")
    exchange_requests = lab.requests[lab.exchange_endpoint]
    # 3 for the NTLM handshake, then Create, Receive, Command, Receive, Signal, Delete at least.
    assert exchange_requests >= 8
    assert lab.requests[lab.host_endpoints["EX01"]] == 0
