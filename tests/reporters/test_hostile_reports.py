"""Any text from a server or a waiver file leaves the HTML, SARIF, Prometheus and CSV reports well
formed, and comes back as its visible form (``terminal_safe``): nothing escapes its field.

The plans are test_escaping's hostile plan (every Unicode category, lone surrogates, control and
bidi characters, each format's syntax characters) with a waived drift whose waiver texts are
hostile too, and the target named by a hostile string.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from compliance.plan import Action, Change, ChangeKind, Plan, Waived, WaiverRef
from compliance.reporters import render
from compliance.reporters.common import terminal_safe
from tests.reporters.test_escaping import TEXT, hostile_fields, hostile_plan
from tests.reporters.test_html import parsed
from tests.reporters.test_sarif import validator

EXAMPLES = settings(max_examples=150, deadline=None)
FORMULA = st.sampled_from(["", "=", "+", "-", "@", "\t", "\r"])


def plan_of(v: dict[str, str], target: str) -> Plan:
    plan = hostile_plan(v, target=target)
    waived = Change(
        check="UCCX-SMTP-003",
        title=v["title"],
        severity="medium",
        resource=v["resource"],
        identity=v["identity"],
        setting=v["setting"],
        current=v["current"],
        desired=5,
        requirement=v["requirement"],
        action=Action.UPDATE,
        kind=ChangeKind.RECEIVE_CONNECTOR,
    )
    waiver = WaiverRef(
        check="UCCX-SMTP-003",
        resource=v["resource"],
        justification=v["message"],
        approver=v["evidence"],
        created=datetime.date(2026, 1, 1),
        expires=datetime.date(2026, 6, 30),
        source=v["reason"],
    )
    plan.waived.append(Waived(result=waived, waiver=waiver))
    return plan


hostile = st.tuples(hostile_fields, TEXT, FORMULA)


@EXAMPLES
@given(hostile)
def test_html_keeps_every_text_inside_its_element(case: tuple[dict[str, str], str, str]) -> None:
    v, target, start = case
    v = {**v, "resource": start + v["resource"]}
    text = render("html", [plan_of(v, target)], verbose=True)
    text.encode("utf-8")
    plain = render("html", [plan_of(dict.fromkeys(v, "x"), "x")], verbose=True)
    assert [tag for tag, _ in parsed(text).tags] == [tag for tag, _ in parsed(plain).tags]  # no element added
    cells = "".join(t for tag in ("td", "code", "li", "div") for t in parsed(text).text.get(tag, []))
    assert terminal_safe(v["resource"]) in cells and terminal_safe(v["message"]) in cells


@EXAMPLES
@given(hostile)
def test_sarif_validates_and_keeps_the_texts(case: tuple[dict[str, str], str, str]) -> None:
    v, target, start = case
    v = {**v, "resource": start + v["resource"]}
    log: dict[str, Any] = json.loads(render("sarif", [plan_of(v, target)], verbose=True))
    validator().validate(log)
    results = log["runs"][0]["results"]
    assert len(results) == 5  # change, finding, waived, unreadable, compliant
    assert {r["locations"][0]["logicalLocations"][0]["name"] for r in results} == {terminal_safe(v["resource"])}
    [waived] = [r for r in results if "suppressions" in r]
    assert waived["suppressions"][0]["justification"] == terminal_safe(v["message"])


@EXAMPLES
@given(hostile)
def test_prometheus_parses_and_gives_back_the_labels(case: tuple[dict[str, str], str, str]) -> None:
    v, target, start = case
    v = {**v, "resource": start + v["resource"]}
    families = {f.name: f for f in text_string_to_metric_families(render("prometheus", [plan_of(v, target)]))}
    checks = families["uccx_compliance_check_compliant"].samples
    assert {s.labels["target"] for s in checks} == {
        terminal_safe(target or "uccx-exchange2010-sp1")
    }  # "": the baseline
    assert {s.labels["resource"] for s in checks} == {terminal_safe(v["resource"])}
    assert len(checks) == 5  # one series per check on the resource


@EXAMPLES
@given(hostile)
def test_csv_round_trips_and_never_starts_a_formula(case: tuple[dict[str, str], str, str]) -> None:
    v, target, start = case
    v = {**v, "resource": start + v["resource"]}
    table = list(csv.DictReader(io.StringIO(render("csv", [plan_of(v, target)]), newline="")))
    assert len(table) == 5
    assert {row["resource"] for row in table} == {guarded(v["resource"])}
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in table for cell in row.values())
    [waived] = [row for row in table if row["verdict"] == "waived"]
    assert (waived["waiver_approver"], waived["waiver_justification"]) == (
        guarded(v["evidence"]),
        guarded(v["message"]),
    )


def guarded(text: str) -> str:
    """What the CSV cell must hold: the visible form, with an apostrophe before a formula's start."""
    visible = terminal_safe(text)
    return "'" + visible if visible.startswith(("=", "+", "-", "@")) else visible
