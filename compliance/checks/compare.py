"""Comparisons: does a setting as read meet a rule's expectation, and how to say what it wants."""

from __future__ import annotations

from typing import Any

from compliance.baseline.model import Expectation
from compliance.facts.values import UNLIMITED, Scalar, Setting, normalize


def meets(expect: Expectation, current: Setting | None) -> bool:
    """``current`` None means the setting (or registry value) does not exist."""
    kind = expect.comparison
    if kind == "absent":
        return current is None or current.value is None
    if current is None:
        return False
    value = current.value
    if kind == "present":
        return value is not None
    if kind == "unlimited":
        return value is UNLIMITED
    number = value if isinstance(value, int) and not isinstance(value, bool) else None
    if kind == "at_least":
        return value is UNLIMITED or (number is not None and number >= _int(expect.at_least))
    if kind == "at_most":
        return number is not None and number <= _int(expect.at_most)
    if kind == "exact":
        return _same(value, normalize(expect.exact).value)
    if kind == "one_of":
        return any(_same(value, normalize(option).value) for option in expect.one_of or [])
    raise ValueError(f"unknown comparison {kind!r}")  # the baseline model admits no other


def requirement(expect: Expectation, unlimited_as: str = "Unlimited") -> str:
    kind = expect.comparison
    if kind == "at_least":
        return f"at least {expect.at_least}"
    if kind == "at_most":
        return f"at most {expect.at_most}"
    if kind == "unlimited":
        return "$null (no limit)" if unlimited_as == "$null" else "Unlimited"
    if kind == "exact":
        return f"exactly {expect.exact}"
    if kind == "one_of":
        return "one of " + ", ".join(str(o) for o in expect.one_of or [])
    return kind  # present / absent


def desired_value(expect: Expectation, unlimited_as: str = "Unlimited") -> Any:
    """The value apply sets to meet the expectation (the minimum that does)."""
    kind = expect.comparison
    if kind == "unlimited":
        return None if unlimited_as == "$null" else "Unlimited"
    if kind == "one_of":
        return expect.one_of[0] if expect.one_of else None
    return {"at_least": expect.at_least, "at_most": expect.at_most, "exact": expect.exact}.get(kind)


def _int(value: int | None) -> int:
    if value is None:  # the baseline model sets the bound of every at_least/at_most check
        raise ValueError("a bound comparison without its bound")
    return value


def _same(a: Scalar, b: Scalar) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    if isinstance(a, bool) != isinstance(b, bool):
        return False  # Python's 0 == False; $false is not the number 0 to Exchange
    return a == b
