"""Any text the server sends, in every field from facts, leaves each report format well formed.

Names, values and messages are arbitrary text: every Unicode category, lone surrogates, the
control characters, bidi overrides and the syntax characters of each format. The properties:
JUnit parses and gives back ``xml_safe`` of each field; the text report holds no C0, C1, DEL or
bidi character but its own line breaks, and has as many lines as with plain names; each Markdown
change row keeps its six cells; JSON parses and gives back each field exactly.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.plan import Action, Change, ChangeKind, Compliant, Finding, Plan, Unreadable
from compliance.reporters import render
from compliance.reporters.common import md_cell, terminal_safe, xml_safe

HOSTILE = (
    "\x00\x01\x07\x08\t\n\r\x1b\x7f\x85\x9b\u061c\u200e\u2028\u2029\u202a\u202e\u2066\u2069\ufffe\uffff|\\`#><&*_[]"
)
CHARACTERS = st.one_of(
    st.characters(exclude_categories=()),  # every category but the surrogates
    st.characters(categories=["Cs"]),  # lone surrogates: a .NET string can hold them
    st.sampled_from(HOSTILE),
)
TEXT = st.text(CHARACTERS, max_size=24)
FIELDS = ("resource", "identity", "setting", "current", "requirement", "title", "message", "reason", "evidence")
EXAMPLES = settings(max_examples=300, deadline=None)
# What a terminal obeys: C0, DEL, C1, bidi marks, embeddings, overrides and isolates, U+2028/9.
TERMINAL_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def hostile_plan(v: dict[str, str], target: str | None = None) -> Plan:
    plan = Plan(
        baseline="uccx-exchange2010-sp1",
        baseline_path="baselines/uccx-exchange2010-sp1.yaml",
        baseline_sha256="0" * 64,
        source="facts folder x",
        target=target,
    )
    plan.add(
        Change(
            check="UCCX-SMTP-004",
            title=v["title"],
            severity="high",
            resource=v["resource"],
            identity=v["identity"],
            setting=v["setting"],
            current=v["current"],
            desired=250,
            requirement=v["requirement"],
            action=Action.UPDATE,
            server="EX01",
            kind=ChangeKind.RECEIVE_CONNECTOR,
        )
    )
    plan.add(
        Finding(check="UCCX-EVT-001", title=v["title"], severity="high", resource=v["resource"], message=v["message"])
    )
    plan.add(Unreadable(check="UCCX-ADP-001", resource=v["resource"], reason=v["reason"]))
    plan.add(Compliant(check="UCCX-IMAP-001", title=v["title"], resource=v["resource"], evidence=v["evidence"]))
    return plan


hostile_fields = st.fixed_dictionaries({name: TEXT for name in FIELDS})


@EXAMPLES
@given(hostile_fields)
def test_junit_parses_and_gives_back_the_visible_form(v: dict[str, str]) -> None:
    text = render("junit", [hostile_plan(v)], verbose=True)
    # A CI system shows the names and messages: no C1, DEL or bidi mark reaches it (C0 cannot be in XML 1.0).
    assert not re.search("[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]", text)
    root = ET.fromstring(text.encode("utf-8"))
    cases = root.findall("testsuite/testcase")
    assert len(cases) == 4
    names = [case.get("name") for case in cases]
    assert names[0] == xml_safe(f"UCCX-IMAP-001 {v['resource']}")  # compliant first
    assert names[1] == xml_safe("UCCX-SMTP-004 " + f"{v['resource']} {v['setting']}".strip())
    drift, finding, error = cases[1].find("failure"), cases[2].find("failure"), cases[3].find("error")
    assert drift is not None and finding is not None and error is not None
    assert (drift.text or "") == xml_safe(v["title"])
    assert drift.get("message") == xml_safe(f"{v['setting'] or v['resource']}: {v['current']} -> {v['requirement']}")
    assert finding.get("message") == xml_safe(v["message"])
    assert error.get("message") == xml_safe(v["reason"])


@EXAMPLES
@given(hostile_fields)
def test_text_has_no_terminal_controls_and_no_forged_lines(v: dict[str, str]) -> None:
    text = render("text", [hostile_plan(v, target="LAB")], verbose=True)
    assert not TERMINAL_CONTROL.search(text)
    assert not re.search("[\ud800-\udfff]", text)
    text.encode("utf-8")  # printable to a UTF-8 terminal
    plain = render("text", [hostile_plan(dict.fromkeys(FIELDS, "x"), target="LAB")], verbose=True)
    assert text.count("\n") == plain.count("\n")  # a line break in a name never adds a line
    assert terminal_safe(v["message"]) in text and terminal_safe(v["reason"]) in text


def _cells_pairwise(row: str) -> list[str]:
    """Cells as a parser that reads backslash escapes pairwise splits them."""
    cells, current, i = [], "", 0
    while i < len(row):
        if row[i] == "\\" and i + 1 < len(row):
            current += row[i : i + 2]
            i += 2
            continue
        if row[i] == "|":
            cells.append(current)
            current = ""
        else:
            current += row[i]
        i += 1
    return cells[1:]


@EXAMPLES
@given(hostile_fields)
def test_markdown_rows_keep_their_cells_and_nothing_becomes_html(v: dict[str, str]) -> None:
    text = render("markdown", [hostile_plan(v, target=v["identity"])], verbose=True)
    lines = text.split("\n")
    header = lines.index("| check | resource | setting | current | required | action |")
    row = lines[header + 2]
    assert lines[header + 3] == ""  # one change, one row: a line break in a value did not split it
    assert len(_cells_pairwise(row)) == 6
    assert len(re.split(r"(?<!\\)\|", row)[1:-1]) == 6  # and as a parser that looks only at "\|"
    assert _cells_pairwise(row)[1] == f" {md_cell(v['resource'])} "
    assert "<" not in text  # no raw HTML from a name
    assert not any(line.startswith((">", "#")) and not line.startswith("## ") for line in lines)
    assert not lines[0][3:].startswith("#")  # the heading's text is not a deeper heading
    assert not TERMINAL_CONTROL.search(text)


@EXAMPLES
@given(hostile_fields)
def test_json_parses_and_gives_back_every_field_exactly(v: dict[str, str]) -> None:
    text = render("json", [hostile_plan(v)], verbose=True)
    text.encode("utf-8")
    report = json.loads(text)
    [change], [finding], [unreadable], [compliant] = (
        report[key] for key in ("changes", "findings", "unreadable", "compliant")
    )
    got = [change[k] for k in ("resource", "identity", "setting", "current", "requirement", "title")]
    got += [finding["message"], unreadable["reason"], compliant["evidence"]]
    sent = [v[k] for k in ("resource", "identity", "setting", "current", "requirement", "title")]
    sent += [v["message"], v["reason"], v["evidence"]]
    assert list(map(utf16, got)) == list(map(utf16, sent))


def utf16(text: str) -> bytes:
    """The string as .NET holds it: a high and a low surrogate side by side ARE the astral character."""
    return text.encode("utf-16-le", "surrogatepass")


def test_the_escapes_are_visible() -> None:
    assert terminal_safe("EX01\\Relay\x1b[31m\u202e\n") == "EX01\\Relay\\x1b[31m\\u202e\\n"
    assert xml_safe("a\x01b\ud800\r") == "a\\x01b\\ud800\\r"
    assert md_cell("# a | b <i>") == "\\# a \\| b &lt;i&gt;"
