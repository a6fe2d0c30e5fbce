"""Transport failures, answered at the HTTP level by ``responses``: one line each, with its hint,
and every fact from the endpoint unreadable (never compliant, never drift)."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from typing import Any

import pytest
import requests
import responses
import urllib3.exceptions

from compliance.facts.collection import CollectionRequest, EventQuery
from compliance.inventory import Target
from compliance.remoting import errors
from compliance.remoting.collect import collect

EXCHANGE = "https://ex01.lab.local/PowerShell/"
# Every authentication failure over https:// names a relaying proxy too: the 401 looks the same.
RELAYED = errors.HINT_EXTENDED_PROTECTION.format(host="ex01.lab.local", port=443)
HOST = "https://ex01.lab.local:5986/wsman"
REQUEST = CollectionRequest(
    uccx_mailbox="uccx",
    registry_paths=("HKLM\\SYSTEM\\CurrentControlSet\\Services\\MSExchangeIS\\ParametersSystem",),
    events=(EventQuery("Application", "MSExchangeIS", 9646, "Mailbox"),),
    services=("MSExchangeIS",),
)
ALL_STEMS = {
    "GetExchangeServer",
    "GetThrottlingPolicy",
    "GetOrganizationConfig",
    "GetMailbox",
    "GetImapSettings",
    "GetReceiveConnector",
    "GetADPermission",
    "GetItemProperty-EX01",
    "GetRegistryKeyTime-EX01",
    "GetWinEvent-EX01",
    "GetService-EX01",
    "GetServiceStartTime-EX01",
}

# What Windows Remote Management answers when the URL reaches WinRM (port 5985/5986 /wsman) but
# the configuration is not registered there: a SOAP 1.2 fault with the wsmanfault detail
# ([MS-WSMV] 2.2.4.43; code 2150858811 = ERROR_WSMAN_INVALID_RESOURCE_URI).
RESOURCE_URI_FAULT = """\
<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope" \
xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" \
xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" \
xmlns:e="http://schemas.xmlsoap.org/ws/2004/08/eventing" \
xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration" \
xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" \
xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"><s:Header>\
<a:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/fault</a:Action>\
<a:MessageID>uuid:9F3AF2A5-2B6F-4A3C-8D8E-2D4C1B6E7F10</a:MessageID>\
<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>\
<a:RelatesTo>uuid:00000000-0000-0000-0000-000000000000</a:RelatesTo></s:Header><s:Body><s:Fault>\
<s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>w:InvalidResourceURI</s:Value></s:Subcode></s:Code>\
<s:Reason><s:Text xml:lang="en-US">The WS-Management service cannot process the request because the \
resource URI is invalid. </s:Text></s:Reason><s:Detail>\
<f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="2150858811" \
Machine="ex01.lab.local"><f:Message>The WS-Management service cannot process the request. The resource URI \
(http://schemas.microsoft.com/powershell/Microsoft.Exchange) was not found in the WS-Management catalog. \
The catalog contains the metadata that describes resources, or logical endpoints. </f:Message></f:WSManFault>\
</s:Detail></s:Fault></s:Body></s:Envelope>"""

IIS_404 = (
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
    '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">'
    '<html xmlns="http://www.w3.org/1999/xhtml">'
    "<head><title>404 - File or directory not found.</title></head>"
    "<body><h2>404 - File or directory not found.</h2></body></html>"
)


def refused() -> Exception:
    cause = urllib3.exceptions.NewConnectionError(
        None,  # type: ignore[arg-type]
        "Failed to establish a new connection: [Errno 111] Connection refused",
    )
    cause.__cause__ = ConnectionRefusedError(111, "Connection refused")
    return requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/PowerShell/", cause))  # type: ignore[arg-type]


def unresolved() -> Exception:
    cause = urllib3.exceptions.NameResolutionError(
        "ex01.lab.local",
        None,  # type: ignore[arg-type]
        socket.gaierror(-2, "Name or service not known"),
    )
    return requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/PowerShell/", cause))  # type: ignore[arg-type]


def timed_out() -> Exception:
    return requests.exceptions.ConnectTimeout(
        "HTTPSConnectionPool(host='ex01.lab.local', port=443): Max retries exceeded (connect timeout=2)"
    )


def bad_certificate() -> Exception:
    return requests.exceptions.SSLError(
        "HTTPSConnectionPool(host='ex01.lab.local', port=443): Max retries exceeded with url: /PowerShell/ "
        "(Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate "
        "verify failed: unable to get local issuer certificate (_ssl.c:1006)')))"
    )


Answer = Callable[[responses.RequestsMock], None]


def answer_with(**kwargs: Any) -> Answer:
    def register(mock: responses.RequestsMock) -> None:
        mock.add(responses.POST, re.compile(r"https://ex01\.lab\.local.*"), **kwargs)

    return register


