"""NTLM over HTTP and Kerberos over HTTPS give identical plans of the same organization.

Two labs of one scenario, one reached each way (tests/transports.py); the JSON plans may differ
only where they name the endpoints (scheme and port).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from compliance.lab import Lab
from compliance.lab.kdc import Kdc
from compliance.lab.tls import TestCertificates
from tests.transports import TRANSPORTS, transport

pytestmark = pytest.mark.server

PASSWORD = "agree-lab-password"


def without_endpoints(report: dict[str, Any], lab: Lab) -> dict[str, Any]:
    text = json.dumps(report)
    for url in (lab.exchange_endpoint, *lab.host_endpoints.values()):
        text = text.replace(url, "<endpoint>")
    return dict(json.loads(text))


@pytest.mark.parametrize("scenario", ["exchange2010-sp3-defaults", "exchange2010-sp3-compliant"])
def test_ntlm_over_http_and_kerberos_over_https_plan_the_same(
    scenario: str,
    kerberos: Kdc,
    test_certificates: TestCertificates,
    tmp_path: Path,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("UCCX_LAB_PASSWORD", PASSWORD)
    plans, mechanisms = [], []
    for name in TRANSPORTS:
        way = transport(name, kerberos, test_certificates, tmp_path)
        with Lab(scenario=scenario, password=PASSWORD, **way.lab_options) as lab:
            inventory = lab.write_inventory(tmp_path / f"{name}.yaml", **way.inventory_fields)
            result = cli("plan", "--inventory", inventory, "--format", "json")
            assert result.code in (0, 2), result.err
            plans.append(without_endpoints(json.loads(result.out), lab))
            mechanisms.append(set(lab.logons))
            assert lab.exchange_endpoint.startswith("https://" if way.kerberos else "http://")
    assert mechanisms == [{"ntlm"}, {"kerberos"}]
    assert plans[0] == plans[1]
    assert plans[0]["summary"]["unreadable"] == 0
