"""What the baseline says about each check, for the reports a person reads: title, severity,
rationale, remediation and the line the check is written on.

The plan carries only each result's check id, title and severity; the checklist's rationale and
remediation stay in the baseline file the plan names (``plan.baseline_path``). That file is read
again through the one bounded YAML reader, and only when its SHA-256 is the plan's: a baseline
edited since the plan would put another rationale (or line) beside the result. When the file is
gone, changed or unreadable, ``Rules.missing`` says so and the report shows that instead.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compliance.errors import InputError
from compliance.plan import Plan
from compliance.yamlsource import Loc, YamlDocument, read_yaml


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: str
    rationale: str
    remediation: str
    line: int  # of the check's ``id:`` in the baseline file


@dataclass(frozen=True)
class Rules:
    path: str  # the baseline file, as the plan names it
    by_id: dict[str, Rule] = field(default_factory=dict)
    missing: str | None = None  # why the baseline's texts are not available; None when they are


def rules_of(plan: Plan) -> Rules:
    """The checks of the plan's baseline (nothing for a target that was not planned)."""
    if not plan.baseline_path:
        return Rules(path="", missing="no baseline (the target was not planned)")
    return _load(plan.baseline_path, plan.baseline_sha256)


@functools.lru_cache(maxsize=32)
def _load(path: str, sha256: str) -> Rules:
    # Cached: a report of 100 targets on one baseline reads it once.
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return Rules(path=path, missing=f"the baseline file cannot be read ({exc.strerror or exc})")
    if hashlib.sha256(data).hexdigest() != sha256:
        return Rules(path=path, missing="the baseline file changed since the plan (its SHA-256 differs)")
    try:
        doc = read_yaml(Path(path))
    except InputError as exc:
        return Rules(path=path, missing=f"the baseline file cannot be read ({exc})")
    rules = {rule.id: rule for rule in _rules(doc, doc.data.get("rules") if isinstance(doc.data, dict) else None)}
    return Rules(path=path, by_id=rules)


def _rules(doc: YamlDocument, data: Any, loc: Loc = ("rules",)) -> Iterator[Rule]:
    if isinstance(data, dict):
        if isinstance(data.get("id"), str):
            yield Rule(
                id=data["id"],
                title=str(data.get("title", "")),
                severity=str(data.get("severity", "")),
                rationale=str(data.get("rationale", "")),
                remediation=str(data.get("remediation", "")),
                line=doc.position((*loc, "id")).line,
            )
        for key, value in data.items():
            yield from _rules(doc, value, (*loc, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _rules(doc, value, (*loc, index))
