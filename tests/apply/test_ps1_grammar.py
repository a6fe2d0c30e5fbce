"""Every ps1 script the tool writes, parsed by a real PowerShell grammar (tree-sitter-powershell).

The property: for any plan (hypothesis-generated names and values, any text), the writer either
refuses in one line, exactly when it must (a parameter name its cmdlet does not take, a value
holding NUL), or writes a script that parses with no ERROR/MISSING node in which every statement is
one of: the ``param`` block, the ``$ErrorActionPreference`` assignment, the ``if (-not $WhatIf)``
wrapper, or one step: ``try { <commands> } catch { throw ('<message>' + $_) }``, where each command
is ONE command on the allow-list with the expected parameters, each value ONE verbatim string whose
decoded text is the value (or ``$null``/``$true``/``$false``), then ``-WhatIf`` and
``-ErrorAction Stop`` (a host write: on ``Invoke-Command`` and on the cmdlet in its block), and the
message is ONE verbatim string naming the step's checks. Every ``#`` line is one comment node. The
grammar treats only ``'`` as a quote, so the decoder also insists that each of PowerShell's five
single-quote characters inside a literal is doubled: the real tokenizer ends a string at any one
of them alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import tree_sitter
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from compliance import parameters
from compliance.apply.commands import build_steps
from compliance.apply.ps1 import comment_text, failure_message, render_script
from compliance.cmdlet import SINGLE_QUOTES, CommandSpec
from compliance.errors import InputError
from compliance.kinds import CHANGE_HANDLERS
from compliance.pipeline import plan_folder
from compliance.plan import Action, Change, ChangeKind, Finding, Plan, Unreadable
from compliance.reporters.ps1 import render
from tests.psgrammar import PARSER, parse, text, walk

ROOT = Path(__file__).resolve().parents[2]

# The cmdlets a remediation script may run: what the kinds send forward (not their Remove- undo),
# and Invoke-Command for host writes.
ALLOWED = {
    cmdlet
    for kind in CHANGE_HANDLERS.values()
    for cmdlet in kind.parameters
    if cmdlet.startswith(("Set-", "New-", "Add-"))
} | {"Invoke-Command"}
HEADER_ASSIGNMENT = "$ErrorActionPreference = 'Stop'"


# --- the decoder ----------------------------------------------------------------------------------


def only(node: tree_sitter.Node, *types: str) -> tree_sitter.Node:
    """The one named child of ``node``, which must be of one of ``types``."""
    children = node.named_children
    assert len(children) == 1 and children[0].type in types, (node.type, [c.type for c in children])
    return children[0]


def decode_literal(node: tree_sitter.Node) -> str:
    """A verbatim string as PowerShell reads it: every quote character inside must be doubled."""
    assert node.type == "string_literal"
    only(node, "verbatim_string_characters")
    raw = text(node)
    assert len(raw) >= 2 and raw[0] == raw[-1] == "'", raw
    out, i, body = [], 0, raw[1:-1]
    while i < len(body):
        if body[i] in SINGLE_QUOTES:
            assert i + 1 < len(body) and body[i + 1] in SINGLE_QUOTES, f"an undoubled quote ends the string: {raw!r}"
            out.append(body[i])
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


def value(node: tree_sitter.Node) -> Any:
    """One argument: a single unary expression holding one string literal or $null/$true/$false."""
    inner = only(node, "unary_expression") if node.type == "array_literal_expression" else node
    assert inner.type == "unary_expression", inner.type
    leaf = only(inner, "string_literal", "variable")
    if leaf.type == "string_literal":
        return decode_literal(leaf)
    return Variable(text(leaf))


@dataclass(frozen=True)
class Variable:
    name: str


@dataclass(frozen=True)
class Parsed:
    cmdlet: str
    parameters: list[tuple[str, Any]]
    guarded: bool  # inside ``if (-not $WhatIf) { }``
    message: str = ""  # what the step's catch throws, before the error


def command_of(statement: tree_sitter.Node) -> tree_sitter.Node:
    """A pipeline that is exactly one command (no pipes, no chains)."""
    assert statement.type == "pipeline", statement.type
    chain = only(statement, "pipeline_chain")
    return only(chain, "command")


def arguments(command: tree_sitter.Node) -> tuple[str, list[tuple[str, tree_sitter.Node]]]:
    name = command.child_by_field_name("command_name")
    elements = command.child_by_field_name("command_elements")
    assert name is not None and elements is not None
    pairs: list[tuple[str, tree_sitter.Node]] = []
    pending: str | None = None
    for child in elements.named_children:
        if child.type == "command_argument_sep":
            continue
        if child.type == "command_parameter":
            assert pending is None, f"a parameter without a value: {pending}"
            pending = text(child)
            assert re.fullmatch(r"-[A-Za-z_][A-Za-z0-9_]*", pending), pending
        else:
            assert pending is not None, f"a positional argument: {text(child)!r}"
            pairs.append((pending[1:], child))
            pending = None
    assert pending is None
    return text(name), pairs


def stops(pairs: list[tuple[str, tree_sitter.Node]]) -> list[tuple[str, tree_sitter.Node]]:
    """The pairs before the last one, which must be ``-ErrorAction Stop``."""
    assert pairs and pairs[-1][0] == "ErrorAction", [n for n, _ in pairs]
    assert pairs[-1][1].type == "generic_token" and text(pairs[-1][1]) == "Stop", text(pairs[-1][1])
    return pairs[:-1]


def simple_command(statement: tree_sitter.Node, guarded: bool) -> Parsed:
    cmdlet, pairs = arguments(command_of(statement))
    assert cmdlet in ALLOWED, cmdlet
    if cmdlet == "Invoke-Command":
        return remote_command(pairs, guarded)
    pairs = stops(pairs)
    assert [n for n, _ in pairs][-1] == "WhatIf" and value(pairs[-1][1]) == Variable("$WhatIf")
    return Parsed(cmdlet, [(n, value(v)) for n, v in pairs[:-1]], guarded)


def remote_command(pairs: list[tuple[str, tree_sitter.Node]], guarded: bool) -> Parsed:
    """``Invoke-Command -ComputerName 'S' -ErrorAction Stop -ScriptBlock { param($A, ..., $WhatIfRemote)
    Cmd -A $A ... -WhatIf:$WhatIfRemote -ErrorAction Stop } -ArgumentList 'a', ..., $WhatIf.IsPresent``:
    the values only as arguments."""
    assert [n for n, _ in pairs] == ["ComputerName", "ErrorAction", "ScriptBlock", "ArgumentList"]
    stops(pairs[:2])
    server = value(pairs[0][1])
    block = only(only(pairs[2][1], "unary_expression"), "script_block_expression")
    script = only(block, "script_block")
    param_block, body = script.named_children
    assert param_block.type == "param_block" and body.type == "script_block_body"
    names = [text(only(p, "variable")) for p in only(param_block, "parameter_list").named_children]
    assert names[-1] == "$WhatIfRemote"
    [inner] = only(body, "statement_list").named_children
    cmdlet, inner_pairs = arguments(command_of(inner))
    assert cmdlet in ALLOWED and cmdlet != "Invoke-Command", cmdlet
    assert [(n, value(v)) for n, v in stops(inner_pairs)] == [
        *((name[1:], Variable(name)) for name in names[:-1]),
        ("WhatIf", Variable("$WhatIfRemote")),
    ]
    items = pairs[3][1]
    assert items.type == "array_literal_expression"
    values = [child for child in items.named_children]
    last = only(values[-1], "member_access")
    assert text(last) == "$WhatIf.IsPresent"
    assert len(values) - 1 == len(names) - 1
    decoded = [value(v) for v in values[:-1]]
    return Parsed(f"[{server}] {cmdlet}", list(zip((n[1:] for n in names[:-1]), decoded, strict=True)), guarded)


def failure_throw(clause: tree_sitter.Node) -> str:
    """``catch { throw ('<message>' + $_) }``: a bare catch whose one statement throws ONE verbatim
    string joined to the error. Returns the decoded message."""
    assert clause.type == "catch_clause"
    block = only(clause, "statement_block")  # no catch type list: every error stops the script
    statement = only(only(block, "statement_list"), "flow_control_statement")
    literals = [n for n in walk(statement) if n.type == "string_literal"]
    assert len(literals) == 1, [text(n) for n in literals]
    literal = literals[0]
    assert [text(n) for n in walk(statement) if n.type == "variable"] == ["$_"]
    assert text(statement) == f"throw ({text(literal)} + $_)", text(statement)
    return decode_literal(literal)


def step(statement: tree_sitter.Node, guarded: bool) -> list[Parsed]:
    """``try { <commands> } catch { throw (...) }``: the commands, each with the step's message."""
    assert statement.type == "try_statement", statement.type
    parts = statement.named_children  # no finally: nothing runs after a failed change
    assert [c.type for c in parts] == ["statement_block", "catch_clauses"], [c.type for c in parts]
    block, clauses = parts
    message = failure_throw(only(clauses, "catch_clause"))
    commands = [c for c in only(block, "statement_list").named_children if c.type != "comment"]
    assert commands, "an empty try"
    return [replace(simple_command(c, guarded), message=message) for c in commands]


