"""Each server's own endpoint (/wsman/<SERVER>, Microsoft.PowerShell): registry, services, events."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from pypsrp.powershell import RunspacePool

from compliance.lab import Lab
from tests.lab.conftest import error_messages, host, run, wsman

pytestmark = pytest.mark.server

KEY = "HKLM:\\SYSTEM\\CurrentControlSet\\Services\\MSExchangeIS\\ParametersSystem"
VALUE = "Maximum Allowed Service Sessions Per User"


def _pool(lab: Lab) -> RunspacePool:
    return RunspacePool(wsman(lab, path="wsman/EX01"), configuration_name="Microsoft.PowerShell", host=host())


def test_registry_value_is_read_written_as_dword_and_removed() -> None:
    with (
        Lab(scenario="exchange2010-sp3-compliant", port=0, password="test-lab-password") as lab,
        _pool(lab) as pool,
    ):
        read = run(pool, "Get-ItemProperty", Path=KEY, Name=VALUE).output[0]
        run(pool, "Set-ItemProperty", Path=KEY, Name=VALUE, Value=64)
        written = run(pool, "Get-ItemProperty", Path=KEY).output[0]
        run(pool, "Remove-ItemProperty", Path=KEY, Name=VALUE)
        missing = run(pool, "Get-ItemProperty", Path=KEY, Name=VALUE)
    assert read.extended_properties[VALUE] == 512
    assert written.extended_properties[VALUE] == 64
    stored = lab.state.snapshot()["GetItemProperty-EX01"][0]["extended"]
    assert VALUE not in stored
    assert error_messages(missing) == [
        f"Property {VALUE} does not exist at path "
        "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\MSExchangeIS\\ParametersSystem."
    ]


def test_new_item_property_creates_an_int32_dword(lab: Lab) -> None:
    with _pool(lab) as pool:
        created = run(pool, "New-ItemProperty", Path=KEY, Name=VALUE, PropertyType="DWord", Value=64)
    assert created.output[0].extended_properties[VALUE] == 64
    assert lab.state.snapshot()["GetItemProperty-EX01"][0]["extended"][VALUE]["kind"] == "PSInt"


def test_registry_write_with_whatif_changes_nothing(lab: Lab) -> None:
    before = lab.state.snapshot()
    ui_host = host()
    with RunspacePool(wsman(lab, path="wsman/EX01"), configuration_name="Microsoft.PowerShell", host=ui_host) as pool:
        run(pool, "New-ItemProperty", Path=KEY, Name=VALUE, PropertyType="DWord", Value=64, WhatIf=True)
    assert ui_host.ui is not None
    assert ui_host.ui.stdout[0].startswith('What if: Performing operation "New Property" on Target "Item: ')
    assert lab.state.snapshot() == before


def test_get_winevent_without_a_match_is_the_no_events_error(lab: Lab) -> None:
    since = ET.Element("DT")  # pypsrp 0.9 cannot serialize a datetime; it sends an element as is
    since.text = "2100-01-01T00:00:00.0000000Z"
    with _pool(lab) as pool:
        none = run(
            pool,
            "Get-WinEvent",
            FilterHashtable={
                "LogName": "Application",
                "ProviderName": "MSExchangeIS",
                "Id": [9646],
                "StartTime": since,
            },
        )
        found = run(pool, "Get-WinEvent", FilterHashtable={"LogName": "Application", "Id": 9646})
    assert none.output == []
    assert error_messages(none) == ["No events were found that match the specified selection criteria."]
    assert found.output and {e.adapted_properties["Id"] for e in found.output} == {9646}


def test_restart_service_is_recorded(lab: Lab) -> None:
    with _pool(lab) as pool:
        services = run(pool, "Get-Service", Name=["MSExchangeIS", "MSExchangeIMAP4"]).output
        run(pool, "Restart-Service", Name="MSExchangeIS")
    assert [str(s.adapted_properties["Status"]) for s in services] == ["Running", "Running"]
    assert lab.state.service_restarts == [("EX01", "MSExchangeIS")]


def test_exchange_cmdlets_do_not_exist_on_the_host_endpoint(lab: Lab) -> None:
    with _pool(lab) as pool:
        ps = run(pool, "Get-ExchangeServer")
    assert ps.had_errors
    assert error_messages(ps)[0].startswith("The term 'Get-ExchangeServer' is not recognized")
