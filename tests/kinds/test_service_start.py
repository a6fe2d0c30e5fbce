"""The service start-time kind: WMI's time text, the WQL filter, and the join by ProcessId."""

from __future__ import annotations

import datetime

import pytest

from compliance.facts.psobject import PSObj
from compliance.kinds.base import FactError
from compliance.kinds.service_start import KIND, WIN32_PROCESS, WIN32_SERVICE, dmtf_time, wql_filter

UTC = datetime.timezone.utc


def test_dmtf_time_as_the_real_export_writes_it() -> None:
    # LastBootUpTime of CSS-Exchange's real Win32_OperatingSystem export (UTC-7, minutes -420).
    assert dmtf_time("20210929115907.020592-420") == datetime.datetime(2021, 9, 29, 18, 59, 7, 20592, tzinfo=UTC)
    assert dmtf_time("20261201080000.000000+060") == datetime.datetime(2026, 12, 1, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["", "2021-09-29T11:59:07", "20211399115907.020592-420", "x" * 10_000])
def test_a_bad_dmtf_time_is_a_fact_error(text: str) -> None:
    with pytest.raises(FactError, match="not a WMI time"):
        dmtf_time(text)


def test_wql_filter_escapes_quotes_and_backslashes() -> None:
    assert wql_filter("Name", ["MSExchangeIS", "a'b\\c"]) == "Name='MSExchangeIS' OR Name='a\\'b\\\\c'"


def service(name: str, pid: int, state: str = "Running") -> PSObj:
    return PSObj((WIN32_SERVICE,), name, {"Name": name, "ProcessId": pid, "State": state})


def process(pid: int, created: str) -> PSObj:
    return PSObj((WIN32_PROCESS,), "store.exe", {"ProcessId": pid, "CreationDate": created})


def test_services_are_joined_to_their_process_start() -> None:
    found = KIND.parse(
        [
            service("MSExchangeIS", 1204),
            service("MSExchangeIMAP4", 0, "Stopped"),
            process(1204, "20261130220000.000000+000"),
        ],
        "EX01",
    )
    by_name = {s.name: s for s in found}
    assert by_name["MSExchangeIS"].started == datetime.datetime(2026, 11, 30, 22, 0, tzinfo=UTC)
    assert by_name["MSExchangeIMAP4"].started is None and by_name["MSExchangeIMAP4"].state == "Stopped"
    assert {s.server for s in found} == {"EX01"}


def test_an_object_of_another_type_is_refused() -> None:
    with pytest.raises(FactError, match="expected"):
        KIND.parse([PSObj(("System.ServiceProcess.ServiceController",), "x", {})], "EX01")
