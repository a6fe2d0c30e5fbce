"""The ps1 export: a hostile value stays ONE literal argument, checked by lexing the script."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from compliance.apply.commands import build_steps
from compliance.apply.ps1 import SINGLE_QUOTES, STOP, comment_text, failure_message, quote, render_script
from compliance.pipeline import plan_folder
from compliance.plan import Action, Change, ChangeKind, Plan

ROOT = Path(__file__).resolve().parents[2]
QUOTES = "'\u2018\u2019\u201a\u201b"
HOSTILE = [
    "O'Brien",
    "‘smart’ ‚low‛ quotes",
    "x'; Remove-Mailbox -Identity * -Confirm:$false; '",
    "$(Stop-Computer) ${env:USERNAME} $null",
    "`whoami` back`ticks`",
    "line one\nline two\r\n# not a comment",
    "<# block #> # hash",
    QUOTES * 3,
    "ends with a quote’",
    "'",
]


def lex_single_quoted(text: str, start: int) -> tuple[str, int]:
    """PowerShell's single-quoted string: any of five quote characters opens/closes it, and
    two quote characters in a row are one literal quote. Returns (value, index after it)."""
    assert text[start] in SINGLE_QUOTES
    value = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch in SINGLE_QUOTES:
            if i + 1 < len(text) and text[i + 1] in SINGLE_QUOTES:
                value.append(ch)
                i += 2
                continue
            return "".join(value), i + 1
        value.append(ch)
        i += 1
    raise AssertionError("unterminated string")


def tokens(script: str) -> list[tuple[str, str]]:
    """A small PowerShell lexer: comments, single-quoted strings, newlines and bare words."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(script):
        ch = script[i]
        if ch in " \t":
            i += 1
        elif ch in "\r\n":
            out.append(("newline", ch))
            i += 1
        elif script.startswith("<#", i):
            end = script.index("#>", i) + 2
            out.append(("block-comment", script[i:end]))
            i = end
        elif ch == "#":
            end = min((p for p in (script.find("\n", i), script.find("\r", i)) if p != -1), default=len(script))
            out.append(("comment", script[i:end]))
            i = end
        elif ch in SINGLE_QUOTES:
            value, i = lex_single_quoted(script, i)
            out.append(("string", value))
        else:
            end = i
            while end < len(script) and script[end] not in " \t\r\n" and script[end] not in SINGLE_QUOTES:
                end += 1
            out.append(("word", script[i:end]))
            i = end
    return out


@pytest.mark.parametrize("value", HOSTILE)
def test_quote_round_trips_through_the_lexer(value: str) -> None:
    quoted = quote(value)
    parsed, end = lex_single_quoted(quoted, 0)
    assert parsed == value
    assert end == len(quoted)


@pytest.mark.parametrize("value", HOSTILE)
def test_nothing_inside_the_quotes_can_end_the_string(value: str) -> None:
    body = quote(value)[1:-1]
    # Every quote character inside is immediately doubled, so each pair is a literal quote.
    i = 0
    while i < len(body):
        if body[i] in SINGLE_QUOTES:
            assert i + 1 < len(body) and body[i + 1] == body[i], (value, body)
            i += 2
        else:
            i += 1


def test_typographic_quotes_are_doubled_too() -> None:
    assert quote("a\u2019b") == "'a\u2019\u2019b'"
    assert quote("\u201a\u201b\u2018") == "'\u201a\u201a\u201b\u201b\u2018\u2018'"


def test_comment_text_cannot_end_its_line() -> None:
    assert "\n" not in comment_text("a\nb\rc\u2028d\x85e")
    assert comment_text("tab\there") == "tab\\x09here"


def hostile_plan(name: str) -> Plan:
    plan = plan_folder(
        ROOT / "baselines/uccx-exchange2010-sp1.yaml", ROOT / "examples/facts/exchange2010-sp3-defaults", {}
    )
    changes = []
    for change in plan.changes:
        if change.setting == "ThrottlingPolicy":
            change = replace(change, identity=name, resource=f"mailbox {name}")
        if change.setting == "ExtendedRights":
            change = replace(change, principal=name, requirement=f"{name} has {change.desired!r}")
        changes.append(change)
    plan.changes = changes
    return plan


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_mailbox_name_is_one_argument_in_the_script(name: str) -> None:
    script = render_script([hostile_plan(name)])
    lexed = tokens(script)
    for cmdlet, parameter in (("Set-Mailbox", "-Identity"), ("Add-ADPermission", "-User")):
        start = next(i for i, t in enumerate(lexed) if t == ("word", cmdlet))
        arguments = lexed[start + 1 :]
        position = next(i for i, t in enumerate(arguments) if t == ("word", parameter))
        assert arguments[position + 1] == ("string", name)
        # The rest of the command is the other parameters, then -WhatIf:$WhatIf -ErrorAction Stop
        # and the end of the line.
        rest = arguments[position + 2 :]
        end = next(i for i, t in enumerate(rest) if t[0] == "newline")
        assert rest[end - 3 : end] == [("word", "-WhatIf:$WhatIf"), ("word", "-ErrorAction"), ("word", "Stop")]
        assert all(kind in ("word", "string") for kind, _ in rest[: end - 3])
        assert all(value.startswith("-") for kind, value in rest[: end - 3] if kind == "word")


