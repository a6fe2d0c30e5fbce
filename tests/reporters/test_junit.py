"""JUnit XML for CI: one testcase per check and resource; drift fails, unreadable errors. Every
report here is also checked against the schema Jenkins' xUnit plugin validates JUnit with."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

from compliance.plan import Plan
from compliance.reporters import render
from tests.reporters.validators import junit_errors


def parse(plans: list[Plan]) -> ET.Element:
    text = render("junit", plans)
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>\n')
    assert junit_errors(text) == []
    return ET.fromstring(text.encode("utf-8"))


def test_one_testcase_per_check_and_resource(plan: Plan) -> None:
    [suite] = parse([plan]).findall("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == 1 + 6 + 1 + 1  # compliant, changes, finding, unreadable
    keys = [(c.get("classname"), c.get("name")) for c in cases]
    assert len(set(keys)) == len(keys)
    assert ("UCCX-IMAP-004", "UCCX-IMAP-004 IMAP settings on EX01 MaxConnectionsPerUser") in keys


def test_counts_match_the_testcases(plan: Plan) -> None:
    [suite] = parse([plan]).findall("testsuite")
    cases = suite.findall("testcase")
    failures = [c for c in cases if c.find("failure") is not None]
    errors = [c for c in cases if c.find("error") is not None]
    assert suite.get("tests") == str(len(cases)) == "9"
    assert suite.get("failures") == str(len(failures)) == "7"
    assert suite.get("errors") == str(len(errors)) == "1"
    passed = [c for c in cases if c not in failures and c not in errors]
    assert [c.get("classname") for c in passed] == ["UCCX-IMAP-001"]


def test_drift_is_a_failure_and_unreadable_an_error(plan: Plan) -> None:
    [suite] = parse([plan]).findall("testsuite")
    by_class = {c.get("classname"): c for c in suite.findall("testcase")}
    failure = by_class["UCCX-IMAP-004"].find("failure")
    assert failure is not None
    assert failure.get("type") == "drift"
    assert failure.get("message") == "MaxConnectionsPerUser: 16 -> at least 2400"
    mailbox = by_class["UCCX-MBX-001"].find("failure")
    assert mailbox is not None
    assert mailbox.get("message") == "ThrottlingPolicy: $null (default policy) -> exactly UCCX"
    finding = by_class["UCCX-EVT-001"].find("failure")
    assert finding is not None and finding.get("type") == "finding"
    error = by_class["UCCX-ADP-001"].find("error")
    assert error is not None
    assert (error.get("type"), error.get("message")) == ("unreadable", "GetADPermission.xml: not collected")
    assert by_class["UCCX-ADP-001"].find("failure") is None  # unreadable is never drift


def test_a_suite_per_target(make_plan: Callable[[str | None], Plan]) -> None:
    suites = parse([make_plan("site-a"), make_plan("site-b")]).findall("testsuite")
    assert [s.get("name") for s in suites] == ["site-a", "site-b"]
    assert all(s.get("tests") == "9" for s in suites)


def test_a_real_audit_with_waived_and_unplanned_targets_is_valid_junit(plans: list[Plan]) -> None:
    for verbose in (False, True):
        assert junit_errors(render("junit", plans, verbose=verbose)) == []
    assert [s.get("name") for s in parse(plans).findall("testsuite")] == [
        "lab-defaults",
        "lab-compliant",
        "lab-unreachable",
    ]


def test_the_schema_refuses_what_jenkins_would_not_read() -> None:
    """The check above can fail: a testcase without its name, a suite without its counts."""
    assert junit_errors(
        '<testsuites><testsuite name="a" tests="1" failures="0" errors="0"><testcase/></testsuite></testsuites>'
    )
    assert junit_errors('<testsuites><testsuite name="a"/></testsuites>')
    assert junit_errors("<results/>")
