"""``uccx-compliance validate FILE...``: check baselines without touching any server."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from compliance import output

if TYPE_CHECKING:
    from compliance.baseline import LoadedBaseline

HELP = "validate baseline files (one line per error: FILE:LINE:COL: field: message)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="baseline YAML files")
    parser.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="validate with this var override, as plan would use it (repeatable)",
    )


def run(args: argparse.Namespace) -> int:
    from compliance.baseline import load_baseline, parse_var_overrides
    from compliance.errors import InputError, InputErrors

    overrides = parse_var_overrides(args.var)
    failed = False
    for path in args.files:
        try:
            loaded = load_baseline(path, overrides)
        except InputError as exc:
            failed = True
            for line in exc.lines if isinstance(exc, InputErrors) else [str(exc)]:
                output.note(line)
            continue
        checks = len(check_ids(loaded))
        output.say(f"{path}: ok ({loaded.name}, {checks} checks, applies to Exchange {loaded.baseline.applies_to})")
    return 1 if failed else 0


def check_ids(loaded: LoadedBaseline) -> list[str]:
    from compliance.baseline.model import iter_checks

    return [c.id for c in iter_checks(loaded.baseline.rules)]
