"""The plan as ``terraform plan`` would print it, for people.

Every line is built whole and then passed through ``terminal_safe`` in ``render``, the one place:
each line is a single list item, so a line break inside a name read from Exchange is escaped
with it and can never forge a line (such as a ``Result: compliant``) of its own.
"""

from __future__ import annotations

from collections.abc import Sequence

from compliance.plan import Action, Plan
from compliance.reporters.common import (
    RESULT_WORDS,
    combined_exit,
    drift_text,
    grouped,
    show,
    show_current,
    terminal_safe,
    totals,
)

_SYMBOL = {Action.UPDATE: "~", Action.CREATE: "+", Action.ADD: "+"}


def render(plans: Sequence[Plan], *, verbose: bool = False) -> str:
    lines: list[str] = []
    for plan in plans:
        lines += _plan(plan, verbose)
    if len(plans) > 1:
        t = totals(plans)
        waived = f"{t['waived']} waived, " if t["waived"] else ""
        lines.append(
            f"All targets: {t['drift']} drift, {waived}{t['compliant']} compliant, {t['unreadable']} unreadable."
        )
    code = combined_exit(plans)
    lines.append(f"Result: {RESULT_WORDS[code]} (exit {int(code)})")
    return "\n".join(terminal_safe(line) for line in lines) + "\n"


def _plan(plan: Plan, verbose: bool) -> list[str]:
    target = f"target {plan.target}: " if plan.target else ""
    if plan.not_planned is not None:
        lines = [f"{target}NOT PLANNED ({plan.source})", ""]
    else:
        lines = [f"{target}baseline {plan.baseline} against {plan.source}", ""]
    for resource, changes in grouped(plan.changes):
        creating = any(c.setting is None and c.action is Action.CREATE for c in changes)
        head = "+" if creating else "~"
        lines.append(f"  {head} {resource}{' (create)' if creating else ''}")
        for change in changes:
            if change.setting is None:
                continue
            symbol = _SYMBOL[change.action]
            arrow = f"{show_current(change)} -> {change.requirement}"
            if change.action is not Action.UPDATE:
                arrow = show(change.desired)
                if change.requirement.startswith(("at ", "exactly")):
                    arrow += f" ({change.requirement})"
            lines.append(f"      {symbol} {change.setting}: {arrow}    [{change.check} {change.severity}]")
        lines.append("")
    for finding in plan.findings:
        lines.append(f"  ! {finding.resource}    [{finding.check} {finding.severity}]")
        lines.append(f"      {finding.message}")
        lines.append("")
    for selector in plan.selectors:
        matched = ", ".join(selector.matched) or "NOTHING"
        lines.append(f"Receive connectors matched by {', '.join(selector.patterns)}: {matched}")
        lines += [f"  {identity}: {why}" for identity, why in zip(selector.matched, selector.why, strict=False)]
        lines += [f"  left out {item}" for item in selector.left_out]
    lines += _waived(plan)
    if plan.unreadable:
        count = len(plan.unreadable)
        lines.append(f"Could not read ({count} check{'s' if count != 1 else ''}):")
        lines += _unreadable(plan)
    if plan.restarts:
        lines.append("Restarts needed after apply: " + ", ".join(f"{svc} on {srv}" for srv, svc in plan.restarts))
    if plan.capacity:
        lines += _capacity(plan)
    if verbose and plan.compliant:
        lines.append(f"Compliant ({len(plan.compliant)}):")
        lines += [f"  = {c.check} {c.resource}: {c.evidence}" for c in plan.compliant]
    for note in plan.notes:
        lines.append(f"Note: {note}")
    summary = plan.summary()
    hint = "" if verbose or not plan.compliant else " (-v lists them)"
    waived = f"{summary['waived']} waived, " if summary["waived"] else ""  # said only once a waiver waived
    lines.append(
        f"Plan: {len(plan.changes)} to change, {len(plan.findings)} finding(s), "
        f"{waived}{summary['compliant']} compliant{hint}, {summary['unreadable']} unreadable."
    )
    lines.append("")
    return lines


def _waived(plan: Plan) -> list[str]:
    """Waived drift is never hidden: each with what it would change and the waiver that accepts it."""
    if not plan.waived:
        return []
    lines = [f"Waived ({len(plan.waived)}, not applied and not failing the run):"]
    for item in plan.waived:
        result, waiver = item.result, item.waiver
        what = drift_text(result)
        lines.append(f"  w {result.resource}: {what}    [{result.check} {result.severity}]")
        lines.append(
            f"      waived until {waiver.expires.isoformat()} by {waiver.approver} ({waiver.source}): "
            f"{waiver.justification}"
        )
    lines.append("")
    return lines


def _unreadable(plan: Plan) -> list[str]:
    """One line per resource and reason: sixteen throttling checks missing one file is one problem."""
    groups: dict[tuple[str, str], list[str]] = {}
    for item in plan.unreadable:
        groups.setdefault((item.resource, item.reason), []).append(item.check)
    lines = []
    for (resource, reason), checks in groups.items():
        ids = ", ".join(checks) if len(checks) <= 3 else f"{checks[0]} .. {checks[-1]}, {len(checks)} checks"
        lines.append(f"  ? {resource}: {reason}    [{ids}]")
    return lines


def _capacity(plan: Plan) -> list[str]:
    needed = plan.capacity[0]["needed"]
    lines = [f"Capacity: UCCX needs {needed} IMAP connections on its one account (2 per agent + its own):"]
    for row in plan.capacity:
        where = "" if row["server"] == "-" else f" on {row['server']}"
        value = "not read" if row["value"] is None else show(row["value"])
        if row["headroom"] is None:
            state = "?"
        elif row["headroom"] == "unlimited":
            state = "ok, no limit"
        else:
            state = f"{'ok' if row['ok'] else 'SHORT'}, headroom {row['headroom']:+d}"
        note = f"  ({row['note']})" if row["note"] else ""
        lines.append(f"  {row['limit']}{where}: {value} [{state}]{note}")
    return lines


__all__ = ["render", "show"]