def statements(script: str) -> list[Parsed]:
    """The script's commands, after checking that nothing else is in it."""
    root = parse(script)
    assert root.type == "program"
    lines = script.split("\n")
    comments = [n for n in walk(root) if n.type == "comment"]
    # Every '#' line is one whole comment node, and every comment is a '#' line (or the header's
    # trailing one): no code can escape a comment, no comment can hide code.
    comment_rows = {n.start_point[0] for n in comments}
    for node in comments:
        assert node.start_point[0] == node.end_point[0]
        assert text(node) == lines[node.start_point[0]][node.start_point[1] :]
    # A line inside a multi-line string literal is the value's text, not a line of the script.
    inside = {
        row for n in walk(root) if n.type == "string_literal" for row in range(n.start_point[0] + 1, n.end_point[0] + 1)
    }
    hash_rows = {i for i, line in enumerate(lines) if line.lstrip().startswith("#") and i not in inside}
    assert hash_rows <= comment_rows
    assert comment_rows - hash_rows <= {i for i, line in enumerate(lines) if line.startswith(HEADER_ASSIGNMENT)}
    parsed: list[Parsed] = []
    header_seen = False
    for top in root.named_children:
        if top.type == "comment":
            continue
        if top.type == "param_block":
            assert text(top) == "param([switch]$WhatIf)"
            continue
        assert top.type == "statement_list", top.type
        for statement in top.named_children:
            if statement.type == "comment":
                continue
            if statement.type == "if_statement":
                condition = statement.named_children
                assert [c.type for c in condition] == ["pipeline", "statement_block"]
                assert text(condition[0]) == "-not $WhatIf"
                for inner in only(condition[1], "statement_list").named_children:
                    if inner.type != "comment":
                        parsed += step(inner, guarded=True)
                continue
            if not header_seen:
                header_seen = True
                [assignment] = statement.named_children
                assert assignment.type == "assignment_expression"
                leaves = [n for n in walk(assignment) if n.child_count == 0]
                assert [text(n) for n in leaves if n.type != "comment"] == ["$ErrorActionPreference", "=", "'Stop'"]
                assert [n.type for n in leaves if n.type == "comment"] == ["comment"]
                continue
            parsed += step(statement, guarded=False)
    assert header_seen
    return parsed


