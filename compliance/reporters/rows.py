"""Every result of a plan as one flat row, for the formats that list results side by side
(CSV, SARIF, Prometheus, HTML): one place decides what "verdict", "current" and "detail" mean.

Verdicts: ``drift`` (a change or a finding), ``waived`` (drift a waiver accepts), ``unreadable``
(could not be read; never waivable) and ``compliant``. Drift comes first, in the plan's order.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from compliance.plan import Change, Finding, Plan, WaiverRef
from compliance.reporters.common import show, show_current

VERDICTS = ("compliant", "drift", "waived", "unreadable")


@dataclass(frozen=True)
class Row:
    target: str
    check: str
    title: str
    severity: str  # "" for compliant and unreadable results (the plan does not carry it)
    verdict: str  # one of VERDICTS
    result: str  # change | finding | compliant | unreadable
    resource: str
    setting: str = ""
    current: str = ""
    desired: str = ""
    requirement: str = ""
    detail: str = ""  # a finding's message, a compliant result's evidence, why it is unreadable
    waiver: WaiverRef | None = None


def count(value: object) -> int | None:
    """A capacity row's value or need when it is a number (not ``Unlimited``, not unread)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def target_name(plan: Plan) -> str:
    """The name a report gives the plan: the inventory target, else the baseline (a facts folder)."""
    return plan.target or plan.baseline or plan.source


def _drift(target: str, result: Change | Finding, waiver: WaiverRef | None = None) -> Row:
    base = Row(
        target=target,
        check=result.check,
        title=result.title,
        severity=result.severity,
        verdict="drift" if waiver is None else "waived",
        result="finding",
        resource=result.resource,
        waiver=waiver,
    )
    if isinstance(result, Finding):
        return replace(base, detail=result.message)
    return replace(
        base,
        result="change",
        setting=result.setting or "",
        current=show_current(result),
        desired=show(result.desired),
        requirement=result.requirement,
    )


def rows(plan: Plan, *, compliant: bool = True) -> list[Row]:
    target = target_name(plan)
    out = [_drift(target, c) for c in plan.changes]
    out += [_drift(target, f) for f in plan.findings]
    out += [_drift(target, w.result, w.waiver) for w in plan.waived]
    out += [
        Row(
            target=target,
            check=u.check,
            title="",
            severity="",
            verdict="unreadable",
            result="unreadable",
            resource=u.resource,
            detail=u.reason,
        )
        for u in plan.unreadable
    ]
    if compliant:
        out += [
            Row(
                target=target,
                check=c.check,
                title=c.title,
                severity="",
                verdict="compliant",
                result="compliant",
                resource=c.resource,
                detail=c.evidence,
            )
            for c in plan.compliant
        ]
    return out
