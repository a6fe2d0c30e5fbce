"""``uccx-compliance audit``: the unattended run: plan, several reports in one go, history, lock."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from compliance.apply import DEFAULT_AUDIT_LOG
from compliance.commands.plan import add_source_arguments, add_waiver_arguments
from compliance.notify import DEFAULT_EXPIRING_DAYS

TIMELINE_DAYS = 90  # how far back the HTML report's drift timeline reaches

if TYPE_CHECKING:
    from compliance.audit import AuditRun

HELP = "audit for schedules and CI gates: plan, write several reports, record the history (nothing is changed)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_source_arguments(parser)
    add_waiver_arguments(parser)
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
    parser.add_argument(
        "--history",
        metavar="PATH|URL",
        help="the history database: a SQLite file, or postgresql://user@host/db for several shards or "
        "hosts (default: history.sqlite in the state dir; docs/history.md)",
    )
    parser.add_argument(
        "--keep-days",
        type=int,
        metavar="N",
        help="after recording, forget history runs older than N days (retention)",
    )
    parser.add_argument(
        "--audit-log",
        type=Path,
        metavar="FILE",
        help="apply's audit log, read so the history can say which apply fixed a drift "
        f"(default: {DEFAULT_AUDIT_LOG}, if it exists)",
    )
    parser.add_argument(
        "--notify",
        metavar="webhook=URL",
        help="post a JSON summary (drift appeared, drift fixed, waivers expiring) to URL; a failed "
        "post is a warning and leaves the exit code alone (docs/operations.md)",
    )
    parser.add_argument(
        "--notify-expiring-days",
        type=int,
        default=DEFAULT_EXPIRING_DAYS,
        metavar="N",
        help="waivers expiring within N days are in the notification (default: %(default)s)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="list compliant checks in the text output")


def run(args: argparse.Namespace) -> int:
    from compliance import audit, output
    from compliance.apply.state import state_dir
    from compliance.commands.plan import load_waivers, plans_for
    from compliance.errors import InputError
    from compliance.files import write_atomic
    from compliance.history import open_history
    from compliance.notify import build_payload, deliver, parse_notify
    from compliance.reporters import render

    # Every input is checked before the lock is taken and before any connection.
    reports = [audit.parse_report(spec) for spec in args.report]
    audit.check_reports(reports)
    waivers = load_waivers(args)
    notifier = parse_notify(args.notify) if args.notify else None
    if args.keep_days is not None and args.keep_days < 1:
        raise InputError(f"--keep-days: expected 1 or more, got {args.keep_days}")
    state = state_dir(args.state_dir)
    lock = args.lock or state / audit.LOCK_NAME
    with audit.holding_lock(lock):
        store = open_history(args.history, state_dir=state)  # a bad location stops here: nothing sent
        try:
            started = time.perf_counter()
            context = audit.new_run()
            plans, _ = plans_for(args, waivers)
            context = audit.finish(context, started)
            result = audit.AuditRun(plans, context)
            finished = context.started_at + datetime.timedelta(seconds=context.duration_s)
            audit_log = args.audit_log or DEFAULT_AUDIT_LOG
            if audit_log.is_file():
                store.record_applies(audit_log)
            store.record_run(
                plans,
                run_id=context.run_id,
                started_at=context.started_at,
                finished_at=finished,
                command="audit",
                exit_code=int(result.exit_code),
            )
            since = context.started_at - datetime.timedelta(days=TIMELINE_DAYS)
            targets = [p.target for p in plans if p.target is not None]
            timeline = store.timeline(since=since, targets=targets or None)
            context = dataclasses.replace(context, timeline=tuple(timeline))
            previous = store.previous_drift(before_run=context.run_id) if notifier is not None else None
            if args.keep_days is not None:
                store.prune(keep_days=args.keep_days, now=finished)
        finally:
            store.close()
        # On a terminal: the text plan and a line per report. Elsewhere (cron, CI logs): one line.
        talk = sys.stdout.isatty() and not args.quiet
        for spec in reports:
            write_atomic(spec.path, render(spec.fmt, plans, verbose=True, context=context))
            if talk:
                output.note(f"wrote {spec.fmt} report to {spec.path}")
        if notifier is not None:
            soon = waivers.expiring(args.notify_expiring_days, context.started_at.date()) if waivers else []
            expiring = [waiver.ref for waiver in soon]
            payload = build_payload(
                plans, previous_drift=previous, expiring=expiring, run=context, expiring_days=args.notify_expiring_days
            )
            deliver(notifier, payload)
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
