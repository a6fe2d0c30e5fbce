"""The SARIF report, validated against the official SARIF 2.1.0 schema (tests/fixtures/sarif, from
the OASIS TC's repository; its .SOURCE file says where and which commit)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema

from compliance import resources
from compliance.plan import Plan
from compliance.reporters import render
from compliance.reporters.context import RunContext

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "sarif" / "sarif-schema-2.1.0.json"


@functools.cache
def validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema["id"].endswith("/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json")
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def valid_sarif(text: str) -> dict[str, Any]:
    log: dict[str, Any] = json.loads(text)
    validator().validate(log)
    return log


def test_the_schema_refuses_what_is_not_sarif() -> None:
    # The validator is a real one: a result without its message, a bad level, an unknown property.
    good: dict[str, Any] = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": []}]}
    validator().validate(good)
    for bad in (
        {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"ruleId": "A"}]}]},
        {
            "version": "2.1.0",
            "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"message": {"text": "m"}, "level": "fatal"}]}],
        },
        {"version": "2.0.0", "runs": []},
        {**good, "extra": 1},
    ):
        assert not validator().is_valid(bad)


def test_rules_results_locations_and_suppressions(plans: list[Plan], context: RunContext) -> None:
    log = valid_sarif(render("sarif", plans, context=context))
    [run] = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    by_id = {rule["id"]: rule for rule in rules}
    imap = by_id["UCCX-IMAP-004"]
    assert imap["defaultConfiguration"]["level"] == "error"  # critical
    assert imap["shortDescription"]["text"].startswith("IMAP MaxConnectionsPerUser")
    assert "refuses the 9th agent" in imap["fullDescription"]["text"]  # the baseline's rationale
    assert imap["help"]["text"].startswith("Set-ImapSettings")
    assert by_id["UCCX-SMTP-003"]["defaultConfiguration"]["level"] == "warning"  # medium
    results = run["results"]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    drift = next(r for r in results if r["ruleId"] == "UCCX-IMAP-004")
    assert drift["level"] == "error" and drift["kind"] == "fail"
    assert drift["message"]["text"] == "IMAP settings on EX01: MaxConnectionsPerUser is 16; required at least 2400"
    [location] = drift["locations"]
    assert location["logicalLocations"] == [
        {
            "name": "IMAP settings on EX01",
            "fullyQualifiedName": "lab-defaults/IMAP settings on EX01",
            "kind": "resource",
        }
    ]
    physical = location["physicalLocation"]
    baseline = resources.shipped_baseline("uccx-exchange2010-sp1")
    line = physical["region"]["startLine"]
    assert baseline.read_text(encoding="utf-8").splitlines()[line - 1].strip() == "- id: UCCX-IMAP-004"
    assert physical["artifactLocation"]["uri"].endswith("uccx-exchange2010-sp1.yaml")
    [waived] = [r for r in results if r.get("suppressions")]
    assert waived["ruleId"] == "UCCX-SMTP-003"
    [suppression] = waived["suppressions"]
    assert suppression["kind"] == "external" and suppression["status"] == "accepted"
    assert suppression["justification"].endswith("CHG-1042")
    assert suppression["properties"] == {
        "approver": "j.doe",
        "created": "2026-11-01",
        "expires": "2027-01-31",
        "source": "waivers.yaml:3",
    }
    [unreachable] = [r for r in results if r["properties"]["target"] == "lab-unreachable"]
    assert unreachable["ruleId"] == "not-planned" and unreachable["level"] == "error"
    assert "timed out" in unreachable["message"]["text"]
    assert not any(r["kind"] == "pass" for r in results)  # compliant results only with --verbose
    fingerprints = [r["partialFingerprints"]["uccxComplianceResult/v1"] for r in results]
    assert len(set(fingerprints)) == len(fingerprints)
    assert run["automationDetails"]["id"] == "uccx-compliance/run-0042"
    assert run["invocations"][0]["startTimeUtc"] == "2026-11-22T06:00:00Z"


def test_verbose_adds_the_passes(plans: list[Plan]) -> None:
    log = valid_sarif(render("sarif", plans, verbose=True))
    passes = [r for r in log["runs"][0]["results"] if r["kind"] == "pass"]
    assert len(passes) == sum(len(p.compliant) for p in plans)
    assert {r["level"] for r in passes} == {"none"}


def test_a_baseline_changed_since_the_plan_gives_no_line(plan: Plan, tmp_path: Path) -> None:
    copy = tmp_path / "b.yaml"
    copy.write_text(resources.shipped_baseline("uccx-exchange2010-sp1").read_text(encoding="utf-8"), encoding="utf-8")
    plan.baseline_path = str(copy)  # the sample plan's SHA-256 is not this file's
    log = valid_sarif(render("sarif", [plan]))
    assert not any("physicalLocation" in r["locations"][0] for r in log["runs"][0]["results"])
    assert not any("fullDescription" in rule for rule in log["runs"][0]["tool"]["driver"]["rules"])