CASES: dict[str, tuple[Answer, str, str]] = {
    "connection refused": (
        answer_with(body=refused()),
        "basic",
        "connection refused by ex01.lab.local:{port} (is WinRM or IIS listening on that port?)",
    ),
    "name not resolved": (
        answer_with(body=unresolved()),
        "basic",
        "host name ex01.lab.local could not be resolved (check the name and DNS)",
    ),
    "timeout": (
        answer_with(body=timed_out()),
        "basic",
        "timed out connecting to ex01.lab.local:{port} (firewall, or the host is down)",
    ),
    "401": (
        answer_with(status=401, body=""),
        "basic",
        "authentication failed for uccx-audit@lab.local with basic",
    ),
    "HTML 404": (
        answer_with(status=404, body=IIS_404, content_type="text/html"),
        "basic",
        f"HTTP 404 Not Found (an HTML page); {errors.HINT_POWERSHELL_PATH}",
    ),
    "resource URI": (
        answer_with(status=500, body=RESOURCE_URI_FAULT, content_type="application/soap+xml"),
        "basic",
        f"({errors.HINT_EXCHANGE_PORT})",
    ),
    "certificate": (
        answer_with(body=bad_certificate()),
        "basic",
        f"certificate verification failed; {errors.HINT_CA_FILE}",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_failure_is_one_line_and_every_fact_is_unreadable(case: str, make_target: Any) -> None:
    register, auth, expected = CASES[case]
    target: Target = make_target(EXCHANGE, HOST, auth)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        register(mock)
        raw = collect(target, REQUEST, password="not-the-real-one")
    assert set(raw) == ALL_STEMS
    for stem, reading in raw.items():
        assert not reading.ok, stem
        assert reading.error is not None and "\n" not in reading.error
        port = 5986 if stem.endswith("-EX01") else 443  # the host endpoint, or the Exchange one
        assert expected.format(port=port) in reading.error, (stem, reading.error)
    assert raw["GetExchangeServer"].error is not None
    assert raw["GetExchangeServer"].error.startswith(EXCHANGE + ": ")
    assert raw["GetService-EX01"].error is not None and raw["GetService-EX01"].error.startswith(HOST + ": ")


def test_kerberos_authentication_failure_hints_at_the_upn_form() -> None:
    from pypsrp.exceptions import AuthenticationError

    line = errors.describe_failure(
        AuthenticationError("Failed to authenticate the user uccx with kerberos"),
        EXCHANGE,
        username="LAB\\uccx",
        auth="kerberos",
    )
    assert line == (f"{EXCHANGE}: authentication failed for LAB\\uccx with kerberos; {errors.HINT_UPN}; {RELAYED}")


def test_a_refused_kerberos_ticket_of_a_upn_names_the_servers_keys() -> None:
    # With a UPN the KDC issued the ticket (its refusals have lines of their own): the server said no.
    from pypsrp.exceptions import AuthenticationError

    line = errors.describe_failure(
        AuthenticationError("Failed to authenticate the user uccx@LAB.LOCAL with kerberos"),
        EXCHANGE,
        username="uccx@LAB.LOCAL",
        auth="kerberos",
    )
    assert line == (
        f"{EXCHANGE}: authentication failed for uccx@LAB.LOCAL with kerberos; "
        + errors.HINT_TICKET_REFUSED.format(host="ex01.lab.local")
        + f"; {RELAYED}"
    )


def test_an_authentication_failure_over_http_has_no_tls_hint() -> None:
    from pypsrp.exceptions import AuthenticationError

    url = "http://ex01.lab.local/PowerShell/"
    line = errors.describe_failure(AuthenticationError("no"), url, username="uccx@lab.local", auth="ntlm")
    assert line == f"{url}: authentication failed for uccx@lab.local with ntlm"


def test_an_unreachable_endpoint_is_tried_once_not_once_per_fact(make_target: Any) -> None:
    target: Target = make_target(EXCHANGE, HOST, "basic")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, re.compile(r"https://ex01\.lab\.local.*"), body=refused())
        collect(target, REQUEST, password="x")
        tried = [call.request.url for call in mock.calls]
    assert tried.count("https://ex01.lab.local:443/PowerShell/") == 1
    assert tried.count(HOST) == 1


@pytest.mark.parametrize("case", list(CASES))
def test_each_failure_makes_the_plan_incomplete_exit_3(case: str, make_target: Any) -> None:
    from compliance import resources
    from compliance.baseline import load_baseline
    from compliance.checks.engine import evaluate
    from compliance.errors import ExitCode
    from compliance.pipeline import build_facts
    from compliance.reporters import render

    register, auth, expected = CASES[case]
    target: Target = make_target(EXCHANGE, HOST, auth)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        register(mock)
        raw = collect(target, REQUEST, password="not-the-real-one")
    plan = evaluate(
        load_baseline(resources.shipped_baseline("uccx-exchange2010-sp1")), build_facts(raw, source=EXCHANGE)
    )
    assert plan.exit_code is ExitCode.INCOMPLETE
    assert plan.summary()["compliant"] == 0 and plan.summary()["drift"] == 0
    text = render("text", [plan])
    assert expected.format(port=443) in text and "Result: incomplete (exit 3)" in text
