"""The results as SARIF 2.1.0, for code-scanning dashboards (GitHub code scanning, Azure DevOps).

One run for all targets. Each check id is a rule (``tool.driver.rules``) with the baseline's
title, rationale and remediation (``reporters.rules``) and a default level from its severity:
critical and high are ``error``, medium ``warning``, low ``note``. Each drift is a result at that
level; a result is located at the resource (a ``logicalLocation`` of kind ``resource`` whose fully
qualified name is ``TARGET/RESOURCE``) and at the check's line in the baseline file (a
``physicalLocation``), so a dashboard links the alert to the rule that raised it.

- Waived drift is a result with a ``suppressions`` entry (kind ``external``, status ``accepted``,
  the waiver's justification, approver, dates and source): dashboards show it as dismissed.
- An unreadable result is a ``warning`` (the audit is incomplete: exit 3), never a pass.
- A compliant result is a ``pass`` (level ``none``), only with ``--verbose``.

``partialFingerprints`` hash the target, check and resource, so a dashboard follows one alert
across runs. Texts pass through ``terminal_safe`` (control characters and bidi marks as visible
escapes), and ``json_text`` writes lone surrogates as escapes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from compliance import __version__
from compliance.plan import NOT_PLANNED, Plan
from compliance.reporters.common import json_text, terminal_safe
from compliance.reporters.context import RunContext
from compliance.reporters.rows import Row, rows
from compliance.reporters.rules import Rule, rules_of

USES_CONTEXT = True
SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
# GitHub code scanning sorts and filters security alerts by this property (0.0 to 10.0).
SECURITY_SEVERITY = {"critical": "9.0", "high": "7.0", "medium": "5.0", "low": "3.0"}
FINGERPRINT = "uccxComplianceResult/v1"


def _text(value: object) -> str:
    return terminal_safe(str(value))


def _uri(path: str) -> str:
    """The baseline file as a URI reference: relative to the working directory when it is inside
    it (a repository's dashboard resolves that against the checkout), else a file:// URI."""
    resolved = Path(path).resolve()
    try:
        return quote(resolved.relative_to(Path.cwd().resolve()).as_posix())
    except ValueError:
        return resolved.as_uri()


def _rule(check: str, rule: Rule | None, row: Row) -> dict[str, Any]:
    severity = (rule.severity if rule else "") or row.severity
    title = (rule.title if rule else "") or row.title or check
    if check == NOT_PLANNED:
        title = "Every target can be planned (reached, with a baseline for its version)"
    entry: dict[str, Any] = {
        "id": check,
        "name": _text(check),
        "shortDescription": {"text": _text(title)},
        "defaultConfiguration": {"level": LEVELS.get(severity, "warning" if check != NOT_PLANNED else "error")},
        "properties": {"tags": ["uccx", "exchange", "compliance"]},
    }
    if rule and rule.rationale:
        entry["fullDescription"] = {"text": _text(rule.rationale)}
    if rule and rule.remediation:
        entry["help"] = {"text": _text(rule.remediation)}
    if severity:
        entry["properties"]["severity"] = severity
        entry["properties"]["security-severity"] = SECURITY_SEVERITY.get(severity, "5.0")
    return entry


def _message(row: Row) -> str:
    if row.result == "change":
        what = row.setting or "the object"
        return f"{row.resource}: {what} is {row.current}; required {row.requirement}"
    if row.verdict == "unreadable":
        return f"{row.resource}: could not be read: {row.detail}"
    return f"{row.resource}: {row.detail}"


def _result(row: Row, rule_index: int, rule: Rule | None, baseline_uri: str | None) -> dict[str, Any]:
    if row.verdict == "compliant":
        level, kind = "none", "pass"
    elif row.verdict == "unreadable":
        level, kind = ("error" if row.check == NOT_PLANNED else "warning"), "fail"
    else:
        level, kind = LEVELS.get(row.severity, "warning"), "fail"
    location: dict[str, Any] = {
        "logicalLocations": [
            {
                "name": _text(row.resource),
                "fullyQualifiedName": _text(f"{row.target}/{row.resource}"),
                "kind": "resource",
            }
        ]
    }
    if baseline_uri is not None and rule is not None:
        location["physicalLocation"] = {
            "artifactLocation": {"uri": baseline_uri},
            "region": {"startLine": rule.line},
        }
    identity = "\x00".join((row.target, row.check, row.resource, row.setting))
    result: dict[str, Any] = {
        "ruleId": row.check,
        "ruleIndex": rule_index,
        "kind": kind,
        "level": level,
        "message": {"text": _text(_message(row))},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT: hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()},
        "properties": {
            "target": _text(row.target),
            "verdict": row.verdict,
            **({"severity": row.severity} if row.severity else {}),
            **(
                {"setting": _text(row.setting), "current": _text(row.current), "desired": _text(row.desired)}
                if row.result == "change"
                else {}
            ),
        },
    }
    if row.waiver is not None:
        waiver = row.waiver
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": _text(waiver.justification),
                "properties": {
                    "approver": _text(waiver.approver),
                    "created": waiver.created.isoformat(),
                    "expires": waiver.expires.isoformat(),
                    "source": _text(waiver.source),
                },
            }
        ]
    return result


def sarif_log(plans: Sequence[Plan], *, verbose: bool = False, context: RunContext | None = None) -> dict[str, Any]:
    rule_entries: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    for plan in plans:
        known = rules_of(plan)
        baseline_uri = _uri(known.path) if known.path and known.missing is None else None
        for row in rows(plan, compliant=verbose):
            rule = known.by_id.get(row.check)
            if row.check not in index:
                index[row.check] = len(rule_entries)
                rule_entries.append(_rule(row.check, rule, row))
            results.append(_result(row, index[row.check], rule, baseline_uri))
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "uccx-compliance",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": rule_entries,
            }
        },
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    if context is not None:
        run["automationDetails"] = {"id": f"uccx-compliance/{_text(context.run_id)}"}
        run["invocations"] = [
            {
                "executionSuccessful": True,
                "startTimeUtc": context.started_at.isoformat().replace("+00:00", "Z"),
                "properties": {"durationSeconds": context.duration_s},
            }
        ]
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


def render(plans: Sequence[Plan], *, verbose: bool = False, context: RunContext | None = None) -> str:
    return json_text(sarif_log(plans, verbose=verbose, context=context), indent=2) + "\n"
