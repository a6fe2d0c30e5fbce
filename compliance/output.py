"""The one output layer: every report format, the saved plan, and every line a command prints.

Standard output can fail under the tool: ``plan | head -1`` closes the pipe (EPIPE), ``> /dev/full``
has no space. Then the rest of the output is dropped, not half-written and not retried, and the
command carries on: ``apply`` finishes its approved plan (stopping half-way is worse, and the audit
log and backup are files, not stdout). ``compliance.cli`` then ends the command with one line on
stderr and exit 5 (``OUTPUT_LOST``, docs/exit-codes.md): success that could not be printed is
never reported as success. After a failure the stream's descriptor is pointed at ``/dev/null``, as
the Python docs on SIGPIPE recommend, so the interpreter's flush at exit does not print
"Exception ignored ... BrokenPipeError".

Lines for a terminal (``say``, the error line) go through ``terminal_safe``: a name read from
Exchange can carry ESC sequences or bidi overrides, and those are shown, never obeyed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from compliance.errors import InputError, OutputLost
from compliance.files import write_atomic
from compliance.plan import Plan
from compliance.reporters import render
from compliance.reporters.common import combined_exit, json_text, terminal_safe

_lost: list[str] = []  # why stdout failed, once it has; empty while it works
_noted: set[str] = set()  # the lines note_once has said in this run


def reset() -> None:
    """Start a run: forget an earlier failure and the lines said once (``main`` may run several
    times in one process, as in the tests)."""
    _lost.clear()
    _noted.clear()


def lost() -> str | None:
    """The one line saying that stdout failed and why ("Broken pipe"), or None while it works."""
    return f"cannot write to standard output ({_lost[0]}); the rest of the output was dropped" if _lost else None


def check_delivered() -> None:
    """Raise ``OutputLost`` when some of the output could not be written to stdout."""
    if (line := lost()) is not None:
        raise OutputLost(line)


def _to_devnull(stream: IO[str]) -> None:
    """Point ``stream``'s descriptor at /dev/null so later writes and the flush at exit go nowhere."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, stream.fileno())
        finally:
            os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real descriptor (a test's capture): nothing to redirect
        pass


def _write(stream: IO[str] | None, text: str) -> str | None:
    """Write and flush (an error must show now, not at exit); the error's words, or None."""
    if stream is None:  # started with stdout closed (``>&-``)
        return "it is closed"
    try:
        stream.write(text)
        stream.flush()
    except OSError as exc:
        _to_devnull(stream)
        return exc.strerror or type(exc).__name__
    return None


def write_out(text: str) -> None:
    """Write ``text`` to stdout; after a failure, drop it (and everything after it)."""
    if _lost:
        return
    if (error := _write(sys.stdout, text)) is not None:
        _lost.append(error)


def write_err(text: str) -> None:
    """Write ``text`` to stderr; if stderr is gone too there is nowhere left to say so."""
    _write(sys.stderr, text)


def say(line: str, *, to_stderr: bool = False) -> None:
    """One line for a person, with control characters from the server shown, not obeyed."""
    text = terminal_safe(line) + "\n"
    if to_stderr:
        write_err(text)
    else:
        write_out(text)


def note(line: str) -> None:
    """A line on stderr: progress and "wrote FILE" notes, never the report itself."""
    say(line, to_stderr=True)


def note_once(line: str) -> None:
    """``note``, but a line already said in this run is not said again (a warning about a target
    that apply's several reads of it would otherwise repeat)."""
    if line not in _noted:
        _noted.add(line)
        note(line)


def emit(plans: Sequence[Plan], fmt: str, out: Path | None, *, verbose: bool) -> int:
    """Write the plans in ``fmt`` to ``out`` (stdout when None); returns the plans' exit code."""
    text = render(fmt, plans, verbose=verbose)
    if out is None:
        write_out(text)
    else:
        write_atomic(out, text)
        note(f"wrote {fmt} report to {out}")
    return int(combined_exit(plans))


def save_plan(plans: Sequence[Plan], out: Path, inventory: Path, overrides: Mapping[str, Any] | None = None) -> int:
    """The JSON report plus what apply needs (targets, commands, checksum): ``apply FILE`` takes it.

    A target that was not planned stays in the report (its reason under ``unreadable``) but is left
    out of the plan's ``targets``: apply reaches only the targets listed there, and refuses a change
    that names any other (``saved_plan``'s "names unknown target"), so it can never be applied.
    """
    from compliance.apply.saved_plan import build_document, canonical_checksum, plan_signature, signing_key

    named = [p.target for p in plans]
    if (twice := next((t for t in named if named.count(t) > 1), None)) is not None:
        raise InputError(
            f"target {twice}: a coexistence plan (one plan per baseline) cannot be saved for apply, which "
            "applies one baseline per target; give --baseline NAME, or use --format json without --out"
        )
    document = build_document(plans, inventory, overrides)
    skipped = {p.target for p in plans if p.not_planned is not None}
    if skipped:
        # build_document sealed every target; leave the unplanned ones out and seal it again.
        document["targets"] = [t for t in document["targets"] if t["name"] not in skipped]
        document["not_planned"] = sorted(str(t) for t in skipped)
        document["baseline"] = document["targets"][0]["baseline"] if document["targets"] else None
        document.pop("signature", None)
        if (key := signing_key()) is not None:
            document["signature"] = plan_signature(document, key)
        document["checksum"] = canonical_checksum(document)
    write_atomic(out, json_text(document, indent=2) + "\n", what="saved plan")
    note(f"wrote saved plan to {out}; review it, then: uccx-compliance apply {out} --inventory {inventory}")
    for target in sorted(str(t) for t in skipped):
        note(f"target {target} was not planned, so the saved plan leaves it out: apply will not touch it")
    return int(combined_exit(plans))
