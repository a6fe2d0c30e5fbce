"""``uccx-compliance facts collect``: read the live facts over WinRM and save them as a fact folder.

The folder is the same offline folder the PowerShell collector writes (one ``Export-Clixml`` file
per cmdlet plus ``collection.txt``), so ``plan --facts DIR`` can be re-run on it, attached to a
change ticket or diffed. An unreadable fact gets no file (a partial file would read as "no
objects"): its line is printed and the exit code is 3.
"""

from __future__ import annotations

import argparse
import datetime
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compliance import output
from compliance.errors import ExitCode, InputError
from compliance.files import write_atomic
from compliance.fleet import DEFAULT_PARALLEL

if TYPE_CHECKING:
    from compliance.facts.collection import RawFacts
    from compliance.inventory import Target

HELP = "read the live facts over WinRM (facts collect) and save them as an offline fact folder"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="facts_action", metavar="ACTION", required=True)
    collect = sub.add_parser(
        "collect",
        help="collect every target's facts into --out DIR",
        description="Collect each target's facts over WinRM into an offline folder.",
    )
    collect.add_argument("--inventory", type=Path, metavar="FILE", required=True, help="inventory of targets")
    collect.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        required=True,
        help="folder to write (a subfolder per target when there are several)",
    )
    collect.add_argument("--target", dest="only_target", metavar="NAME", help="only this inventory target")
    collect.add_argument(
        "--allow-insecure-transport",
        action="store_true",
        help="allow Basic or certificate authentication over plain http:// (labs only)",
    )
    collect.add_argument(
        "--var", action="append", default=[], metavar="NAME=VALUE", help="override a baseline var (repeatable)"
    )
    collect.add_argument(
        "--parallel",
        type=int,
        default=DEFAULT_PARALLEL,
        metavar="N",
        help=f"collect up to N targets at once (default: {DEFAULT_PARALLEL}); each target's lines stay together",
    )


def run(args: argparse.Namespace) -> int:
    from compliance import fleet
    from compliance.baseline.load import parse_var_overrides
    from compliance.inventory import load_inventory
    from compliance.remoting.secrets import configure_library_logging

    configure_library_logging(bool(getattr(args, "debug", False)))
    if args.parallel < 1:
        raise InputError(f"--parallel: expected 1 or more, got {args.parallel}")
    inventory = load_inventory(args.inventory)
    targets = [inventory.target(args.only_target)] if args.only_target else list(inventory.targets)
    overrides = parse_var_overrides(args.var)
    passwords = {t.name: t.password() for t in targets}  # prompts first, in this thread

    def work(target: Target, progress: fleet.Progress) -> tuple[bool, list[str]]:
        folder = args.out / target.name if len(targets) > 1 else args.out
        lines: list[str] = []
        with fleet.reporting(progress):
            complete = collect_target(
                target,
                folder,
                overrides,
                password=passwords[target.name],
                allow_insecure_transport=args.allow_insecure_transport,
                say=lines.append,
            )
        return complete, lines

    incomplete = False
    for outcome in fleet.run_all(targets, work, parallel=args.parallel):
        if outcome.error is not None:
            raise outcome.error
        assert outcome.result is not None
        complete, lines = outcome.result
        for line in lines:  # each target's lines together, in inventory order
            output.note(line)
        incomplete |= not complete
    return int(ExitCode.INCOMPLETE if incomplete else ExitCode.OK)


def collect_target(
    target: Target,
    folder: Path,
    overrides: dict[str, Any],
    *,
    password: str | None,
    allow_insecure_transport: bool,
    say: Callable[[str], None] = output.note,
) -> bool:
    """Collect one target into ``folder``; True when every fact was read."""
    from compliance import pipeline

    loaded = pipeline.target_baseline(target, overrides)
    started = datetime.datetime.now(datetime.timezone.utc)

    def warn(line: str) -> None:
        say(f"{target.name}: warning: {line}")

    source = pipeline.live(
        target,
        loaded,
        password=password,
        allow_insecure_transport=allow_insecure_transport,
        warn=warn,
        now=started,
    )
    raw, _ = pipeline.read_raw(source)
    unreadable = write_folder(folder, raw)
    write_collection_info(folder, target, started, source.request.event_lookback_days)
    for line in unreadable:
        say(f"{target.name}: unreadable: {line}")
    say(
        f"{target.name}: wrote {len(raw) - len(unreadable)} fact files to {folder}"
        + (f"; {len(unreadable)} unreadable" if unreadable else "")
    )
    return not unreadable


def write_folder(folder: Path, raw: RawFacts) -> list[str]:
    """One ``<stem>.xml`` per readable fact; returns the unreadable facts' lines."""
    from compliance.facts.clixml_writer import write_clixml

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{folder}: cannot create the output folder: {exc.strerror or exc}") from None
    unreadable = []
    for stem, reading in sorted(raw.items()):
        path = folder / f"{stem}.xml"
        if (objects := reading.get()) is None:
            unreadable.append(reading.reason or f"{stem}: not collected")
            path.unlink(missing_ok=True)  # a stale file from an earlier run must not pass for this one
            continue
        write_clixml(path, objects)
    return unreadable


def write_collection_info(folder: Path, target: Target, when: datetime.datetime, lookback_days: int) -> None:
    """``collection.txt`` as the PowerShell collector writes it (never the password)."""
    lines = [
        f"CollectedAtUtc: {when.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}",
        f"EventLookbackDays: {lookback_days}",
        f"CollectedBy: {target.username or '(Kerberos ticket of the current user)'}",
        f"Endpoint: {target.exchange_endpoint}",
        f"Target: {target.name}",
        "Collector: uccx-compliance facts collect (WinRM/PSRP)",
    ]
    write_atomic(
        folder / "collection.txt", b"\xef\xbb\xbf" + ("\r\n".join(lines) + "\r\n").encode("utf-8"), what="facts"
    )
