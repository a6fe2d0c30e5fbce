"""The plan as Markdown, for a change ticket or a pull request comment.

Every value goes through ``md_cell`` (or ``md_code`` for a code span) from
``compliance.reporters.common``: a connector name with ``|`` or a line break must not add a
table cell or row, and ``<script>`` or a leading ``#`` must not become HTML or a heading.
"""

from __future__ import annotations

from collections.abc import Sequence

from compliance.plan import Plan
from compliance.reporters.common import RESULT_WORDS, combined_exit, md_cell, md_code, show_current

_cell = md_cell


def render(plans: Sequence[Plan], *, verbose: bool = False) -> str:
    out: list[str] = []
    for plan in plans:
        title = plan.target or plan.baseline
        s = plan.summary()
        head = (
            f"**Not planned** ({_cell(plan.source)})."
            if plan.not_planned is not None
            else f"Baseline {md_code(plan.baseline)} against {_cell(plan.source)}: "
            f"**{s['drift']} drift**, {s['compliant']} compliant, {s['unreadable']} unreadable."
        )
        out += [f"## {_cell(title)}", "", head, ""]
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
