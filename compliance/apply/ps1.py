"""The plan as a remediation script for the Exchange Management Shell (``plan --format ps1``).

For admins who run changes by hand: every change is one command under a comment naming its check,
``param([switch]$WhatIf)`` makes ``.\\remediate.ps1 -WhatIf`` a dry run, and the script stops at
the first failed change, so nothing that depends on it runs.

Stopping does not rely on the script-level ``$ErrorActionPreference = 'Stop'`` alone. In EMS 2010
the Exchange cmdlets are implicit-remoting proxy functions that run in their module's scope, where
a script's preference variable may not reach, so a failure would be a non-terminating error and the
next change would run. So every command carries ``-ErrorAction Stop`` (the Exchange cmdlet, and for
a host write both ``Invoke-Command`` and the cmdlet inside its script block, whose remote runspace
has its own default), and each change is wrapped in ``try { } catch { throw ('<check> (<resource>)
failed: ' + $_) }``. ``throw``, not ``Write-Error`` and ``exit 1``: under the header's preference
``Write-Error`` is itself a terminating error, so ``exit`` would never run, and ``exit`` in a
dot-sourced script or a pasted block closes the admin's EMS window; ``throw`` ends the script in
PowerShell 2.0 and later whatever the preferences, names the change, and gives exit code 1 under
``powershell.exe -File``.

Values are never pasted into script text unquoted. Every value is a single-quoted literal, in
which PowerShell treats FIVE characters as a quote: ``'`` and the typographic U+2018, U+2019,
U+201A, U+201B (its tokenizer's ``IsSingleQuote``). Each of them is doubled, so no value can end
its string early; ``$``, backticks, ``;``, ``#`` and newlines mean nothing inside single quotes.
Comments and the failure message are built from names too, so line breaks and control characters
in them are replaced: a comment cannot end early either. Registry writes go through
``Invoke-Command -ArgumentList``: the values travel as arguments, and the script block is fixed
text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from compliance.apply.commands import Step, build_steps
from compliance.cmdlet import SINGLE_QUOTES, CommandSpec, argument, one_line, quote
from compliance.errors import InputError
from compliance.plan import Change, Plan
from compliance.reporters.common import terminal_safe, terminal_unsafe, visible


def comment_text(text: str) -> str:
    """``text`` for a ``#`` comment or the failure message: one line (a line break would end the
    comment and run the rest as code), and nothing a display obeys (a U+202E would reorder what the
    reviewer reads: "Trojan Source")."""
    return terminal_safe(one_line(text))


def _comment(text: str) -> str:
    return f"# {comment_text(text)}"


def _hidden_characters(command: CommandSpec) -> list[str]:
    """A comment naming the control characters and bidi marks in the command's values (those a
    comment shows as escapes), which are written as they are: the script must name the object
    exactly as Exchange does. A line break inside a quoted value would start what looks like a new
    line of code."""
    texts = [command.server or "", *(str(v) for v in command.parameters.values() if v is not None)]
    found = terminal_unsafe("".join(texts))
    if not found:
        return []
    shown = ", ".join(visible(ch) for ch in found)
    note = f"# Note: a value of {command.cmdlet} below holds {shown}, written as Exchange has it"
    return [f"{note}; the line may not look as it runs."]


# Every command stops on its own error: EMS 2010's proxy commands may not see the script's preference.
STOP = "-ErrorAction Stop"


def _call(command: CommandSpec) -> str:
    _writable(command)
    return f"{command} -WhatIf:$WhatIf {STOP}"


def _remote_call(command: CommandSpec) -> list[str]:
    """A host command on its server: a fixed script block, the values as ``-ArgumentList``."""
    _writable(command)
    names = list(command.parameters)
    params = ", ".join(f"${_variable(n)}" for n in names)
    inner = " ".join(f"-{n} ${_variable(n)}" for n in names)
    values = ", ".join(argument(command.parameters[n]) for n in names)
    return [
        f"Invoke-Command -ComputerName {quote(command.server or '')} {STOP} -ScriptBlock {{",
        f"    param({params}, $WhatIfRemote)",
        f"    {command.cmdlet} {inner} -WhatIf:$WhatIfRemote {STOP}",
        f"}} -ArgumentList {values}, $WhatIf.IsPresent",
    ]


def _writable(command: CommandSpec) -> None:
    """Refuse what no single-quoted literal can carry: every name must be a plain identifier
    (it is code), and no value or server may hold NUL, which PowerShell grammars do not accept
    inside a string (tree-sitter-powershell reads it as an error; no escape exists in '...'), or a
    lone surrogate, which a UTF-8 script file cannot hold at all."""
    for name in command.parameters:
        _variable(name)
    texts = [command.server or "", *(str(v) for v in command.parameters.values() if v is not None)]
    if any(ch == "\0" or 0xD800 <= ord(ch) <= 0xDFFF for text in texts for ch in text):
        raise InputError(
            f"refusing to write {command.cmdlet} into a script: a value holds a NUL or a lone surrogate character"
        )


def _variable(parameter: str) -> str:
    """A parameter name, refused unless a plain identifier: it is written into the script as code."""
    if not (parameter.isascii() and parameter.isidentifier()):
        raise InputError(f"refusing to write a script with the parameter name {parameter!r}: not a plain identifier")
    return parameter


def _step_lines(step: Step, changes: Sequence[Change], target: str | None) -> list[str]:
    lines = []
    for index in step.changes:
        change = changes[index]
        lines.append(_comment(f"{change.check} ({change.severity}): {change.title}"))
        what = change.setting or "create"
        lines.append(
            _comment(
                f"  {change.resource}: {what} {_shown(change.current)} -> {_shown(change.desired)} "
                f"({change.requirement})"
            )
        )
    body: list[str] = []
    for command in step.commands:
        lines += _hidden_characters(command)
        body += _remote_call(command) if command.server else [_call(command)]
    body = _stop_on_failure(body, failure_message([changes[i] for i in step.changes], target))
    if step.needs_created:
        # With -WhatIf the object an earlier step creates does not exist, so this would only fail.
        lines.append("# Needs the object created above; -WhatIf cannot show it before it exists.")
        lines.append("if (-not $WhatIf) {")
        lines += [f"    {line}" for line in body]
        lines.append("}")
    else:
        lines += body
    return lines


def failure_message(changes: Sequence[Change], target: str | None = None) -> str:
    """What the script says when a step fails, before the error: its checks, by resource, and the
    inventory target when the plan has one (one script may hold several targets)."""
    by_resource: dict[str, list[str]] = {}
    for change in changes:
        checks = by_resource.setdefault(change.resource, [])
        if change.check not in checks:
            checks.append(change.check)
    named = "; ".join(f"{', '.join(checks)} ({resource})" for resource, checks in by_resource.items())
    where = f"target {target}: " if target else ""
    return comment_text(f"{where}{named} failed: ")


def _stop_on_failure(body: list[str], message: str) -> list[str]:
    """The step's commands in ``try``; a failure ends the script with a message naming the change."""
    return [
        "try {",
        *(f"    {line}" for line in body),
        "}",
        "catch {",
        f"    throw ({quote(message)} + $_)",
        "}",
    ]


