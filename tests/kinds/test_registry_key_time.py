"""The registry key's last write time: parsed, or refused as a fact error, never a crash."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest

from compliance.facts.psobject import PSObj
from compliance.kinds.base import FactError
from compliance.kinds.registry_key_time import KIND, TYPE_NAME, subkey

REPO = Path(__file__).resolve().parents[2]
PATH = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\MSExchangeIS\\ParametersSystem"


def key(written: object) -> PSObj:
    return PSObj((TYPE_NAME, "System.Object"), TYPE_NAME, {"Path": PATH, "LastWriteTimeUtc": written})


def test_the_time_is_read_in_utc_and_null_means_not_opened() -> None:
    [found, missing] = KIND.parse([key("2026-11-23T08:41:03Z"), key(None)], "EX01")
    assert found.written == datetime.datetime(2026, 11, 23, 8, 41, 3, tzinfo=datetime.timezone.utc)
    assert (found.server, found.path, missing.written) == ("EX01", PATH, None)


@pytest.mark.parametrize("bad", ["soon", "0001-01-01T00:00:00+14:00", "2026-13-45T00:00:00Z"])
def test_a_time_that_is_not_one_is_a_fact_error(bad: str) -> None:
    with pytest.raises(FactError, match="LastWriteTimeUtc is not a time"):
        KIND.parse([key(bad)], "EX01")


def test_only_keys_under_hklm_are_asked_for() -> None:
    assert subkey(PATH) == PATH.removeprefix("HKLM\\")
    with pytest.raises(FactError):
        subkey("HKCU\\Software")


def test_an_unreadable_key_time_makes_the_store_check_unreadable_naming_why(copy_of: Any, cli: Any) -> None:
    folder = copy_of(REPO / "examples" / "facts" / "exchange2010-sp3-compliant")
    path = folder / "GetRegistryKeyTime-EX01.xml"
    path.write_text(path.read_text(encoding="utf-8-sig").replace("2026-11-23T08:41:03Z", "soon"), encoding="utf-8")
    result = cli("plan", "--facts", folder, "--baseline", "uccx-exchange2010-sp1", "--format", "json")
    assert result.code == 3
    [store] = [u for u in json.loads(result.out)["unreadable"] if u["check"] == "UCCX-STORE-001"]
    assert "GetRegistryKeyTime-EX01.xml: LastWriteTimeUtc is not a time: 'soon'" in store["reason"]
    assert "no apply records (a facts folder names no inventory target)" in store["reason"]
