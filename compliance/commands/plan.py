"""``uccx-compliance plan``: compare an organization with a baseline and print what differs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from compliance.plan import Plan

HELP = "compare Exchange with a baseline (offline --facts DIR or live --inventory FILE); nothing is changed"
FORMATS = ("text", "json", "junit", "markdown", "ps1")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--facts", type=Path, metavar="DIR", help="folder of Export-Clixml files (offline)")
    source.add_argument("--inventory", type=Path, metavar="FILE", help="inventory of live targets (WinRM/PSRP)")
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="FILE",
        help="baseline YAML (required with --facts; with --inventory overrides each target's)",
    )
    add_common_arguments(parser)


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a baseline var; the value is read as YAML (repeatable)",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="report format (default: text); ps1 is a reviewable remediation script",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="write the report to FILE instead of stdout; with --inventory and --format json "
        "this is a saved plan that `apply FILE` takes",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="list compliant checks with their evidence")
    parser.add_argument("--target", dest="only_target", metavar="NAME", help="only this inventory target")
    parser.add_argument(
        "--allow-insecure-transport",
        action="store_true",
        help="allow Basic/certificate authentication over plain HTTP (sends secrets in clear)",
    )


def run(args: argparse.Namespace) -> int:
    from compliance.baseline import parse_var_overrides

    overrides = parse_var_overrides(args.var)
    if args.facts is not None:
        if args.baseline is None:
            from compliance.errors import InputError

            raise InputError("plan --facts needs --baseline FILE (shipped ones are in baselines/)")
        plans = [plan_offline(args.baseline, args.facts, overrides)]
    else:
        plans = plan_inventory(
            args.inventory,
            overrides,
            baseline=args.baseline,
            only_target=args.only_target,
            allow_insecure_transport=args.allow_insecure_transport,
        )
        if args.format == "json" and args.out is not None:
            return save_plan(plans, args.out, args.inventory, overrides)
    return emit(plans, args.format, args.out, verbose=args.verbose)


def save_plan(plans: Sequence[Plan], out: Path, inventory: Path, overrides: dict[str, Any]) -> int:
    """The JSON report plus what apply needs (targets, commands, checksum): `apply FILE` takes it."""
    from compliance.apply.saved_plan import write_saved_plan
    from compliance.reporters.common import combined_exit

    write_saved_plan(out, plans, inventory, overrides)
    print(f"wrote saved plan to {out}; review it, then: uccx-compliance apply {out}", file=sys.stderr)
    return int(combined_exit(plans))


def plan_offline(baseline: Path, facts_dir: Path, overrides: dict[str, Any]) -> Plan:
    from compliance.baseline import load_baseline
    from compliance.checks.engine import evaluate
    from compliance.facts.offline import read_folder

    loaded = load_baseline(baseline, overrides)
    return evaluate(loaded, read_folder(facts_dir))


def plan_inventory(
    inventory: Path,
    overrides: dict[str, Any],
    *,
    baseline: Path | None = None,
    only_target: str | None = None,
    allow_insecure_transport: bool = False,
) -> list[Plan]:
    from compliance.live import plan_targets

    return plan_targets(
        inventory,
        overrides,
        baseline=baseline,
        only_target=only_target,
        allow_insecure_transport=allow_insecure_transport,
    )


def emit(plans: Sequence[Plan], fmt: str, out: Path | None, *, verbose: bool) -> int:
    from compliance.reporters import render
    from compliance.reporters.common import combined_exit

    text = render(fmt, plans, verbose=verbose)
    if out is None:
        sys.stdout.write(text)
    else:
        write_report(out, text)
        print(f"wrote {fmt} report to {out}", file=sys.stderr)
    return int(combined_exit(plans))


def write_report(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so an interrupted run never leaves half a report."""
    import os
    import tempfile

    from compliance.errors import InputError

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(f"{path}: cannot write report: {exc.strerror or exc}") from None
