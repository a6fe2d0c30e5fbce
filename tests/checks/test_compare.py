"""Comparisons (``meets``), the requirement text and the value apply would set, for every kind.

Limits in the baselines are minimums: a higher value, or no limit at all, meets ``at_least``; no limit
never meets ``at_most``. ``None`` for ``current`` means the setting or registry value does not exist.
"""

from __future__ import annotations

from typing import Any

import pytest

from compliance.baseline.model import Expectation
from compliance.checks.compare import desired_value, meets, requirement
from compliance.facts.values import UNLIMITED, Setting, normalize

ABSENT = object()  # the setting does not exist at all (current None)


def current(value: Any) -> Setting | None:
    if value is ABSENT:
        return None
    if value is UNLIMITED:
        return Setting(UNLIMITED, "Unlimited")
    return normalize(value)


MEETS = [
    # at_least: higher or no limit is compliant; $null on 2013+ (inherit) and text are not
    ({"at_least": 2400}, 2400, True),
    ({"at_least": 2400}, 2401, True),
    ({"at_least": 2400}, 2399, False),
    ({"at_least": 2400}, 16, False),
    ({"at_least": 2400}, UNLIMITED, True),
    ({"at_least": 2400}, None, False),
    ({"at_least": 2400}, ABSENT, False),
    ({"at_least": 2400}, "lots", False),
    ({"at_least": 1}, True, False),  # a boolean is not a number
    # at_most: no limit is over any maximum
    ({"at_most": 10}, 10, True),
    ({"at_most": 10}, 11, False),
    ({"at_most": 10}, UNLIMITED, False),
    ({"at_most": 10}, None, False),
    ({"at_most": 10}, ABSENT, False),
    # exact: names compare case-insensitively, "Unlimited" text means no limit
    ({"exact": "Regular"}, "regular", True),
    ({"exact": "Regular"}, "Organization", False),
    ({"exact": 10240}, 10240, True),
    ({"exact": 10240}, "10240", True),
    ({"exact": 10240}, 10241, False),
    ({"exact": "Unlimited"}, UNLIMITED, True),
    ({"exact": True}, True, True),
    ({"exact": True}, False, False),
    ({"exact": "Regular"}, ABSENT, False),
    # one_of
    ({"one_of": ["Regular", "Organization"]}, "organization", True),
    ({"one_of": ["Regular", "Organization"]}, "Global", False),
    ({"one_of": [5, 10]}, 10, True),
    ({"one_of": [5, 10]}, 7, False),
    # unlimited: 2013+ Unlimited or 2010 $null (normalised to UNLIMITED by the parser)
    ({"unlimited": True}, UNLIMITED, True),
    ({"unlimited": True}, 20, False),
    ({"unlimited": True}, None, False),  # a $null that the type does not define as "no limit"
    ({"unlimited": True}, ABSENT, False),
    # present / absent
    ({"present": True}, 0, True),
    ({"present": True}, None, False),
    ({"present": True}, ABSENT, False),
    ({"absent": True}, ABSENT, True),
    ({"absent": True}, None, True),
    ({"absent": True}, 1, False),
]


@pytest.mark.parametrize(
    ("expect", "value", "ok"),
    MEETS,
    ids=[f"{next(iter(e))}-{v!r}-{'ok' if ok else 'not'}" for e, v, ok in MEETS],  # type: ignore[call-overload]
)
def test_meets(expect: dict[str, Any], value: Any, ok: bool) -> None:
    assert meets(Expectation(**expect), current(value)) is ok


@pytest.mark.parametrize(("expect", "value"), [({"exact": 0}, False), ({"exact": False}, 0), ({"exact": 1}, True)])
def test_exact_does_not_confuse_booleans_and_numbers(expect: dict[str, Any], value: Any) -> None:
    assert not meets(Expectation(**expect), current(value))


@pytest.mark.parametrize(
    ("expect", "unlimited_as", "text", "desired"),
    [
        ({"at_least": 2400}, "Unlimited", "at least 2400", 2400),
        ({"at_most": 10}, "Unlimited", "at most 10", 10),
        ({"unlimited": True}, "$null", "$null (no limit)", None),
        ({"unlimited": True}, "Unlimited", "Unlimited", "Unlimited"),
        ({"exact": "Regular"}, "Unlimited", "exactly Regular", "Regular"),
        ({"one_of": ["Regular", "Organization"]}, "Unlimited", "one of Regular, Organization", "Regular"),
        ({"present": True}, "Unlimited", "present", None),
        ({"absent": True}, "Unlimited", "absent", None),
    ],
)
def test_requirement_and_desired_value(expect: dict[str, Any], unlimited_as: str, text: str, desired: Any) -> None:
    expectation = Expectation(**expect)
    assert requirement(expectation, unlimited_as) == text
    assert desired_value(expectation, unlimited_as) == desired


def test_the_desired_value_meets_its_own_expectation() -> None:
    # Applying what the plan proposes must leave the check compliant.
    for expect in ({"at_least": 2400}, {"at_most": 10}, {"exact": "Regular"}, {"one_of": [5, 10]}, {"unlimited": True}):
        expectation = Expectation(**expect)
        assert meets(expectation, normalize(desired_value(expectation, "Unlimited"))), expect
