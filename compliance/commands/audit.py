"""``uccx-compliance audit``: the unattended run: plan, several reports in one go, history, lock."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from compliance.commands.plan import add_source_arguments

if TYPE_CHECKING:
    from compliance.audit import AuditRun

HELP = "audit for schedules and CI gates: plan, write several reports, record the history (nothing is changed)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_source_arguments(parser)
    parser.add_argument(
        "--report",
        action="append",
        default=[],
        metavar="FORMAT=PATH",
        help="write a report (repeatable): json, html, junit, sarif, prometheus, markdown, csv, text; "
        "e.g. --report html=out/report.html --report sarif=out/report.sarif",
    )
    parser.add_argument(
        "--lock",
        type=Path,
        metavar="FILE",
        help="the lock that keeps two audits from overlapping (default: audit.lock in the state dir); "
        "a second audit exits 6 at once",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="list compliant checks in the text output")


def run(args: argparse.Namespace) -> int:
    from compliance import audit, output
    from compliance.apply.state import state_dir
    from compliance.commands.plan import plans_for
    from compliance.files import write_atomic
    from compliance.reporters import render

    # Every input is checked before the lock is taken and before any connection.
    reports = [audit.parse_report(spec) for spec in args.report]
    audit.check_reports(reports)
    lock = args.lock or state_dir(args.state_dir) / audit.LOCK_NAME
    with audit.holding_lock(lock):
        started = time.perf_counter()
        context = audit.new_run()
        plans, _ = plans_for(args)
        context = audit.finish(context, started)
        result = audit.AuditRun(plans, context)
        # On a terminal: the text plan and a line per report. Elsewhere (cron, CI logs): one line.
        talk = sys.stdout.isatty() and not args.quiet
        for spec in reports:
            write_atomic(spec.path, render(spec.fmt, plans, verbose=True, context=context))
            if talk:
                output.note(f"wrote {spec.fmt} report to {spec.path}")
        if talk:
            output.write_out(render("text", plans, verbose=args.verbose))
        elif not args.quiet:
            output.say(_result_line(result))
    return int(result.exit_code)


def _result_line(result: AuditRun) -> str:
    """One line for a log: the counts and the verdict, as the text report's last line says them."""
    from compliance.reporters.common import totals

    counts = totals(result.plans)
    verdict = {0: "compliant", 2: "drift", 3: "incomplete"}.get(int(result.exit_code), "failed")
    shown = ", ".join(f"{n} {k}" for k, n in counts.items())
    return f"audit {result.context.run_id}: {shown}; result: {verdict} (exit {int(result.exit_code)})"
