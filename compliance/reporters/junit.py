"""JUnit XML for CI systems: one testcase per check and resource; drift fails, unreadable errors."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from compliance.plan import Plan
from compliance.reporters.common import show_current


def render(plans: Sequence[Plan], *, verbose: bool = False) -> str:
    suites = ET.Element("testsuites", name="uccx-compliance")
    for plan in plans:
        suite = ET.SubElement(suites, "testsuite", name=plan.target or plan.baseline)
        counts = {"tests": 0, "failures": 0, "errors": 0}
        for c in plan.compliant:
            _case(suite, c.check, c.resource, counts)
        for change in plan.changes:
            case = _case(suite, change.check, f"{change.resource} {change.setting or ''}".strip(), counts)
            message = f"{change.setting or change.resource}: {show_current(change)} -> {change.requirement}"
            ET.SubElement(case, "failure", message=message, type="drift").text = change.title
            counts["failures"] += 1
        for finding in plan.findings:
            case = _case(suite, finding.check, finding.resource, counts)
            ET.SubElement(case, "failure", message=finding.message, type="finding").text = finding.title
            counts["failures"] += 1
        for item in plan.unreadable:
            case = _case(suite, item.check, item.resource, counts)
            ET.SubElement(case, "error", message=item.reason, type="unreadable")
            counts["errors"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _case(suite: ET.Element, check: str, resource: str, counts: dict[str, int]) -> ET.Element:
    counts["tests"] += 1
    return ET.SubElement(suite, "testcase", classname=check, name=f"{check} {resource}")
