"""JUnit XML for CI systems: one testcase per check and resource; drift fails, unreadable errors,
waived drift is skipped (with the waiver's expiry, approver and justification).

Every element is made by ``_element``, the one place where text and attribute values pass
through ``xml_safe``: a character XML 1.0 cannot hold (U+0001 in a connector name) would make the
whole report unparseable for the CI system.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from compliance.plan import Change, Plan
from compliance.reporters.common import show_current, xml_safe


def _element(parent: ET.Element | None, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    safe = {key: xml_safe(value) for key, value in attributes.items()}
    element = ET.Element(tag, safe) if parent is None else ET.SubElement(parent, tag, safe)
    if text is not None:
        element.text = xml_safe(text)
    return element


def render(plans: Sequence[Plan], *, verbose: bool = False) -> str:
    suites = _element(None, "testsuites", name="uccx-compliance")
    for plan in plans:
        suite = _element(suites, "testsuite", name=plan.target or plan.baseline)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for c in plan.compliant:
            _case(suite, c.check, c.resource, counts)
        for change in plan.changes:
            case = _case(suite, change.check, f"{change.resource} {change.setting or ''}".strip(), counts)
            message = f"{change.setting or change.resource}: {show_current(change)} -> {change.requirement}"
            _element(case, "failure", change.title, message=message, type="drift")
            counts["failures"] += 1
        for finding in plan.findings:
            case = _case(suite, finding.check, finding.resource, counts)
            _element(case, "failure", finding.title, message=finding.message, type="finding")
            counts["failures"] += 1
        for waived in plan.waived:
            result, waiver = waived.result, waived.waiver
            name = result.resource
            if isinstance(result, Change):
                name = f"{result.resource} {result.setting or ''}".strip()
            case = _case(suite, result.check, name, counts)
            message = f"waived until {waiver.expires.isoformat()} by {waiver.approver}: {waiver.justification}"
            _element(case, "skipped", f"{waiver.source}: {result.title}", message=message)
            counts["skipped"] += 1
        for item in plan.unreadable:
            case = _case(suite, item.check, item.resource, counts)
            _element(case, "error", message=item.reason, type="unreadable")
            counts["errors"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _case(suite: ET.Element, check: str, resource: str, counts: dict[str, int]) -> ET.Element:
    counts["tests"] += 1
    return _element(suite, "testcase", classname=check, name=f"{check} {resource}")
