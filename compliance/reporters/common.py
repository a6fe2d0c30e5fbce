"""Small helpers every report writer shares: how values are shown, ordering, totals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from compliance.errors import ExitCode
from compliance.plan import Change, Plan

RESULT_WORDS = {ExitCode.OK: "compliant", ExitCode.DRIFT: "drift", ExitCode.INCOMPLETE: "incomplete"}


def show(value: Any) -> str:
    """A value as an Exchange admin types it: ``$null``, ``Unlimited``, ``2400``."""
    if value is None:
        return "$null"
    if isinstance(value, bool):
        return "$true" if value else "$false"
    return str(value)


def show_current(change: Change) -> str:
    if change.setting == "ThrottlingPolicy" and change.current is None:
        return "$null (default policy)"
    if change.current is None and change.action.value in ("create", "add"):
        return "(absent)"
    return show(change.current)


def combined_exit(plans: Sequence[Plan]) -> ExitCode:
    codes = {p.exit_code for p in plans}
    for code in (ExitCode.INCOMPLETE, ExitCode.DRIFT):
        if code in codes:
            return code
    return ExitCode.OK


def totals(plans: Sequence[Plan]) -> dict[str, int]:
    out = {"compliant": 0, "drift": 0, "unreadable": 0}
    for plan in plans:
        for key, value in plan.summary().items():
            out[key] += value
    return out


def grouped(changes: Sequence[Change]) -> list[tuple[str, list[Change]]]:
    """Changes by resource, resources in first-seen order (the baseline's order)."""
    groups: dict[str, list[Change]] = {}
    for change in changes:
        groups.setdefault(change.resource, []).append(change)
    return list(groups.items())
