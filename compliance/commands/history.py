"""``uccx-compliance history``: when drift was first and last seen, and when and by which apply it was fixed."""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from compliance.history import Episode, FixingApply

HELP = "show drift episodes from the audit history: first seen, last seen, fixed (when, by which apply)"
FORMATS = ("text", "json")
KIND = "uccx-compliance/history"
FORMAT_VERSION = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--history",
        metavar="PATH|URL",
        help="the history: a SQLite file or postgresql://USER@HOST/DB (default: <state dir>/history.sqlite)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        metavar="DIR",
        help="where the default history lives; default $UCCX_COMPLIANCE_STATE_DIR, else .uccx-compliance/state",
    )
    parser.add_argument("--since", metavar="DATE", help="only episodes last seen or fixed on or after DATE (UTC)")
    parser.add_argument("--target", metavar="GLOB", help="only targets matching GLOB (case-insensitive)")
    parser.add_argument("--check", metavar="ID", help="only this check id")
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    parser.add_argument(
        "--keep-days",
        type=int,
        metavar="N",
        help="first forget runs and applies older than N days (retention), then show",
    )


def parse_since(text: str) -> datetime.datetime:
    """``2026-12-01`` (midnight UTC) or an ISO 8601 time; a time without an offset is UTC."""
    from compliance.errors import InputError

    try:
        moment = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"--since {text!r}: expected a date (2026-12-01) or an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)


def run(args: argparse.Namespace) -> int:
    from compliance import output
    from compliance.apply.state import state_dir
    from compliance.errors import InputError
    from compliance.history import open_history
    from compliance.reporters.common import json_text

    since = None if args.since is None else parse_since(args.since)
    if args.keep_days is not None and args.keep_days < 1:
        raise InputError(f"--keep-days {args.keep_days}: keep at least 1 day")
    with open_history(args.history, state_dir=state_dir(args.state_dir)) as store:
        if args.keep_days is not None:
            now = datetime.datetime.now(datetime.timezone.utc)
            pruned = store.prune(keep_days=args.keep_days, now=now)
            output.note(f"history: forgot {pruned} run(s) older than {args.keep_days} day(s)")
        episodes = store.episodes(target=args.target, check=args.check, since=since)
        shown = store.location.shown
    if args.format == "json":
        document = {
            "kind": KIND,
            "format_version": FORMAT_VERSION,
            "history": shown,
            "episodes": [e.as_dict() for e in episodes],
        }
        output.write_out(json_text(document, indent=2) + "\n")
    else:
        output.write_out(text_table(episodes))
    return 0


def text_table(episodes: list[Episode]) -> str:
    """A table a person reads: one episode a row, every field terminal-safe and cut to fit."""
    from compliance.reporters.common import terminal_safe

    if not episodes:
        return "no drift in the history\n"
    header = ("TARGET", "CHECK", "RESOURCE", "FIRST SEEN", "LAST SEEN", "FIXED", "FIXED BY")
    rows = [header]
    for e in episodes:
        fixed = _when(e.fixed_at) if e.fixed_at else ("open, waived" if e.waived else "open")
        by = ", ".join(f"apply {a.run[:12]} by {a.operator} at {_when(a.time)}" for a in e.fixed_by)
        if e.fixed_at and not by:
            by = "no apply logged (fixed outside this tool)"
        if e.applied_while_open:
            by = "; ".join(_open_apply(a, e.last_seen) for a in e.applied_while_open)
        rows.append((e.target, e.check, e.resource, _when(e.first_seen), _when(e.last_seen), fixed, by))
    last = len(header) - 1
    cells = [[_cut(terminal_safe(str(cell)), 200 if i == last else 60) for i, cell in enumerate(row)] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header) - 1)]
    lines = [
        "  ".join([*(c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)), row[-1]]).rstrip() for row in cells
    ]
    return "\n".join(lines) + "\n"


def _open_apply(applied: FixingApply, last_seen: datetime.datetime) -> str:
    """An apply of a setting that is still drift: not audited since, or still drift after it
    (a restart pending, or a change that did not hold)."""
    done = f"applied by {applied.run[:12]} ({applied.operator}) at {_when(applied.time)}"
    if applied.time > last_seen:
        return f"{done}; not audited since"
    return f"{done}; still drift at the audit of {_when(last_seen)} (a restart pending, or the change did not hold)"


def _when(moment: datetime.datetime | None) -> str:
    return "" if moment is None else moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _cut(text: str, limit: int) -> str:
    """A huge value from the server must not make the table unreadable; the JSON output has all of it."""
    return text if len(text) <= limit else text[: limit - 3] + "..."
