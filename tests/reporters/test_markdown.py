"""The Markdown report, for a change ticket or a pull request comment."""

from __future__ import annotations

from compliance.plan import Plan
from compliance.reporters import render
from compliance.reporters.common import md_cell
from tests.reporters.conftest import RELAY
from tests.reporters.validators import markdown_tables, markdown_tokens


def test_changes_table(plan: Plan) -> None:
    lines = render("markdown", [plan]).splitlines()
    header = lines.index("| check | resource | setting | current | required | action |")
    assert lines[header + 1] == "|---|---|---|---|---|---|"
    rows = lines[header + 2 : header + 8]
    assert rows[0] == (
        "| UCCX-IMAP-004 | IMAP settings on EX01 | MaxConnectionsPerUser | 16 | at least 2400 | update |"
    )
    assert rows[2] == ("| UCCX-SMTP-009 | EX01\\Relay \\| UCCX | MessageRateLimit | Unlimited | at most 100 | update |")
    assert rows[3] == "| UCCX-THR-000 | throttling policy UCCX |  | (absent) | present | create |"
    assert rows[5].startswith("| UCCX-MBX-001 | mailbox uccx | ThrottlingPolicy | \\$null (default policy) |")
    # Every row has the header's six cells (an unescaped pipe would add one).
    for row in rows:
        assert row.replace("\\|", "").count("|") == 7


def test_summary_sections_and_result(plan: Plan) -> None:
    text = render("markdown", [plan])
    assert text.startswith(
        "## uccx-exchange2010-sp1: ⚠️ **incomplete**\n\nBaseline `uccx-exchange2010-sp1` against facts "
        "folder examples/facts/x: **7 drift**, 1 compliant, 1 unreadable.\n"
    )
    assert ("**Could not read**\n\n- `UCCX-ADP-001` organization LAB: GetADPermission.xml: not collected\n") in text
    assert "- `UCCX-EVT-001` event log on EX01: MSExchangeIS 9646: 3 event(s); fixed by UCCX-STORE-001\n" in text
    assert "**Restarts needed:** MSExchangeIMAP4 on EX01" in text
    assert text.endswith("Result: **incomplete** (exit 3)\n")


def test_compliant_evidence_only_when_verbose(plan: Plan) -> None:
    evidence = "- `UCCX-IMAP-001` IMAP settings on EX01: MaxCommandSize is 10240 (at least 10240)"
    assert evidence not in render("markdown", [plan])
    assert evidence in render("markdown", [plan], verbose=True)


def test_step_summary_of_a_real_audit(plans: list[Plan]) -> None:
    """What ``$GITHUB_STEP_SUMMARY`` shows: the targets with their verdicts first, then each target."""
    lines = render("markdown", plans).splitlines()
    assert lines[:5] == [
        "| target | result | drift | waived | unreadable | compliant |",
        "|---|---|---:|---:|---:|---:|",
        "| lab-defaults | ❌ **drift** | 23 | 1 | 0 | 5 |",
        "| lab-compliant | ✅ **compliant** | 0 | 0 | 0 | 29 |",
        "| lab-unreachable | ⚠️ **incomplete** | 0 | 0 | 1 | 0 |",
    ]
    assert "## lab-defaults: ❌ **drift**" in lines
    waived = lines.index("| check | resource | drift | justification | approver | expires | waiver |")
    assert lines[waived + 2] == (
        "| UCCX-SMTP-003 | EX01\\Default EX01 | MaxInboundConnectionPercentagePerSource: 2 -&gt; at least 5 "
        "| the per-source percentage is raised with the connector rebuild, CHG-1042 | j.doe | 2027-01-31 "
        "| waivers.yaml:3 |"
    )
    assert "- `not-planned` target lab-unreachable: cannot connect: timed out after 30 s" in lines
    assert lines[-1] == "Result: **incomplete** (exit 3)"


def test_a_commonmark_parser_reads_each_cell_as_written(plan: Plan) -> None:
    """GitHub renders the step summary with a CommonMark parser and GFM tables: the cells it reads
    are the values, whole (a pipe in a connector name does not split its row), and nothing in them
    becomes HTML, a link, strikethrough or math."""
    text = render("markdown", [plan])
    [changes] = [t for t in markdown_tables(text) if t[0][:2] == ["check", "resource"]]
    rows = {row[0]: row for row in changes[1:]}
    assert rows["UCCX-SMTP-009"] == ["UCCX-SMTP-009", RELAY, "MessageRateLimit", "Unlimited", "at most 100", "update"]
    assert rows["UCCX-MBX-001"][3] == "$null (default policy)"
    assert all(len(row) == len(changes[0]) for row in changes)
    kinds = {token.type for token in markdown_tokens(text)}
    assert not kinds & {"html_inline", "html_block", "link_open", "s_open"}


def test_the_parser_sees_what_an_unescaped_name_would_do() -> None:
    """The check above can fail: the same parser, on the raw text, splits a row and opens a link."""
    raw = "| resource | setting |\n|---|---|\n| EX01\\Relay | UCCX | [x](http://evil) |\n"
    [table] = markdown_tables(raw)
    assert table[1] == ["EX01\\Relay", "UCCX"]  # the name lost its second half
    assert "link_open" in {token.type for token in markdown_tokens("[x](http://evil) ~gone~")}
    assert "s_open" in {token.type for token in markdown_tokens("~~gone~~")}


def test_hostile_names_stay_text_for_the_parser() -> None:
    for name in ("<img src=x onerror=alert(1)>", "[click](http://evil)", "~~struck~~", "$x$", "a|b", "`code`", "*em*"):
        [_, [cell]] = markdown_tables(f"| h |\n|---|\n| {md_cell(name)} |\n")[0]
        assert cell == name
        kinds = {token.type for token in markdown_tokens(md_cell(name))}
        assert not kinds & {"html_inline", "html_block", "link_open", "s_open", "em_open", "code_inline"}
    assert md_cell("$x$") == "\\$x\\$"  # GitHub's math is not in the parser: the escape itself
