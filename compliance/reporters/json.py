"""The plan as JSON (``format_version`` 1, documented in docs/report-formats.md)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from compliance.plan import FORMAT_VERSION, Change, Finding, Plan, Waived
from compliance.reporters.common import combined_exit, totals


def change_dict(change: Change, target: str | None) -> dict[str, Any]:
    data = asdict(change)
    data["action"] = change.action.value
    data["kind"] = change.kind.value if change.kind is not None else None
    data["requires_restart"] = list(change.requires_restart)
    if target is not None:
        data["target"] = target
    return data


def finding_dict(finding: Finding, target: str | None) -> dict[str, Any]:
    return {**asdict(finding), "fixed_by": list(finding.fixed_by), "target": target}


def waived_dict(waived: Waived, target: str | None) -> dict[str, Any]:
    """The waived change or finding as ``changes``/``findings`` show it, with ``waived_as`` saying
    which, and the waiver (dates as ISO text)."""
    result = waived.result
    body = change_dict(result, target) if isinstance(result, Change) else finding_dict(result, target)
    waiver = asdict(waived.waiver)
    waiver["created"] = waived.waiver.created.isoformat()
    waiver["expires"] = waived.waiver.expires.isoformat()
    return {
        **body,
        "target": target,
        "waived_as": "change" if isinstance(result, Change) else "finding",
        "waiver": waiver,
    }


def plan_dict(plan: Plan, *, verbose: bool = True) -> dict[str, Any]:
    return {
        "target": plan.target,
        "baseline": {
            "name": plan.baseline,
            "path": plan.baseline_path,
            "sha256": plan.baseline_sha256,
            "vars": plan.vars,
        },
        "source": plan.source,
        "planned": plan.not_planned is None,  # False: the target's one unreadable result says why
        "summary": plan.summary(),
        "exit_code": int(plan.exit_code),
        "changes": [change_dict(c, plan.target) for c in plan.changes],
        "findings": [finding_dict(f, plan.target) for f in plan.findings],
        "unreadable": [{**asdict(u), "target": plan.target} for u in plan.unreadable],
        "waived": [waived_dict(w, plan.target) for w in plan.waived],
        "compliant": [{**asdict(c), "target": plan.target} for c in plan.compliant] if verbose else [],
        "selectors": [
            {
                "check": s.check,
                "patterns": list(s.patterns),
                "matched": list(s.matched),
                "why": list(s.why),
                "left_out": list(s.left_out),
            }
            for s in plan.selectors
        ],
        "restarts": [{"server": srv, "service": svc} for srv, svc in plan.restarts],
        "capacity": plan.capacity,
        "notes": plan.notes,
    }


def report_dict(plans: Sequence[Plan]) -> dict[str, Any]:
    per_target = [plan_dict(p) for p in plans]
    report: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "summary": totals(plans),
        "exit_code": int(combined_exit(plans)),
    }
    for key in ("changes", "findings", "unreadable", "waived", "compliant", "restarts"):
        report[key] = [item for p in per_target for item in p[key]]
    if len(plans) == 1 and plans[0].target is None:
        single = per_target[0]
        report.update({k: single[k] for k in ("baseline", "source", "selectors", "capacity", "notes")})
    else:
        report["targets"] = per_target
    return report


def render(plans: Sequence[Plan], *, verbose: bool = False) -> str:
    return json.dumps(report_dict(plans), indent=2, default=str) + "\n"
