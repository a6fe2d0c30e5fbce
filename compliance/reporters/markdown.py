"""The plan as Markdown, for a change ticket, a pull request comment or ``$GITHUB_STEP_SUMMARY``.

GitHub-flavoured: a table of the targets with each one's verdict first (a CI reader sees which
target fails without scrolling), then per target a heading that carries the verdict, the drift
table, the findings, the waived drift with its waiver, what could not be read and the restarts.

Every value goes through ``md_cell`` (or ``md_code`` for a code span) from
``compliance.reporters.common``: a connector name with ``|`` or a line break must not add a
table cell or row, and ``<script>`` or a leading ``#`` must not become HTML or a heading.
"""

from __future__ import annotations

from collections.abc import Sequence

from compliance.errors import ExitCode
from compliance.plan import Plan
from compliance.reporters.common import RESULT_WORDS, combined_exit, drift_text, md_cell, md_code, show_current
from compliance.reporters.rows import target_name

_cell = md_cell
# A mark a reader finds in a long step summary; the word beside it says the same for a screen reader.
_MARK = {ExitCode.OK: "✅", ExitCode.DRIFT: "❌", ExitCode.INCOMPLETE: "⚠️", ExitCode.BAD_INPUT: "❌"}


def _verdict(plan: Plan) -> str:
    return f"{_MARK[plan.exit_code]} **{RESULT_WORDS[plan.exit_code]}**"


def _targets(plans: Sequence[Plan]) -> list[str]:
    out = ["| target | result | drift | waived | unreadable | compliant |", "|---|---|---:|---:|---:|---:|"]
    for plan in plans:
        s = plan.summary()
        out.append(
            f"| {_cell(target_name(plan))} | {_verdict(plan)} | {s['drift']} | {s['waived']} "
            f"| {s['unreadable']} | {s['compliant']} |"
        )
    return [*out, ""]


def render(plans: Sequence[Plan], *, verbose: bool = False) -> str:
    out: list[str] = _targets(plans) if len(plans) > 1 else []
    for plan in plans:
        title = plan.target or plan.baseline
        s = plan.summary()
        waived = f"{s['waived']} waived, " if s["waived"] else ""
        head = (
            f"**Not planned** ({_cell(plan.source)})."
            if plan.not_planned is not None
            else f"Baseline {md_code(plan.baseline)} against {_cell(plan.source)}: "
            f"**{s['drift']} drift**, {waived}{s['compliant']} compliant, {s['unreadable']} unreadable."
        )
        out += [f"## {_cell(title)}: {_verdict(plan)}", "", head, ""]
        if plan.changes:
            out += ["| check | resource | setting | current | required | action |", "|---|---|---|---|---|---|"]
            out += [
                f"| {_cell(c.check)} | {_cell(c.resource)} | {_cell(c.setting or '')} | {_cell(show_current(c))} "
                f"| {_cell(c.requirement)} | {c.action.value} |"
                for c in plan.changes
            ]
            out.append("")
        if plan.findings:
            out += ["**Findings**", ""]
            out += [f"- {md_code(f.check)} {_cell(f.resource)}: {_cell(f.message)}" for f in plan.findings]
            out.append("")
        if plan.waived:
            out += _waived(plan)
        if plan.unreadable:
            out += ["**Could not read**", ""] + [
                f"- {md_code(u.check)} {_cell(u.resource)}: {_cell(u.reason)}" for u in plan.unreadable
            ]
            out.append("")
        if plan.restarts:
            out += [
                "**Restarts needed:** " + ", ".join(f"{_cell(svc)} on {_cell(srv)}" for srv, svc in plan.restarts),
                "",
            ]
        if verbose and plan.compliant:
            out += ["**Compliant**", ""] + [
                f"- {md_code(c.check)} {_cell(c.resource)}: {_cell(c.evidence)}" for c in plan.compliant
            ]
            out.append("")
    code = combined_exit(plans)
    out.append(f"Result: **{RESULT_WORDS[code]}** (exit {int(code)})")
    return "\n".join(out) + "\n"


def _waived(plan: Plan) -> list[str]:
    """Every waived drift, with the waiver's reason, approver and expiry: waived is never hidden."""
    out = [
        "**Waived** (not applied, not failing the run)",
        "",
        "| check | resource | drift | justification | approver | expires | waiver |",
        "|---|---|---|---|---|---|---|",
    ]
    for item in plan.waived:
        result, waiver = item.result, item.waiver
        drift = drift_text(result)
        out.append(
            f"| {_cell(result.check)} | {_cell(result.resource)} | {_cell(drift)} | {_cell(waiver.justification)} "
            f"| {_cell(waiver.approver)} | {_cell(waiver.expires.isoformat())} | {_cell(waiver.source)} |"
        )
    return [*out, ""]
