"""``merge``: join the JSON reports of inventory shards (``--shard K/N``) into one set of plans.

Each shard's report is read back into ``Plan`` objects (validated: the reports are hostile input,
an error is ``FILE:LINE:COL: field: message``), checked to be disjoint, put in the inventory's
order when ``--inventory`` names it, and rendered by the same reporters as any plan, so a merged
report in any format equals the report of the unsharded run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, TypeAdapter

from compliance.errors import ExitCode, InputError
from compliance.jsonsource import JsonDocument, read_json
from compliance.modelerrors import validate
from compliance.plan import (
    FORMAT_VERSION,
    Change,
    Compliant,
    Finding,
    Plan,
    SelectorMatch,
    Unreadable,
    Waived,
    WaiverRef,
)
from compliance.yamlsource import dotted

_WHAT = "uccx-compliance JSON report"


class _Baseline(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    path: str
    sha256: str
    vars: dict[str, Any]


class _Target(BaseModel):
    """One entry of a report's ``targets`` (reporters/json.py ``plan_dict``)."""

    model_config = ConfigDict(extra="forbid")
    target: str
    baseline: _Baseline
    source: str
    planned: bool
    summary: dict[str, int]
    exit_code: int
    changes: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    unreadable: list[dict[str, Any]]
    waived: list[dict[str, Any]] = []
    compliant: list[dict[str, Any]]
    selectors: list[SelectorMatch]
    restarts: list[dict[str, str]]
    capacity: list[dict[str, Any]]
    notes: list[str]


class _Report(BaseModel):
    model_config = ConfigDict(extra="allow")  # the flattened lists at the top repeat the targets'
    format_version: int
    targets: list[_Target]


_RESULTS: dict[str, TypeAdapter[Any]] = {
    "changes": TypeAdapter(Change),
    "findings": TypeAdapter(Finding),
    "unreadable": TypeAdapter(Unreadable),
    "compliant": TypeAdapter(Compliant),
}
_WAIVER = TypeAdapter(WaiverRef)
_FOR_JSON_ONLY = ("target", "waived_as", "waiver")  # keys the JSON adds to a result


def read_report(path: Path) -> list[Plan]:
    """The plans of one inventory report, exactly as they were rendered."""
    doc = read_json(path, what=_WHAT)
    if isinstance(doc.data, dict) and doc.data.get("kind") == "uccx-compliance/plan":
        raise InputError(
            f"{path}:1:1: a saved plan (for apply), not a report; merge the shards' reports: "
            "audit --report json=FILE, or plan --format json > FILE"
        )
    if not isinstance(doc.data, dict) or "targets" not in doc.data:
        raise InputError(
            f"{path}:1:1: targets: not the JSON report of an inventory run (plan/audit --inventory --format json)"
        )
    report = validate(_Report, doc)
    if report.format_version != FORMAT_VERSION:
        raise InputError(f"{path}: format_version {report.format_version}; this tool reads {FORMAT_VERSION}")
    return [_plan(doc, index, entry) for index, entry in enumerate(report.targets)]


def _plan(doc: JsonDocument, index: int, entry: _Target) -> Plan:
    plan = Plan(
        baseline=entry.baseline.name,
        baseline_path=entry.baseline.path,
        baseline_sha256=entry.baseline.sha256,
        source=entry.source,
        target=entry.target,
        vars=entry.baseline.vars,
        selectors=entry.selectors,
        notes=entry.notes,
        capacity=entry.capacity,
    )
    for key, adapter in _RESULTS.items():
        for number, item in enumerate(getattr(entry, key)):
            plan.add(_result(doc, ("targets", index, key, number), adapter, item))
    for number, item in enumerate(entry.waived):
        loc = ("targets", index, "waived", number)
        adapter = _RESULTS["changes" if item.get("waived_as") == "change" else "findings"]
        waiver = _result(doc, (*loc, "waiver"), _WAIVER, item.get("waiver"))
        plan.waived.append(Waived(result=_result(doc, loc, adapter, item), waiver=waiver))
    if not entry.planned:
        plan.not_planned = ExitCode(entry.exit_code)
    if int(plan.exit_code) != entry.exit_code or plan.summary() != entry.summary:
        pos = doc.position(("targets", index, "exit_code"))
        raise InputError(
            f"{doc.path}:{pos.line}:{pos.column}: targets[{index}]: its exit_code and summary disagree with "
            "its results (an edited report?)"
        )
    return plan


def _result(doc: JsonDocument, loc: tuple[int | str, ...], adapter: TypeAdapter[Any], item: Any) -> Any:
    data = {k: v for k, v in item.items() if k not in _FOR_JSON_ONLY} if isinstance(item, dict) else item
    try:
        return adapter.validate_python(data)
    except pydantic.ValidationError as exc:
        error = exc.errors()[0]
        where = (*loc, *(p for p in error["loc"] if isinstance(p, (str, int))))
        pos = doc.position(where)
        raise InputError(f"{doc.path}:{pos.line}:{pos.column}: {dotted(where)}: {error['msg']}") from None


def merge(reports: Sequence[Path], *, order: Sequence[str] | None = None) -> list[Plan]:
    """The shards' plans as one run's: every target once, in ``order`` (the inventory's) if given."""
    plans: list[Plan] = []
    seen: dict[str, int] = {}
    for number, path in enumerate(reports):
        for plan in read_report(path):
            name = str(plan.target)
            key = name.casefold()
            # One report may plan a target twice (--baseline auto, one plan per baseline); two may not.
            if seen.setdefault(key, number) != number:
                raise InputError(f"{path}: target {name} is in {reports[seen[key]]} too; shards must not overlap")
            plans.append(plan)
    if order is None:
        return plans
    rank = {name.casefold(): number for number, name in enumerate(order)}
    strangers = [p.target for p in plans if str(p.target).casefold() not in rank]
    if strangers:
        raise InputError(f"target {strangers[0]} is in a report but not in the inventory given")
    return sorted(plans, key=lambda p: rank[str(p.target).casefold()])