# --- what the script must say: the structured commands ------------------------------------------


def shown(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return Variable({None: "$null", True: "$true", False: "$false"}[value])
    return str(value)


def expected(plans: list[Plan]) -> list[Parsed]:
    out = []
    for plan in plans:
        for built in build_steps(plan.changes):
            changes = [plan.changes[i] for i in built.changes]
            message = failure_message(changes, plan.target)
            # The message names every check of the step, and the target, as they read on one line.
            for change in changes:
                assert comment_text(change.check) in message and comment_text(change.resource) in message
            assert comment_text(plan.target or "") in message and message.endswith(" failed: ")
            for command in built.commands:
                out.append(expected_command(command, built.needs_created, message))
    return out


def expected_command(command: CommandSpec, guarded: bool, message: str) -> Parsed:
    cmdlet = f"[{command.server}] {command.cmdlet}" if command.server else command.cmdlet
    return Parsed(cmdlet, [(n, shown(v)) for n, v in command.parameters.items()], guarded, message)


def assert_script_says_what_the_plan_says(plans: list[Plan]) -> str:
    script = render_script(plans)
    assert statements(script) == expected(plans)
    return script


# --- the shipped examples -----------------------------------------------------------------------

# Each folder with the baseline of its version: the 2010 SP3 folders and the 2019 one.
EXAMPLES = [
    ("uccx-exchange2013" if folder.startswith("exchange2019") else "uccx-exchange2010-sp1", folder)
    for folder in sorted(p.name for p in (ROOT / "examples/facts").iterdir() if p.is_dir())
]


@pytest.mark.parametrize(("baseline", "folder"), EXAMPLES)
def test_every_shipped_example_script_parses_and_says_what_its_plan_says(baseline: str, folder: str) -> None:
    plan = plan_folder(ROOT / f"baselines/{baseline}.yaml", ROOT / "examples/facts" / folder, {})
    script = assert_script_says_what_the_plan_says([plan])
    assert render([plan]) == script  # the ps1 reporter is this writer


def test_the_defaults_script_has_every_kind_of_statement() -> None:
    plan = plan_folder(
        ROOT / "baselines/uccx-exchange2010-sp1.yaml", ROOT / "examples/facts/exchange2010-sp3-defaults", {}
    )
    parsed = statements(render_script([plan]))
    cmdlets = {p.cmdlet for p in parsed}
    assert {"New-ThrottlingPolicy", "Set-ThrottlingPolicy", "Set-Mailbox", "Add-ADPermission"} <= cmdlets
    assert {"Set-ImapSettings", "Set-ReceiveConnector", "[EX01] New-ItemProperty"} <= cmdlets
    assert any(p.guarded for p in parsed) and any(not p.guarded for p in parsed)
    imap = next(p for p in parsed if p.cmdlet == "Set-ImapSettings")
    assert imap.parameters == [("Server", "EX01"), ("MaxConnections", "2400")]
    # Each step stops the script with its own message: the check and the resource it changes.
    assert imap.message == "UCCX-IMAP-003 (IMAP settings on EX01) failed: "
    store = next(p for p in parsed if p.cmdlet == "[EX01] New-ItemProperty")
    assert store.message == "UCCX-STORE-001 (registry on EX01) failed: "
    merged = next(p for p in parsed if p.cmdlet == "Set-ThrottlingPolicy")
    assert merged.message.startswith("UCCX-THR-001, UCCX-THR-002, ") and merged.message.endswith(
        " (throttling policy UCCX) failed: "
    )


def wrapped(command: str, catch: str = "throw ('X (y) failed: ' + $_)") -> str:
    return f"try {{\n    {command}\n}}\ncatch {{\n    {catch}\n}}\n"


GOOD_STEP = "Set-Mailbox -Identity 'x' -WhatIf:$WhatIf -ErrorAction Stop"
GOOD_REMOTE = (
    "Invoke-Command -ComputerName 'EX01' -ErrorAction Stop -ScriptBlock {\n"
    "    param($Path, $WhatIfRemote)\n"
    "    New-ItemProperty -Path $Path -WhatIf:$WhatIfRemote -ErrorAction Stop\n"
    "} -ArgumentList 'p', $WhatIf.IsPresent"
)


def test_the_checker_accepts_the_shapes_it_rejects_the_neighbours_of() -> None:
    good = render_script([Plan("b", "b.yaml", "0" * 64, "s")])
    assert statements(good + wrapped(GOOD_STEP)) == [
        Parsed("Set-Mailbox", [("Identity", "x")], False, "X (y) failed: ")
    ]
    assert statements(good + wrapped(GOOD_REMOTE))[0].parameters == [("Path", "p")]


@pytest.mark.parametrize(
    "bad",
    [
        # Injected code, an undoubled typographic quote, a comment that ends early, an expression, NUL.
        wrapped("Set-Mailbox -Identity 'x' -WhatIf:$WhatIf -ErrorAction Stop; Remove-Mailbox -Identity 'ceo'"),
        wrapped("Set-Mailbox -Identity 'a\u2019; Remove-Mailbox ceo; \u2018' -WhatIf:$WhatIf -ErrorAction Stop"),
        "# a comment\nRemove-Mailbox -Identity 'ceo'\n",
        wrapped("Set-Mailbox -Identity ('x' + 'y') -WhatIf:$WhatIf -ErrorAction Stop"),
        wrapped("Set-Mailbox -Identity 'x\0' -WhatIf:$WhatIf -ErrorAction Stop"),
        # A change outside try/catch, without -ErrorAction Stop, or with another action.
        GOOD_STEP + "\n",
        wrapped("Set-Mailbox -Identity 'x' -WhatIf:$WhatIf"),
        wrapped("Set-Mailbox -Identity 'x' -WhatIf:$WhatIf -ErrorAction Continue"),
        wrapped("Set-Mailbox -Identity 'x' -WhatIf:$WhatIf -ErrorAction $ErrorActionPreference"),
        wrapped(GOOD_REMOTE.replace(" -ErrorAction Stop -ScriptBlock", " -ScriptBlock")),
        wrapped(GOOD_REMOTE.replace(" -WhatIf:$WhatIfRemote -ErrorAction Stop", " -WhatIf:$WhatIfRemote")),
        # A catch that swallows, goes on, writes instead of stopping, or builds its message from code.
        wrapped(GOOD_STEP, catch=""),
        wrapped(GOOD_STEP, catch="Write-Warning ('X failed: ' + $_)"),
        wrapped(GOOD_STEP, catch="throw ('X failed: ' + $_); Remove-Mailbox -Identity 'ceo'"),
        wrapped(GOOD_STEP, catch="throw ('X ' + $(Remove-Mailbox -Identity 'ceo') + $_)"),
        wrapped(GOOD_STEP, catch='throw ("X $env:USERNAME failed: " + $_)'),
        wrapped(GOOD_STEP, catch="throw ('X \u2019 failed: ' + $_)"),
        wrapped(GOOD_STEP).replace("catch {", "catch [System.Exception] {"),
        wrapped(GOOD_STEP) + "finally {\n    Remove-Mailbox -Identity 'ceo'\n}\n",
    ],
)
def test_the_checker_rejects_what_it_must(bad: str) -> None:
    """The decoder is not a rubber stamp: each of these is one small step from the real shape."""
    good = render_script([Plan("b", "b.yaml", "0" * 64, "s")])
    with pytest.raises(AssertionError):
        statements(good + bad)


# --- the property -------------------------------------------------------------------------------

QUOTES = "'\u2018\u2019\u201a\u201b"
NASTY = st.sampled_from([*QUOTES, "$", "`", ";", "#", "\n", "\r", "\x1b", "}", "{", "(", "<#", "#>", "\u2028"])
# NUL is left to st.characters(), which draws it now and then: a plan with one is always refused.
CHARS = st.one_of(st.characters(), NASTY)
TEXT = st.lists(CHARS, max_size=16).map("".join)
VALUE = st.one_of(st.none(), st.booleans(), st.integers(), TEXT, st.lists(TEXT, max_size=3))
SETTABLE = {
    ChangeKind.IMAP: parameters.IMAP_SETTINGS,
    ChangeKind.RECEIVE_CONNECTOR: parameters.RECEIVE_CONNECTOR_SETTINGS,
    ChangeKind.THROTTLING_SETTING: parameters.THROTTLING_SETTINGS,
}
# tree-sitter-powershell's command_parameter token takes no digit (``-X509CertificateName`` is an
# ERROR to it, while PowerShell's tokenizer reads any non-separator character into a parameter
# name). The three documented settings with a digit are therefore not drawn for the property;
# test_the_grammar_cannot_read_a_digit_in_a_parameter_name pins that limitation down.
GRAMMAR_UNREADABLE = {"EnableExactRFC822Size", "SmtpUtf8Enabled", "X509CertificateName"}


def any_case(names: frozenset[str]) -> st.SearchStrategy[str]:
    cases: list[Callable[[str], str]] = [str, str.lower, str.upper]
    return st.tuples(st.sampled_from(sorted(names)), st.sampled_from(cases)).map(lambda pair: pair[1](pair[0]))


@st.composite
def changes(draw: st.DrawFn) -> Change:
    kind = draw(st.sampled_from(list(ChangeKind)))
    setting: str | None
    if kind in SETTABLE:
        # Mostly a known name (so most plans are written), sometimes any text (so they are refused).
        known = any_case(SETTABLE[kind] - GRAMMAR_UNREADABLE)
        setting = draw(st.one_of(known, known, known, TEXT))
    elif kind is ChangeKind.REGISTRY:
        setting = draw(TEXT)  # the registry value's name: a value, any text
    elif kind is ChangeKind.MAILBOX_POLICY:
        setting = "ThrottlingPolicy"
    elif kind is ChangeKind.AD_PERMISSION:
        setting = "ExtendedRights"
    else:
        setting = None
    return Change(
        check=draw(TEXT),
        title=draw(TEXT),
        severity=draw(TEXT),
        resource=draw(TEXT),
        identity=draw(TEXT),
        setting=setting,
        current=draw(VALUE),
        desired=draw(VALUE),
        requirement=draw(TEXT),
        action=draw(st.sampled_from(list(Action))),
        server=draw(TEXT),  # registry writes need one; others carry it for restarts
        requires_restart=tuple(draw(st.lists(TEXT, max_size=2))),
        kind=kind,
        principal=draw(st.lists(CHARS, min_size=1, max_size=16).map("".join)),  # an AD change names its user
    )


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    plan = Plan(draw(TEXT), draw(TEXT), draw(TEXT), draw(TEXT), target=draw(st.none() | TEXT))
    plan.changes = draw(st.lists(changes(), max_size=5))
    plan.findings = [
        Finding(check=draw(TEXT), title="t", severity="low", resource=draw(TEXT), message=draw(TEXT))
        for _ in range(draw(st.integers(0, 2)))
    ]
    plan.unreadable = [
        Unreadable(check=draw(TEXT), resource=draw(TEXT), reason=draw(TEXT)) for _ in range(draw(st.integers(0, 2)))
    ]
    return plan


def test_the_grammar_cannot_read_a_digit_in_a_parameter_name() -> None:
    """Why GRAMMAR_UNREADABLE is left out of the property: the grammar, not the script, fails."""
    assert {n for names in SETTABLE.values() for n in names if re.search(r"\d", n)} == GRAMMAR_UNREADABLE
    for name in sorted(GRAMMAR_UNREADABLE):
        assert PARSER.parse(f"Set-X -{name} $null".encode()).root_node.has_error
        plain = re.sub(r"\d", "N", name)  # the same name without its digit parses
        assert not PARSER.parse(f"Set-X -{plain} $null".encode()).root_node.has_error


def must_refuse(plans: list[Plan]) -> str | None:
    """Whether the writer is right to refuse: a name outside its cmdlet's list, one throttling
    setting twice in a policy, or a NUL or lone surrogate in something written as a literal."""
    for plan in plans:
        seen: set[tuple[str, str]] = set()
        for change in plan.changes:
            if change.kind in SETTABLE and parameters.spelled(SETTABLE[change.kind], change.setting or "") is None:
                return "an unknown parameter"
            if change.kind is ChangeKind.THROTTLING_SETTING:
                key = (change.identity.casefold(), (change.setting or "").casefold())
                if key in seen:
                    return "a throttling setting twice"
                seen.add(key)
        written = [c for step in build_steps(plan.changes) for c in step.commands]
        texts = [str(v) for c in written for v in [c.server or "", *c.parameters.values()] if v is not None]
        if any(ch == "\0" or 0xD800 <= ord(ch) <= 0xDFFF for text in texts for ch in text):
            return "a NUL or a lone surrogate"
    return None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(plans(), min_size=1, max_size=2))
