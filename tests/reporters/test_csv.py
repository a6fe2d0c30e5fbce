"""The CSV report: one row per result, the stdlib's quoting, and no formula a spreadsheet would run."""

from __future__ import annotations

import csv
import io

from compliance.plan import Action, Change, ChangeKind, Plan
from compliance.reporters import render
from compliance.reporters.csv import COLUMNS


def parsed(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_one_row_per_result_with_the_waiver(plans: list[Plan]) -> None:
    text = render("csv", plans)
    assert text.startswith(",".join(COLUMNS) + "\r\n")
    table = parsed(text)
    assert len(table) == sum(sum(p.summary().values()) for p in plans)  # every result, compliant included
    assert {r["verdict"] for r in table} == {"drift", "waived", "compliant", "unreadable"}
    [waived] = [r for r in table if r["verdict"] == "waived"]
    assert waived["target"] == "lab-defaults"
    assert waived["check"] == "UCCX-SMTP-003" and waived["resource"] == "EX01\\Default EX01"
    assert (waived["current"], waived["desired"], waived["requirement"]) == ("2", "5", "at least 5")
    assert waived["waiver_approver"] == "j.doe" and waived["waiver_expires"] == "2027-01-31"
    assert waived["waiver_source"] == "waivers.yaml:3"
    imap = next(r for r in table if r["check"] == "UCCX-IMAP-004")
    assert (imap["severity"], imap["current"], imap["desired"]) == ("critical", "16", "2400")
    [unreachable] = [r for r in table if r["target"] == "lab-unreachable"]
    assert unreachable["verdict"] == "unreadable" and unreachable["detail"] == "cannot connect: timed out after 30 s"


def _connector(name: str) -> Change:
    return Change(
        check="UCCX-SMTP-004",
        title="per-source limit",
        severity="high",
        resource=name,
        identity=name,
        setting="MaxInboundConnectionPerSource",
        current=-1,
        desired=250,
        requirement="at least 250",
        action=Action.UPDATE,
        kind=ChangeKind.RECEIVE_CONNECTOR,
    )


def test_a_formula_is_text_not_a_formula() -> None:
    plan = Plan(baseline="b", baseline_path="", baseline_sha256="", source="s", target="=cmd|' /C calc'!A0")
    names = ['=HYPERLINK("http://evil","x")', "+1+2", "-2+3", "@SUM(A1)", "\tTAB", "\rCR", "ok=1", 'a,"b"\nc']
    for name in names:
        plan.add(_connector(name))
    table = parsed(render("csv", [plan]))
    assert [r["resource"] for r in table] == [
        '\'=HYPERLINK("http://evil","x")',
        "'+1+2",
        "'-2+3",
        "'@SUM(A1)",
        "\\tTAB",  # a control character is a visible escape first; the cell then starts with "\"
        "\\rCR",
        "ok=1",  # only the first character makes a formula
        'a,"b"\\nc',
    ]
    assert all(r["target"] == "'=cmd|' /C calc'!A0" for r in table)
    assert all(r["current"] == "'-1" for r in table)  # a negative value too: Excel would evaluate "-1+..."
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for r in table for cell in r.values())
