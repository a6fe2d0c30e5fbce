"""``uccx-compliance plan``: compare an organization with a baseline and print what differs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compliance.fleet import DEFAULT_PARALLEL

if TYPE_CHECKING:
    from compliance.plan import Plan
    from compliance.waivers import WaiverSet

HELP = "compare Exchange with a baseline (offline --facts DIR or live --inventory FILE); nothing is changed"
# Every writer in compliance.reporters.REPORTERS, spelled out: importing the reporters (and the plan
# model) here would slow every --help; tests/reporters/test_formats.py keeps the two equal.
FORMATS = ("text", "json", "junit", "markdown", "ps1", "html", "sarif", "prometheus", "csv")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_source_arguments(parser)
    add_common_arguments(parser)
    add_waiver_arguments(parser)


def add_waiver_arguments(parser: argparse.ArgumentParser) -> None:
    """``--waivers`` and ``--waiver-max-days``; ``audit`` takes them too (docs/waivers.md)."""
    parser.add_argument(
        "--waivers",
        type=Path,
        metavar="FILE",
        help="YAML file of waivers: drift an approver accepts until a date; waived drift is reported, "
        "marked waived, and does not fail the run (docs/waivers.md)",
    )
    parser.add_argument(
        "--waiver-max-days",
        type=int,
        default=180,
        metavar="N",
        help="the longest a waiver may last, from created to expires (default: 180)",
    )


def load_waivers(args: argparse.Namespace) -> WaiverSet | None:
    """The waivers of ``--waivers``, checked before anything is connected to (a mistake is exit 1)."""
    from compliance.waivers import load_waivers, utc_today

    if args.waivers is None:
        return None
    return load_waivers(args.waivers, today=utc_today(), max_days=args.waiver_max_days)


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """What to audit and against which baseline: shared by ``plan`` and ``audit``."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--facts", type=Path, metavar="DIR", help="folder of Export-Clixml files (offline)")
    source.add_argument("--inventory", type=Path, metavar="FILE", help="inventory of live targets (WinRM/PSRP)")
    parser.add_argument(
        "--baseline",
        metavar="FILE|NAME|auto",
        help="baseline YAML, a shipped baseline's name (uccx-compliance baselines lists them), or auto: "
        "each server's shipped baseline by its version (required with --facts; with --inventory "
        "overrides each target's)",
    )
    parser.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a baseline var; the value is read as YAML (repeatable)",
    )
    parser.add_argument("--target", dest="only_target", metavar="NAME", help="only this inventory target")
    parser.add_argument(
        "--state-dir",
        type=Path,
        metavar="DIR",
        help="where apply recorded when it changed each setting (restart pending); default "
        "$UCCX_COMPLIANCE_STATE_DIR, else .uccx-compliance/state",
    )
    parser.add_argument(
        "--allow-insecure-transport",
        action="store_true",
        help="allow Basic/certificate authentication over plain HTTP (sends secrets in clear)",
    )
    parser.add_argument(
        "--parallel",
        type=_positive_int,
        default=DEFAULT_PARALLEL,
        metavar="N",
        help=f"audit up to N inventory targets at once (default: {DEFAULT_PARALLEL}; docs/fleet.md); "
        "the reports are the same, in inventory order",
    )
    parser.add_argument(
        "--target-timeout",
        type=_positive_float,
        metavar="SECONDS",
        help="bound one target's whole audit, connect to finish; a target that runs out is unreadable "
        '("timed out after N s at <step>", exit 3) and the others go on (default: no bound)',
    )
    parser.add_argument(
        "--shard",
        type=_shard,
        metavar="K/N",
        help="only the inventory targets of shard K of N (a stable hash of the target name); "
        "`uccx-compliance merge` joins the shards' JSON reports (docs/fleet.md)",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no progress display or progress lines (shown for two targets or more); audit: not even its result line",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {value}")
    return value


def _shard(text: str) -> tuple[int, int]:
    k, sep, n = text.partition("/")
    try:
        shard, count = int(k), int(n)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected K/N such as 2/8, got {text!r}") from None
    if not sep or not 1 <= shard <= count:
        raise argparse.ArgumentTypeError(f"expected K/N with 1 <= K <= N, got {text!r}")
    return shard, count


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 < value < 10**6:
        raise argparse.ArgumentTypeError(f"expected seconds above 0, got {text!r}")
    return value


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
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


def plans_for(args: argparse.Namespace, waivers: WaiverSet | None = None) -> tuple[list[Plan], dict[str, Any]]:
    """Plan what ``add_source_arguments`` named, as ``plan`` does, with ``waivers`` applied (the
    caller loaded them first, so a bad one stops the run before any connection); returns the plans
    and the overrides."""
    from compliance import pipeline
    from compliance.baseline import parse_var_overrides
    from compliance.errors import InputError

    warn = pipeline.stderr_warning
    overrides = parse_var_overrides(args.var)
    baseline = None if args.baseline is None else pipeline.resolve_baseline(args.baseline)
    by_version = args.baseline is not None and baseline is None
    if args.facts is not None:
        if args.baseline is None:
            raise InputError(
                f"{args.command} --facts needs --baseline FILE, NAME or auto (uccx-compliance baselines lists them)"
            )
        if baseline is None:
            return pipeline.plan_folder_by_version(args.facts, overrides, waivers=waivers, warn=warn), overrides
        return [pipeline.plan_folder(baseline, args.facts, overrides, waivers=waivers, warn=warn)], overrides
    from compliance.progress import TargetProgress

    with TargetProgress(quiet=args.quiet) as progress:
        plans = pipeline.plan_inventory(
            args.inventory,
            overrides,
            baseline=baseline,
            by_version=by_version,
            only_target=args.only_target,
            allow_insecure_transport=args.allow_insecure_transport,
            keep_going=True,
            state_dir=args.state_dir,
            parallel=args.parallel,
            target_timeout_s=args.target_timeout,
            shard=args.shard,
            on_targets=progress.begin,
            on_target_done=progress.done,
            waivers=waivers,
            warn=warn,
        )
    return list(plans), overrides


def run(args: argparse.Namespace) -> int:
    from compliance import output

    waivers = load_waivers(args)  # first: a malformed waiver stops the run before any connection
    plans, overrides = plans_for(args, waivers)
    if args.inventory is not None and args.format == "json" and args.out is not None:
        return output.save_plan(plans, args.out, args.inventory, overrides)
    return output.emit(plans, args.format, args.out, verbose=args.verbose)