def test_any_plan_is_refused_in_one_line_or_parses_to_exactly_its_commands(generated: list[Plan]) -> None:
    if why := must_refuse(generated):
        with pytest.raises(InputError) as refused:
            render_script(generated)
        assert "\n" not in str(refused.value)
        event(f"refused in one line: {why}")
        return
    assert_script_says_what_the_plan_says(generated)
    event(f"parsed, {sum(len(p.changes) for p in generated)} change(s)")


def _one_change(**fields: Any) -> Plan:
    base = plan_folder(ROOT / "baselines/uccx-exchange2010-sp1.yaml", ROOT / "examples/facts" / EXAMPLES[1][1], {})
    imap = next(c for c in base.changes if c.kind is ChangeKind.IMAP)
    return Plan("b", "b.yaml", "0" * 64, "s", changes=[replace(imap, **fields)])


@pytest.mark.parametrize("fields", [{"identity": "EX\x0001"}, {"desired": "24\x0000"}, {"desired": "\ud800"}])
def test_a_nul_in_a_written_value_is_refused_in_one_line(fields: dict[str, Any]) -> None:
    plan = _one_change(**fields)
    with pytest.raises(InputError, match=r"^refusing to write Set-ImapSettings into a script: a value holds a NUL or"):
        render_script([plan])
    # In a comment they are shown, not refused: the script is written.
    assert "\\x00 \\ud800" in render_script([_one_change(title="a\x00 \ud800b")])


def test_a_throttling_setting_twice_in_one_policy_is_refused_in_one_line() -> None:
    base = plan_folder(ROOT / "baselines/uccx-exchange2010-sp1.yaml", ROOT / "examples/facts" / EXAMPLES[1][1], {})
    first = next(c for c in base.changes if c.kind is ChangeKind.THROTTLING_SETTING)
    plan = Plan("b", "b.yaml", "0" * 64, "s", changes=[first, replace(first, setting=(first.setting or "").lower())])
    with pytest.raises(InputError, match=r"is set twice in one policy$"):
        render_script([plan])