def _shown(value: Any) -> str:
    return "$null" if value is None else str(value)


def _restart_lines(plan: Plan) -> list[str]:
    if not plan.restarts:
        return []
    lines = [
        "",
        "# Restarts these changes need. They are left commented out: run them in a maintenance window.",
    ]
    for server, service in plan.restarts:
        lines.append(
            f"# Invoke-Command -ComputerName {quote(server)} {STOP} -ScriptBlock {{ param($Name) "
            f"Restart-Service -Name $Name {STOP} }} -ArgumentList {quote(service)}"
        )
    return [comment_text(line) if line.startswith("#") else line for line in lines]


def _plan_lines(plan: Plan) -> list[str]:
    title = f"target {plan.target}" if plan.target else plan.source
    lines = ["", _comment(f"=== {title}: baseline {plan.baseline} (sha256 {plan.baseline_sha256}) ===")]
    if not plan.changes:
        lines.append("# Nothing to change.")
    changes = plan.changes
    for step in build_steps(changes):
        lines.append("")
        lines += _step_lines(step, changes, plan.target)
    for finding in plan.findings:
        lines.append(_comment(f"Not changed by this script: {finding.check} {finding.resource}: {finding.message}"))
    for waived in plan.waived:  # a comment only: a waived change is never a command in the script
        result, waiver = waived.result, waived.waiver
        what = f"{result.setting or 'create'} -> {result.requirement}" if isinstance(result, Change) else result.message
        text = (
            f"Waived, not changed: {result.check} {result.resource}: {what}; until "
            f"{waiver.expires.isoformat()} by {waiver.approver} ({waiver.source}): {waiver.justification}"
        )
        lines.append(_comment(text))  # the waivers file is hostile input: bidi marks too
    for unreadable in plan.unreadable:
        lines.append(
            _comment(
                f"Could not be read, so not planned: {unreadable.check} {unreadable.resource}: {unreadable.reason}"
            )
        )
    return lines + _restart_lines(plan)


def render_script(plans: Iterable[Plan]) -> str:
    header = [
        "# uccx-compliance remediation script for the Exchange Management Shell.",
        "# Review every line. Dry run first:  .\\remediate.ps1 -WhatIf",
        "# Each change names its check id; values are single-quoted literals, $null means no limit.",
        "# The first change that fails stops the script with a message naming it; nothing after it runs.",
        "param([switch]$WhatIf)",
        "$ErrorActionPreference = 'Stop'  # stop at the first failed change: nothing after it runs",
    ]
    body = [line for plan in plans for line in _plan_lines(plan)]
    return "\n".join(header + body) + "\n"


__all__ = ["SINGLE_QUOTES", "STOP", "argument", "comment_text", "failure_message", "quote", "render_script"]
