"""The plan as Markdown, for a change ticket or a pull request comment."""

from __future__ import annotations

from collections.abc import Sequence

from compliance.plan import Plan
from compliance.reporters.common import RESULT_WORDS, combined_exit, show_current


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render(plans: Sequence[Plan], *, verbose: bool = False) -> str:
    out: list[str] = []
    for plan in plans:
        title = plan.target or plan.baseline
        s = plan.summary()
        out += [
            f"## {title}",
            "",
            f"Baseline `{plan.baseline}` against {plan.source}: "
            f"**{s['drift']} drift**, {s['compliant']} compliant, {s['unreadable']} unreadable.",
            "",
        ]
        if plan.changes:
            out += ["| check | resource | setting | current | required | action |", "|---|---|---|---|---|---|"]
            out += [
                f"| {c.check} | {_cell(c.resource)} | {_cell(c.setting or '')} | {_cell(show_current(c))} "
                f"| {_cell(c.requirement)} | {c.action.value} |"
                for c in plan.changes
            ]
            out.append("")
        if plan.findings:
            out += ["**Findings**", ""]
            out += [f"- `{f.check}` {_cell(f.resource)}: {_cell(f.message)}" for f in plan.findings]
            out.append("")
        if plan.unreadable:
            out += ["**Could not read**", ""] + [
                f"- `{u.check}` {_cell(u.resource)}: {_cell(u.reason)}" for u in plan.unreadable
            ]
            out.append("")
        if plan.restarts:
            out += ["**Restarts needed:** " + ", ".join(f"{svc} on {srv}" for srv, svc in plan.restarts), ""]
        if verbose and plan.compliant:
            out += ["**Compliant**", ""] + [
                f"- `{c.check}` {_cell(c.resource)}: {_cell(c.evidence)}" for c in plan.compliant
            ]
            out.append("")
    code = combined_exit(plans)
    out.append(f"Result: **{RESULT_WORDS[code]}** (exit {int(code)})")
    return "\n".join(out) + "\n"
