"""The lab's endpoint opens the way other clients open IIS's: pypsrp's default (Negotiate), raw
Kerberos, NTLM inside Negotiate, and the path in any case with or without its trailing slash.

Each client here is pypsrp itself, against the lab on 127.0.0.1 and, for Kerberos, the real KDC
(tests/conftest.py). ``lab.logons`` counts the completed handshakes by mechanism, so a test that
means Kerberos cannot pass on an NTLM fallback.
"""

from __future__ import annotations

from typing import Any

import pytest
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from compliance.lab import LAB_USER, Lab
from compliance.lab.kdc import Kdc

pytestmark = pytest.mark.server

PASSWORD = "uccx-lab"  # the lab's and the KDC's default for the audit user


def exchange_servers(lab: Lab, path: str, **auth: Any) -> list[Any]:
    wsman = WSMan("127.0.0.1", port=lab.port, path=path, ssl=False, no_proxy=True, **auth)
    with RunspacePool(wsman, configuration_name="Microsoft.Exchange") as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-ExchangeServer")
        output: list[Any] = ps.invoke()
        assert not ps.had_errors
        return output


@pytest.mark.parametrize("path", ["PowerShell/", "PowerShell", "powershell", "POWERSHELL/", "powershell/"])
def test_the_endpoint_path_is_matched_in_any_case_with_or_without_the_slash(path: str) -> None:
    with Lab(password=PASSWORD) as lab:
        servers = exchange_servers(lab, path, auth="ntlm", username=LAB_USER, password=PASSWORD)
    assert [s.adapted_properties["Name"] for s in servers] == ["EX01"]


@pytest.mark.parametrize("username", [LAB_USER, "LAB\\uccx-audit"])
def test_pypsrps_default_negotiate_with_ntlm_inside_opens_the_endpoint(username: str) -> None:
    # No KDC for lab.local in the loopback-only krb5.conf: Negotiate falls back to NTLM, as a
    # client outside the domain does. This is what failed with BadMICError before.
    with Lab(password=PASSWORD) as lab:
        servers = exchange_servers(lab, "PowerShell", username=username, password=PASSWORD)  # auth: negotiate
        assert lab.logons == {"ntlm": 1}
    assert len(servers) == 1


@pytest.mark.parametrize(("auth", "path"), [("kerberos", "PowerShell/"), ("negotiate", "powershell")])
def test_kerberos_opens_the_endpoint_with_the_http_spn(kerberos_lab: Lab, kerberos: Kdc, auth: str, path: str) -> None:
    servers = exchange_servers(
        kerberos_lab,
        path,
        auth=auth,
        username=kerberos.user_principal,
        password=PASSWORD,
        negotiate_service="HTTP",
    )
    assert len(servers) == 1
    assert kerberos_lab.logons == {"kerberos": 1}  # Negotiate chose Kerberos; no NTLM fallback
    assert f"for HTTP/127.0.0.1@{kerberos.realm}" in kerberos.log_text()  # a real TGS exchange


def test_a_lab_without_the_service_keys_refuses_kerberos(kerberos: Kdc) -> None:
    from pypsrp.exceptions import AuthenticationError

    # The ticket is good (the KDC issued it) but this lab has no keytab: a server with a stale or
    # missing key for its SPN answers 401, as IIS does.
    with Lab(password=PASSWORD) as lab, pytest.raises(AuthenticationError, match="with kerberos"):
        exchange_servers(
            lab,
            "PowerShell/",
            auth="kerberos",
            username=kerberos.user_principal,
            password=PASSWORD,
            negotiate_service="HTTP",
        )
    assert lab.logons == {}
