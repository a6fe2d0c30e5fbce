"""The collector script parsed by a real PowerShell grammar (tree-sitter-powershell), then walked.

What the text-level checks in test_collector_script.py cannot see: the script parses with no ERROR
or MISSING node; every read of a resource kind (and every ``Invoke-Command``) runs with
``-ErrorAction Stop`` inside error handling (a ``try`` or ``Save-Facts``' script block); every
``catch`` either reports or rethrows what it does not recognise, and one that compares an error id
unwraps PowerShell 2.0's ``ActionPreferenceStopException`` first; ``Get-WinEvent`` asks one provider
at a time and ``Get-Service`` one service at a time, so that a provider or service a server does not
have is "none" rather than a lost file; and no node is beyond PowerShell 2.0. Each check is shown to
reject the shape it exists for (the previous fragments are kept here for that).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import tree_sitter

from compliance.facts import collector
from compliance.kinds import KINDS
from tests.facts.test_collector_script import ALLOWED as script_allow_list
from tests.psgrammar import ancestors, parse, text, walk

SCRIPT = collector.script()
ROOT = parse(SCRIPT)
APSE = "[System.Management.Automation.ActionPreferenceStopException]"

# The text-level allow-list, and what only the tree shows as a command: the script's own function,
# and Save-Facts running its script block (& $Read), each of which is in this file and walked here.
ALLOWED = script_allow_list | {"Save-Facts", "$Read"}


# --- reading the tree -----------------------------------------------------------------------------


def commands(root: tree_sitter.Node) -> list[tree_sitter.Node]:
    return [n for n in walk(root) if n.type == "command"]


def name_of(command: tree_sitter.Node) -> str:
    name = command.child_by_field_name("command_name")
    assert name is not None
    return text(name)


def parameters(command: tree_sitter.Node) -> list[tuple[str, str]]:
    """``(-Name, the value's text)`` for each named parameter; a switch's value is ``""``."""
    elements = command.child_by_field_name("command_elements")
    items = [c for c in (elements.named_children if elements else []) if c.type != "command_argument_sep"]
    out: list[tuple[str, str]] = []
    for i, item in enumerate(items):
        if item.type == "command_parameter":
            following = items[i + 1] if i + 1 < len(items) and items[i + 1].type != "command_parameter" else None
            out.append((text(item).rstrip(":").lower(), text(following) if following is not None else ""))
    return out


def stops_on_error(command: tree_sitter.Node) -> bool:
    return ("-erroraction", "Stop") in parameters(command)


def handled(command: tree_sitter.Node) -> bool:
    """Inside a ``try { }`` block, or inside the script block handed to ``Save-Facts`` (whose body is
    a try/catch: see test_save_facts_reports_a_failed_read_and_writes_no_file)."""
    for node in ancestors(command):
        if node.type == "statement_block" and node.parent is not None and node.parent.type == "try_statement":
            return True
        if node.type == "command" and name_of(node) == "Save-Facts":
            return True
    return False


def catches(root: tree_sitter.Node) -> list[tree_sitter.Node]:
    return [n for n in walk(root) if n.type == "catch_clause"]


def catch_problem(clause: tree_sitter.Node) -> str | None:
    """Why this catch is not error handling, or None: it must report (Write-Warning) or rethrow;
    one that compares an error id must read it from the unwrapped record, never from ``$_``."""
    body = list(walk(clause))
    reports = any(n.type == "command" and name_of(n) == "Write-Warning" for n in body)
    rethrows = any(n.type == "flow_control_statement" and text(n) == "throw" for n in body)
    if not (reports or rethrows):
        return "swallows the error"
    ids = [n for n in body if n.type == "member_access" and text(n).endswith(".FullyQualifiedErrorId")]
    if not ids:
        return None
    if any(text(n).startswith("$_.") for n in ids):
        return "reads the id of $_, which PowerShell 2.0 wraps"
    unwrap = [
        n
        for n in body
        if n.type == "comparison_expression"
        and any(c.type == "comparison_operator" and text(c) == "-is" for c in n.children)
        and text(n).endswith(APSE)
    ]
    inner = [n for n in body if n.type == "member_access" and text(n).endswith(".Exception.ErrorRecord")]
    if not unwrap or not inner:
        return "compares an id without unwrapping ActionPreferenceStopException"
    if max(n.start_byte for n in [*unwrap, *inner]) > min(n.start_byte for n in ids):
        return "unwraps after comparing"
    return None


def remote_block(cmdlet: str, root: tree_sitter.Node = ROOT) -> tree_sitter.Node:
    """The ``Invoke-Command`` whose script block runs ``cmdlet``."""
    [found] = [
        c
        for c in commands(root)
        if name_of(c) == "Invoke-Command" and any(name_of(i) == cmdlet for i in commands(c) if i is not c)
    ]
    return found


def loop_over(variable: str, node: tree_sitter.Node) -> set[str]:
    """The literals of the ``foreach ($variable in @(...))`` around ``node``."""
    for parent in ancestors(node):
        if parent.type == "foreach_statement":
            loop_var = next(c for c in parent.named_children if c.type == "variable")
            if text(loop_var).lower() == variable.lower():
                header = parent.named_children[1]
                return {text(s).strip("'") for s in walk(header) if s.type == "string_literal"}
    return set()


def one_at_a_time(cmdlet: str, root: tree_sitter.Node, value_of: Callable[[tree_sitter.Node], str]) -> set[str]:
    """The names ``cmdlet`` is asked for, when it asks for ONE per call (a loop variable); else empty."""
    [call] = [c for c in commands(remote_block(cmdlet, root)) if name_of(c) == cmdlet]
    value = value_of(call)
    return loop_over(value, call) if re.fullmatch(r"\$\w+", value) else set()


def provider_value(call: tree_sitter.Node) -> str:
    """``ProviderName = ...`` of the hashtable assigned to the variable passed to ``-FilterHashtable``."""
    [(_, variable)] = [p for p in parameters(call) if p[0] == "-filterhashtable"]
    block = next(n for n in ancestors(call) if n.type == "script_block")
    [assigned] = [
        a for a in walk(block) if a.type == "assignment_expression" and text(a.named_children[0]).strip() == variable
    ]
    [entry] = [e for e in walk(assigned) if e.type == "hash_entry" and text(e).startswith("ProviderName")]
    return text(entry.named_children[-1]).strip()


def service_value(call: tree_sitter.Node) -> str:
    [(_, value)] = [p for p in parameters(call) if p[0] == "-name"]
    return value


def _member(node: tree_sitter.Node) -> str:
    member = next((c for c in node.named_children if c.type == "member_name"), None)
    return text(member).lower() if member is not None else ""


def _command_is(*names: str) -> Callable[[tree_sitter.Node], bool]:
    return lambda n: n.type == "command" and name_of(n).lower() in names


def _parameter(cmdlet: str, parameter: str, value: str | None = None) -> Callable[[tree_sitter.Node], bool]:
    def test(n: tree_sitter.Node) -> bool:
        if n.type != "command" or (cmdlet != "*" and name_of(n).lower() != cmdlet):
            return False
        return any(p == parameter and (value is None or v.strip("'\"").lower() == value) for p, v in parameters(n))

    return test


# Each construct beyond PowerShell 2.0, as a test on one node, with why it is banned.
BEYOND_2: list[tuple[Callable[[tree_sitter.Node], bool], str]] = [
    (_command_is("convertto-json", "convertfrom-json"), "JSON cmdlets are 3.0"),
    (_command_is("invoke-restmethod"), "Invoke-RestMethod is 3.0"),
    (_command_is("invoke-webrequest"), "Invoke-WebRequest is 3.0"),
    (_command_is("get-ciminstance"), "CIM cmdlets are 3.0"),
    (_parameter("*", "-depth"), "-Depth: Export-Clixml -Depth and ConvertTo-Json -Depth are 3.0"),
    (_parameter("foreach-object", "-parallel"), "ForEach-Object -Parallel is 7.0"),
    (_parameter("*", "-erroraction", "ignore"), "-ErrorAction Ignore is 3.0"),
    (lambda n: n.type == "type_identifier" and text(n).lower() == "ordered", "[ordered] is 3.0"),
    (lambda n: n.type == "type_identifier" and text(n).lower() == "pscustomobject", "[pscustomobject] is 3.0"),
    (lambda n: n.type == "comparison_operator" and bool(re.fullmatch(r"-[ci]?(not)?in", text(n), re.I)), "-in is 3.0"),
    (lambda n: n.type == "variable" and text(n).lower() == "$psitem", "$PSItem is 3.0"),
    (lambda n: n.type == "variable" and text(n).lower().startswith("$using:"), "$using: is 3.0"),
    (
        lambda n: n.type == "invokation_expression" and "::" in [text(c) for c in n.children] and _member(n) == "new",
        "::new() is 5.0",
    ),
    (lambda n: n.type == "invokation_expression" and _member(n) in ("foreach", "where"), ".Where()/.ForEach() are 4.0"),
    (lambda n: n.type == "class_statement", "class is 5.0"),
    (lambda n: n.type == "enum_statement", "enum is 5.0"),
    (lambda n: n.type in ("parallel_statement", "inlinescript_statement"), "workflows are 3.0"),
    (lambda n: n.type == "pipeline_chain_tail", "&& and || are 7.0"),
]


def banned(root: tree_sitter.Node) -> list[str]:
    """Every node beyond PowerShell 2.0: its text and why."""
    return [f"{text(node)[:40]!r}: {why}" for node in walk(root) for test, why in BEYOND_2 if test(node)]


# --- the script -----------------------------------------------------------------------------------


def test_the_script_parses_with_no_error_or_missing_node() -> None:
    assert ROOT.type == "program" and not ROOT.has_error
    # The check can fail: a brace lost from any fragment is an error node.
    with pytest.raises(AssertionError, match="parse errors"):
        parse(SCRIPT.replace("catch {", "catch ", 1))


def test_every_kind_read_is_there_with_error_action_stop_inside_error_handling() -> None:
    reads = {kind.cmdlet for kind in KINDS.values()}
    found = {name_of(c) for c in commands(ROOT)}
    assert reads <= found, sorted(reads - found)
    for command in commands(ROOT):
        if name_of(command) in reads or name_of(command) == "Invoke-Command":
            where = f"{name_of(command)} at line {command.start_point[0] + 1}"
            assert stops_on_error(command), f"{where} has no -ErrorAction Stop"
            assert handled(command), f"{where} is outside try/catch and Save-Facts"


def test_the_read_checks_can_fail() -> None:
    def failures(script: str) -> set[str]:
        root = parse(script)
        return {
            name_of(c)
            for c in commands(root)
            if name_of(c) in {k.cmdlet for k in KINDS.values()} and not (stops_on_error(c) and handled(c))
        }

    assert failures(SCRIPT) == set()
    assert failures(SCRIPT + "\nGet-Mailbox -Identity x -ErrorAction Stop\n") == {"Get-Mailbox"}
    assert failures(SCRIPT + "\ntry { Get-Mailbox -Identity x } catch { throw }\n") == {"Get-Mailbox"}
    assert failures(SCRIPT + "\ntry { Get-Mailbox -Identity x -ErrorAction Stop } catch { throw }\n") == set()


def test_only_read_only_commands_are_run() -> None:
    names = {name_of(c) for c in commands(ROOT)}
    assert sorted(n for n in names if not n.startswith("Get-") and n not in ALLOWED) == []
    assert {"Get-WinEvent", "Get-Service", "Get-ADPermission", "Export-Clixml"} <= names


def test_save_facts_reports_a_failed_read_and_writes_no_file() -> None:
    [function] = [n for n in walk(ROOT) if n.type == "function_statement" and "Save-Facts" in text(n)]
    [attempt] = [n for n in walk(function) if n.type == "try_statement"]
    block = attempt.named_children[0]
    assert {name_of(c) for c in commands(block)} >= {"Export-Clixml"}  # the export is inside the try
    [clause] = catches(attempt)
    assert {name_of(c) for c in commands(clause)} == {"Write-Warning"}
    assert re.search(r"\$ErrorActionPreference = 'Stop'", text(function))


def test_every_catch_reports_or_rethrows_and_unwraps_before_comparing_an_id() -> None:
    clauses = catches(ROOT)
    assert len(clauses) >= 4  # Save-Facts, the server list, the organization, Get-WinEvent, Get-Service
    problems = {f"line {c.start_point[0] + 1}: {catch_problem(c)}" for c in clauses if catch_problem(c)}
    assert problems == set()
    comparing = [c for c in clauses if ".FullyQualifiedErrorId" in text(c)]
    assert len(comparing) == 2  # Get-WinEvent's and Get-Service's


PREVIOUS_EVENT_CATCH = """
try { Get-WinEvent -FilterHashtable $filter -ErrorAction Stop }
catch { if ($_.FullyQualifiedErrorId -notlike 'NoMatchingEventsFound*') { throw } }
"""


@pytest.mark.parametrize(
    ("snippet", "problem"),
    [
        (PREVIOUS_EVENT_CATCH, "reads the id of $_, which PowerShell 2.0 wraps"),
        ("try { Get-X -ErrorAction Stop } catch { }", "swallows the error"),
        ("try { Get-X -ErrorAction Stop } catch { $n = 1 }", "swallows the error"),
        (
            "try { Get-X -ErrorAction Stop } catch { $r = $_; if ($r.FullyQualifiedErrorId -ne 'A') { throw } }",
            "compares an id without unwrapping ActionPreferenceStopException",
        ),
        (
            "try { Get-X -ErrorAction Stop } catch { $r = $_; if ($r.FullyQualifiedErrorId -ne 'A') { throw }; "
            f"if ($r.Exception -is {APSE}) {{ $r = $r.Exception.ErrorRecord }} }}",
            "unwraps after comparing",
        ),
        ("try { Get-X -ErrorAction Stop } catch { Write-Warning $_.Exception.Message }", None),
    ],
)
def test_the_catch_check_names_what_is_wrong(snippet: str, problem: str | None) -> None:
    [clause] = catches(parse(snippet))
    assert catch_problem(clause) == problem


# --- the three fixes from issue 11 ----------------------------------------------------------------

PREVIOUS_EVENT_FRAGMENT = """
Invoke-Command -ComputerName $name -ErrorAction Stop -ArgumentList $EventLookbackDays -ScriptBlock {
    param($days)
    $filter = @{
        LogName      = 'Application'
        ProviderName = 'MSExchangeIS', 'MSExchangeTransport'
        Id           = 9646, 1021
        StartTime    = (Get-Date).AddDays(-$days)
    }
    try { Get-WinEvent -FilterHashtable $filter -ErrorAction Stop }
    catch { if ($_.FullyQualifiedErrorId -notlike 'NoMatchingEventsFound*') { throw } }
}
"""
PREVIOUS_SERVICE_FRAGMENT = """
Invoke-Command -ComputerName $name -ErrorAction Stop -ScriptBlock {
    Get-Service -Name 'MSExchangeIS', 'MSExchangeIMAP4', 'MSExchangeIMAP4BE' -ErrorAction SilentlyContinue
}
"""


def test_get_winevent_asks_each_provider_on_its_own() -> None:
    assert one_at_a_time("Get-WinEvent", ROOT, provider_value) == {"MSExchangeIS", "MSExchangeTransport"}
    # The previous fragment asked for both at once: an unregistered one lost the file.
    assert one_at_a_time("Get-WinEvent", parse(PREVIOUS_EVENT_FRAGMENT), provider_value) == set()


def test_get_winevent_treats_only_no_such_event_ids_as_empty() -> None:
    block = remote_block("Get-WinEvent")
    literals = {text(s).strip("'") for s in walk(block) if s.type == "string_literal"}
    # Get-WinEvent's ids (PowerShell's GetEventCommand.cs): no match, no such provider here, the
    # provider does not write to this log. Nothing else is swallowed.
    no_events = {"NoMatchingEventsFound", "NoMatchingProvidersFound", "LogsAndProvidersDontOverlap"}
    assert no_events <= literals
    assert not {s for s in literals if re.fullmatch(r"[A-Z]\w+(Found|Overlap|Denied|Failed)", s)} - no_events
    [clause] = catches(block)
    assert catch_problem(clause) is None and "throw" in text(clause)


def test_get_service_asks_for_imap4be_alone_and_only_no_such_service_is_skipped() -> None:
    names = one_at_a_time("Get-Service", ROOT, service_value)
    assert names == {"MSExchangeIS", "MSExchangeIMAP4", "MSExchangeIMAP4BE"}
    block = remote_block("Get-Service")
    [call] = [c for c in commands(block) if name_of(c) == "Get-Service"]
    assert stops_on_error(call) and handled(call)
    [clause] = catches(block)
    assert catch_problem(clause) is None
    assert "'NoServiceFoundForGivenName'" in text(clause)
    # The previous fragment hid every error (access denied too) behind SilentlyContinue.
    previous = parse(PREVIOUS_SERVICE_FRAGMENT)
    [old] = [c for c in commands(previous) if name_of(c) == "Get-Service"]
    assert not stops_on_error(old) and not handled(old)
    assert one_at_a_time("Get-Service", previous, service_value) == set()


# --- nothing beyond PowerShell 2.0 ----------------------------------------------------------------


def test_nothing_beyond_powershell_2() -> None:
    assert banned(ROOT) == []


@pytest.mark.parametrize(
    ("snippet", "why"),
    [
        ("$a | ConvertTo-Json", "JSON cmdlets are 3.0"),
        ("$o = [ordered]@{ a = 1 }", "[ordered] is 3.0"),
        ("$o = [PSCustomObject]@{ a = 1 }", "[pscustomobject] is 3.0"),
        ("if ($a -in $b) { }", "-in is 3.0"),
        ("if ($a -notin $b) { }", "-in is 3.0"),
        ("$a | Export-Clixml -Path x -Depth 3", "-Depth"),
        ("Invoke-RestMethod -Uri $u", "Invoke-RestMethod is 3.0"),
        ("$PSItem.Name", "$PSItem is 3.0"),
        ("Invoke-Command -ScriptBlock { $using:x }", "$using: is 3.0"),
        ("$b = [System.Text.StringBuilder]::new()", "::new() is 5.0"),
        ("1, 2 | ForEach-Object -Parallel { $_ }", "ForEach-Object -Parallel is 7.0"),
        ("class Foo { [int]$x }", "class is 5.0"),
        ("enum Color { Red }", "enum is 5.0"),
        ("$y = $x.Where({ $_ })", ".Where()/.ForEach() are 4.0"),
        ("Get-X -ErrorAction Ignore", "-ErrorAction Ignore is 3.0"),
        ("Get-X && Get-Y", "&& and || are 7.0"),
        ("Get-CimInstance -ClassName Win32_Service", "CIM cmdlets are 3.0"),
    ],
)
def test_the_powershell_2_check_finds_each_construct(snippet: str, why: str) -> None:
    found = banned(parse(snippet))
    assert len(found) == 1 and why in found[0], found


def test_what_the_grammar_does_not_know_is_a_parse_error() -> None:
    """The case-sensitive forms (-cin, -inotin) and PowerShell 7's ?: and ?? are not in the grammar:
    the no-parse-error test rejects them before the walk."""
    for snippet in ("if ($a -cin $b) { }", "$a = $b ? 1 : 2", "$a = $b ?? 1"):
        with pytest.raises(AssertionError, match="parse errors"):
            parse(snippet)
