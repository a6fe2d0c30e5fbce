"""Small helpers every report writer shares: how values are shown, ordering, totals, escaping.

Names and messages come from the Exchange server and can hold any character a .NET string can:
ESC sequences, bidi overrides, U+0001, lone surrogates. Each format escapes them in ONE function
here, applied to every field it writes: ``terminal_safe`` (text, and every line printed),
``xml_safe`` (JUnit), ``md_cell`` / ``md_code`` (Markdown) and ``json_text`` (the audit log and
the backup). The escapes are visible (``\\x1b``, ``\\u202e``), so a reviewer sees that the name
holds them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from compliance.errors import ExitCode
from compliance.plan import Change, Finding, Plan

RESULT_WORDS = {
    ExitCode.OK: "compliant",
    ExitCode.DRIFT: "drift",
    ExitCode.INCOMPLETE: "incomplete",
    ExitCode.BAD_INPUT: "error",
}
# The worst first (docs/exit-codes.md): a target whose input is wrong (1) cannot be fixed by
# running again, an incomplete audit (3) cannot vouch for the rest, drift (2) beats compliant.
_WORST_FIRST = (ExitCode.BAD_INPUT, ExitCode.INCOMPLETE, ExitCode.DRIFT)


def show(value: Any) -> str:
    """A value as an Exchange admin types it: ``$null``, ``Unlimited``, ``2400``."""
    if value is None:
        return "$null"
    if isinstance(value, bool):
        return "$true" if value else "$false"
    return str(value)


def show_current(change: Change) -> str:
    if change.setting == "ThrottlingPolicy" and change.current is None:
        return "$null (default policy)"
    if change.current is None and change.action.value in ("create", "add"):
        return "(absent)"
    return show(change.current)


def drift_text(result: Change | Finding) -> str:
    """What a change or finding says in one phrase: ``MaxConnectionsPerUser: 16 -> at least 2400``,
    or the finding's message (the waived lists of text and Markdown)."""
    if isinstance(result, Change):
        return f"{result.setting or 'create'}: {show_current(result)} -> {result.requirement}"
    return result.message


def combined_exit(plans: Sequence[Plan]) -> ExitCode:
    codes = {p.exit_code for p in plans}
    for code in _WORST_FIRST:
        if code in codes:
            return code
    return ExitCode.OK


def totals(plans: Sequence[Plan]) -> dict[str, int]:
    out = {"compliant": 0, "drift": 0, "unreadable": 0, "waived": 0}
    for plan in plans:
        for key, value in plan.summary().items():
            out[key] += value
    return out


def grouped(changes: Sequence[Change]) -> list[tuple[str, list[Change]]]:
    """Changes by resource, resources in first-seen order (the baseline's order)."""
    groups: dict[str, list[Change]] = {}
    for change in changes:
        groups.setdefault(change.resource, []).append(change)
    return list(groups.items())


# What a display obeys and a reader cannot see: DEL, C1, the bidi marks, embeddings, overrides and
# isolates (U+061C, U+200E/F, U+202A-E, U+2066-9) and the line and paragraph separators (U+2028/9).
# One character class, which every format's escape function below builds on.
_DISPLAY_CONTROLS = "\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"
# C0 too (with TAB, LF, CR: a name must not start a new line of the report), and lone surrogates
# (which cannot even be encoded as UTF-8).
_TERMINAL_UNSAFE = re.compile(f"[\x00-\x1f{_DISPLAY_CONTROLS}\ud800-\udfff]")
# Everything outside the XML 1.0 Char production, plus CR (a parser reads a raw CR in text as LF),
# plus the display controls, since a CI system displays the test names and messages (a U+202E in
# a connector name would reorder what a reviewer reads).
_XML_UNSAFE = re.compile(f"[^\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[{_DISPLAY_CONTROLS}]")
_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def visible(char: str) -> str:
    """A character as a visible escape: ``\\n``, ``\\x1b``, ``\\u202e``."""
    code = ord(char)
    return _SHORT.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def terminal_unsafe(text: str) -> list[str]:
    """The characters of ``text`` that ``terminal_safe`` would escape, each once, in code order."""
    return sorted(set(_TERMINAL_UNSAFE.findall(text)))


def terminal_safe(text: str) -> str:
    """``text`` with every character a terminal would obey (or could not print) shown as an escape."""
    return _TERMINAL_UNSAFE.sub(lambda m: visible(m.group()), text)


def xml_safe(text: object) -> str:
    """``text`` with the characters XML 1.0 cannot hold, and those a display would obey, shown as
    escapes (ElementTree quotes the rest)."""
    return _XML_UNSAFE.sub(lambda m: visible(m.group()), str(text))


# A backslash is an escape in Markdown only before ASCII punctuation (``EX01\\Default`` stays).
# ``$`` and ``~`` too: GitHub renders ``$...$`` as math and ``~...~`` as strikethrough.
_MD_SPECIAL = re.compile(r"\\(?=[!-/:-@\[-`{-~])|[|`*_\[\]<>&$~]")
_MD_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}


def md_cell(text: object) -> str:
    """``text`` for a Markdown table cell or list item: one line, nothing Markdown or HTML would act on.

    A backslash before punctuation first (so a ``\\|`` in a name cannot undo the escape of its pipe), then the table
    pipe, code, emphasis, link, math and strikethrough characters; ``<``, ``>`` and ``&`` as entities (no raw HTML,
    no block quote); control characters and line breaks as visible escapes; a leading ``#`` is
    escaped too, so a cell text used at the start of a line is never a heading.
    """
    escaped = _MD_SPECIAL.sub(lambda m: _MD_ENTITIES.get(m.group()) or "\\" + m.group(), terminal_safe(str(text)))
    return "\\" + escaped if escaped.startswith("#") else escaped


def md_code(text: object) -> str:
    """``text`` as an inline code span whose fence is longer than any backtick run inside it."""
    body = terminal_safe(str(text)).replace("|", "\\|")  # GFM splits table cells even inside code
    longest = max((len(run) for run in re.findall("`+", body)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if body.startswith("`") or body.endswith("`") or not body.strip(" ") else ""
    return f"{fence}{pad}{body}{pad}{fence}"


_SURROGATE = re.compile("[\ud800-\udfff]")


def json_text(value: Any, *, indent: int | None = None) -> str:
    """JSON that keeps non-ASCII readable, with lone surrogates as ``\\udXXX`` escapes.

    ``ensure_ascii=False`` alone leaves a lone surrogate raw, which UTF-8 cannot encode: the
    write would fail mid-run. A surrogate only occurs inside a JSON string, where its escape
    reads back as the same character, so the data round-trips exactly.
    """
    text = json.dumps(value, indent=indent, ensure_ascii=False, default=str)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
