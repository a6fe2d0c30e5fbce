"""``uccx-compliance plan``: compare an organization with a baseline and print what differs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from compliance.waivers import WaiverSet

HELP = "compare Exchange with a baseline (offline --facts DIR or live --inventory FILE); nothing is changed"
FORMATS = ("text", "json", "junit", "markdown", "ps1")


def add_arguments(parser: argparse.ArgumentParser) -> None:
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


def run(args: argparse.Namespace) -> int:
    from compliance import output, pipeline
    from compliance.baseline import parse_var_overrides
    from compliance.errors import InputError

    overrides = parse_var_overrides(args.var)
    waivers = load_waivers(args)  # first: a malformed waiver stops the run before any connection

    def warn(line: str) -> None:  # through the output layer: waiver text is shown, never obeyed
        output.note(f"uccx-compliance: warning: {line}")

    baseline = None if args.baseline is None else pipeline.resolve_baseline(args.baseline)
    by_version = args.baseline is not None and baseline is None
    if args.facts is not None:
        if args.baseline is None:
            raise InputError("plan --facts needs --baseline FILE, NAME or auto (uccx-compliance baselines lists them)")
        if baseline is None:
            plans = pipeline.plan_folder_by_version(args.facts, overrides, waivers=waivers, warn=warn)
        else:
            plans = [pipeline.plan_folder(baseline, args.facts, overrides, waivers=waivers, warn=warn)]
    else:
        plans = pipeline.plan_inventory(
            args.inventory,
            overrides,
            baseline=baseline,
            by_version=by_version,
            only_target=args.only_target,
            allow_insecure_transport=args.allow_insecure_transport,
            keep_going=True,
            state_dir=args.state_dir,
            waivers=waivers,
            warn=warn,
        )
        if args.format == "json" and args.out is not None:
            return output.save_plan(plans, args.out, args.inventory, overrides)
    return output.emit(plans, args.format, args.out, verbose=args.verbose)