def test_script_shape() -> None:
    script = render_script([hostile_plan("uccx")])
    lines = script.splitlines()
    code = [line.strip() for line in lines]
    assert next(line for line in lines if not line.startswith("#")) == "param([switch]$WhatIf)"
    changes = [line for line in code if line.startswith(("Set-", "New-", "Add-"))]
    assert changes and all(
        line.endswith((f"-WhatIf:$WhatIf {STOP}", f"-WhatIf:$WhatIfRemote {STOP}")) for line in changes
    )
    remote = [line for line in code if line.startswith("Invoke-Command")]
    assert remote and all(line.endswith(f" {STOP} -ScriptBlock {{") for line in remote)
    assert f"Set-ImapSettings -Server 'EX01' -MaxConnectionsPerUser '2400' -WhatIf:$WhatIf {STOP}" in code
    assert "# UCCX-IMAP-004 (critical): IMAP MaxConnectionsPerUser admits every agent on the one UCCX account" in lines
    assert "-IMAPMaxConcurrency $null" in script
    # The registry value goes to its server as arguments of a fixed script block.
    i = code.index(f"Invoke-Command -ComputerName 'EX01' {STOP} -ScriptBlock {{")
    assert code[i + 2].startswith("New-ItemProperty -Path $Path -Name $Name")
    assert code[i + 2].endswith(f"-WhatIf:$WhatIfRemote {STOP}")
    assert code[i + 3].startswith("} -ArgumentList 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\MSExchangeIS")
    assert code[i + 3].endswith("'255', $WhatIf.IsPresent")


def test_each_change_stops_the_script_with_a_message_naming_it() -> None:
    lines = render_script([hostile_plan("uccx")]).splitlines()
    i = lines.index(f"    Set-ImapSettings -Server 'EX01' -MaxConnectionsPerUser '2400' -WhatIf:$WhatIf {STOP}")
    assert lines[i - 1 : i + 5] == [
        "try {",
        lines[i],
        "}",
        "catch {",
        "    throw ('UCCX-IMAP-004 (IMAP settings on EX01) failed: ' + $_)",
        "}",
    ]
    # Every command of the script is inside such a try: count them against the changes' steps.
    tries = sum(1 for line in lines if line.strip() == "try {")
    throws = [line.strip() for line in lines if line.strip().startswith("throw (")]
    assert tries == len(throws) == len(build_steps(hostile_plan("uccx").changes))
    # Restarts stay commented out, and carry -ErrorAction Stop for when an admin runs them.
    restarts = [line for line in lines if "Restart-Service" in line]
    assert all(line.startswith("# ") and line.count(STOP) == 2 for line in restarts)


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_check_or_resource_is_one_literal_in_the_failure_message(value: str) -> None:
    plan = hostile_plan("uccx")
    imap = next(c for c in plan.changes if c.kind is ChangeKind.IMAP)
    plan.changes = [replace(imap, check=value, resource=value)]
    script = render_script([plan])
    lexed = tokens(script)
    at = lexed.index(("word", "throw"))
    assert lexed[at + 1 : at + 5] == [
        ("word", "("),
        ("string", failure_message(plan.changes)),
        ("word", "+"),
        ("word", "$_)"),
    ]
    # Shown on one line: a line break in a name cannot end the literal's line or start code.
    message = failure_message(plan.changes)
    assert "\n" not in message and "\r" not in message
    assert message == f"{comment_text(value)} ({comment_text(value)}) failed: "


def test_the_plan_command_writes_ps1(tmp_path: Path) -> None:
    from compliance.reporters.ps1 import render

    change = Change(
        check="UCCX-IMAP-004",
        title="t",
        severity="high",
        resource="IMAP settings on EX01",
        identity="EX01",
        setting="MaxConnectionsPerUser",
        current=16,
        desired=2400,
        requirement="at least 2400",
        action=Action.UPDATE,
        server="EX01",
        kind=ChangeKind.IMAP,
    )
    plan = Plan("b", "b.yaml", "0" * 64, "test", changes=[change])
    assert f"Set-ImapSettings -Server 'EX01' -MaxConnectionsPerUser '2400' -WhatIf:$WhatIf {STOP}" in render([plan])


def test_a_bidi_override_is_shown_in_comments_and_named_above_the_command_that_must_keep_it() -> None:
    """Trojan Source: a U+202E in a name would reorder the line a reviewer reads. Comments and the
    failure message show it as ``\\u202e``; the command keeps the name exactly (Exchange would not
    find the mailbox otherwise), under a note naming the character."""
    name = "uccx\u202e)eurt$ eslaf$ ,ecnerefnoC- ;"
    script = render_script([hostile_plan(name)])
    lines = script.splitlines()
    assert all("\u202e" not in line for line in lines if line.lstrip().startswith("#"))
    assert any("mailbox uccx\\u202e" in line for line in lines if line.startswith("#"))
    at = next(i for i, line in enumerate(lines) if "Set-Mailbox" in line and not line.lstrip().startswith("#"))
    assert quote(name) in lines[at]  # the exact name, one literal
    notes = [line for line in lines[:at] if line.startswith("# Note: a value of Set-Mailbox below holds")]
    assert notes and "\\u202e" in notes[-1]
    assert "\u202e" not in failure_message(hostile_plan(name).changes)


def test_plain_names_get_no_note() -> None:
    assert "# Note:" not in render_script([hostile_plan("uccx")])
