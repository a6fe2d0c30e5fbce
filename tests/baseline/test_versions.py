"""``applies_to`` version ranges against ``AdminDisplayVersion`` (2010 RTM 14.0 ... 2019 15.2)."""

from __future__ import annotations

import pytest

from compliance.baseline.versions import VersionRange
from compliance.facts.values import ServerVersion

RTM = ServerVersion(14, 0, 639, 21)
SP1 = ServerVersion(14, 1, 218, 15)
SP3 = ServerVersion(14, 3, 123, 4)
E2013 = ServerVersion(15, 0, 1497, 2)
E2016 = ServerVersion(15, 1, 2375, 7)
E2019 = ServerVersion(15, 2, 986, 5)
ALL = {"RTM": RTM, "SP1": SP1, "SP3": SP3, "2013": E2013, "2016": E2016, "2019": E2019}


@pytest.mark.parametrize(
    ("text", "inside"),
    [
        (">=14.0,<14.1", {"RTM"}),  # the shipped RTM baseline
        (">=14.1,<15", {"SP1", "SP3"}),  # the shipped SP1 baseline
        (">=15.0,<16", {"2013", "2016", "2019"}),  # the shipped 2013 baseline
        ("==15.1", {"2016"}),  # any 2016 build
        ("!=14.3", {"RTM", "SP1", "2013", "2016", "2019"}),
        (">14.3.123.4", {"2013", "2016", "2019"}),
        ("<=14.3.123.4", {"RTM", "SP1", "SP3"}),
    ],
)
def test_range_contains(text: str, inside: set[str]) -> None:
    wanted = VersionRange.parse(text)
    assert {name for name, version in ALL.items() if wanted.contains(version)} == inside


@pytest.mark.parametrize("text", ["SP1", ">=14.1;<15", "=>14", ">=14.1.2.3.4", "", ">=v15"])
def test_bad_range_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="bad version clause"):
        VersionRange.parse(text)


def test_version_prints_as_exchange_does() -> None:
    assert str(SP3) == "Version 14.3 (Build 123.4)"
    assert [v.product for v in (RTM, SP3, E2013, E2016, E2019)] == [
        "Exchange 2010 RTM",
        "Exchange 2010 SP3",
        "Exchange 2013",
        "Exchange 2016",
        "Exchange 2019",
    ]
