"""``uccx-compliance rollback``: restore the values a backup written by apply recorded."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HELP = "restore the prior values recorded in a backup written by apply (BACKUP.json)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from compliance.commands.apply import add_run_arguments

    parser.add_argument("backup", type=Path, metavar="BACKUP.json", help="a backup written by apply")
    parser.add_argument(
        "--inventory",
        type=Path,
        required=True,
        metavar="FILE",
        help="the inventory the backup's target is in: endpoints and credentials come only from it",
    )
    add_run_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from compliance.apply.backup import read_backup
    from compliance.apply.rollback import rollback
    from compliance.commands.apply import confirm, options, report, say_for

    say = say_for(args)
    backup = read_backup(args.backup)
    say(f"rollback of {backup.target.name} from {args.backup} (written {backup.created}):")

    def approve(undos: Sequence[Any]) -> bool:
        return confirm(f"Restore {sum(1 for u in undos if u.command)} value(s)?", args.auto_approve)

    result = rollback(backup, options(args), say, approve)
    return report(args, [result])
