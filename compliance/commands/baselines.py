"""``uccx-compliance baselines``: the shipped baselines, by the name ``--baseline NAME`` takes."""

from __future__ import annotations

import argparse

from compliance import output

HELP = "list the shipped baselines (the names --baseline takes) and the Exchange versions each applies to"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--paths", action="store_true", help="also show where each file is installed")


def run(args: argparse.Namespace) -> int:
    from compliance.baseline.versions import shipped_baselines

    shipped = shipped_baselines()
    width = max((len(s.name) for s in shipped), default=0)
    for baseline in shipped:
        where = f"  {baseline.path}" if args.paths else ""
        output.say(f"{baseline.name:<{width}}  applies to Exchange {baseline.applies_to}{where}")
    output.say("auto: each server's baseline by its version (plan --baseline auto)")
    return 0
