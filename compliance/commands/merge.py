"""``uccx-compliance merge``: join the JSON reports of inventory shards into one report."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "join the JSON reports of --shard K/N runs into one report, in any format (docs/fleet.md)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from compliance.reporters import REPORTERS

    parser.add_argument("reports", nargs="+", type=Path, metavar="REPORT.json", help="the shards' JSON reports")
    parser.add_argument(
        "--inventory",
        type=Path,
        metavar="FILE",
        help="the inventory the shards came from: targets in its order, so the merged report equals "
        "the unsharded run's (without it: the order of the files given)",
    )
    parser.add_argument(
        "--format", choices=[f for f in REPORTERS if f != "ps1"], default="text", help="report format (default: text)"
    )
    parser.add_argument("--out", type=Path, metavar="FILE", help="write the report to FILE instead of stdout")
    parser.add_argument("-v", "--verbose", action="store_true", help="list compliant checks with their evidence")


def run(args: argparse.Namespace) -> int:
    from compliance import output
    from compliance.inventory import load_inventory
    from compliance.merge import merge

    order = [t.name for t in load_inventory(args.inventory).targets] if args.inventory else None
    plans = merge(args.reports, order=order)
    return output.emit(plans, args.format, args.out, verbose=args.verbose)
