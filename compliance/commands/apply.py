"""``uccx-compliance apply``: make the changes of a reviewed plan on the live targets."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from compliance.apply.saved_plan import SavedPlan
    from compliance.apply.workflow import Options, TargetResult

HELP = "apply a saved plan (PLAN.json) or, after confirmation, a fresh plan of --inventory FILE"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "plan",
        nargs="?",
        type=Path,
        metavar="PLAN.json",
        help="a plan written by: plan --inventory FILE --format json --out PLAN.json",
    )
    parser.add_argument(
        "--inventory",
        type=Path,
        metavar="FILE",
        help="alone: plan the inventory now, show it, ask, apply. With PLAN.json: the inventory it was "
        "planned from, required unless the plan is signed (endpoints and credentials come only from it)",
    )
    parser.add_argument(
        "--baseline", type=Path, metavar="FILE", help="with --inventory: override each target's baseline"
    )
    parser.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="with --inventory: override a baseline var (repeatable)",
    )
    add_run_arguments(parser)
    parser.add_argument(
        "--target",
        dest="only",
        action="append",
        default=[],
        metavar="CHECK_OR_RESOURCE",
        help="only the changes of this check id or resource (repeatable; warns)",
    )
    parser.add_argument(
        "--restart-services",
        action="store_true",
        help="restart the services the changes need (IMAP4, Information Store) after a clean run",
    )
    parser.add_argument(
        "--restart-wait",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="with --restart-services: how long a restarted service has to report Running with a new "
        "start time before the restart counts as failed (default: 120)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        metavar="DIR",
        help="where apply records when each restart-dependent setting changed, per target "
        "(default: $UCCX_COMPLIANCE_STATE_DIR, else .uccx-compliance/state); plan --state-dir reads it",
    )


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Options apply and rollback share."""
    from compliance.apply import DEFAULT_AUDIT_LOG, DEFAULT_BACKUP_DIR

    parser.add_argument("--dry-run", action="store_true", help="send every change with -WhatIf; nothing changes")
    parser.add_argument("--auto-approve", action="store_true", help="do not ask for confirmation")
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="result format on stdout (json: progress goes to stderr)",
    )
    parser.add_argument(
        "--backup-dir",
        type=Path,
        default=DEFAULT_BACKUP_DIR,
        metavar="DIR",
        help=f"where the backup of prior values is written (default: {DEFAULT_BACKUP_DIR})",
    )
    parser.add_argument(
        "--audit-log",
        type=Path,
        default=DEFAULT_AUDIT_LOG,
        metavar="FILE",
        help=f"JSON-lines audit log to append to (default: {DEFAULT_AUDIT_LOG})",
    )
    parser.add_argument(
        "--allow-insecure-transport",
        action="store_true",
        help="allow Basic/certificate authentication over plain HTTP (sends secrets in clear)",
    )
    parser.add_argument(
        "--parallel",
        type=int,
        default=1,
        metavar="N",
        help="apply up to N targets at once (default: 1, one after another); each keeps its own "
        "backup and verification, and a failure stops the targets not yet begun (docs/fleet.md)",
    )


def options(args: argparse.Namespace) -> Options:
    from compliance.apply.workflow import Options

    return Options(
        dry_run=args.dry_run,
        restart_services=getattr(args, "restart_services", False),
        backup_dir=args.backup_dir,
        audit_log=args.audit_log,
        only=tuple(getattr(args, "only", ())),
        allow_insecure_transport=args.allow_insecure_transport,
        inventory=getattr(args, "inventory", None),
        state_dir=getattr(args, "state_dir", None),
        restart_wait=max(0.0, getattr(args, "restart_wait", 120.0)),
    )


def say_for(args: argparse.Namespace) -> Any:
    """Progress lines: stdout for text, stderr when stdout carries the JSON result.

    Through the output layer: a closed stdout drops them and the run goes on to its end (the
    audit log and backup are files); ``compliance.cli`` then exits 5 (docs/exit-codes.md).
    """
    from compliance import output

    to_stderr = args.format == "json"

    def say(line: str) -> None:
        output.say(line, to_stderr=to_stderr)  # a line break inside ``line`` is shown as \n too

    return say


def confirm(question: str, auto_approve: bool) -> bool:
    """``yes`` typed on a terminal, or ``--auto-approve``; without a terminal, refuse."""
    from compliance.errors import InputError

    if auto_approve:
        return True
    if not sys.stdin.isatty():
        raise InputError("no terminal to confirm on: review a saved plan and apply it, or pass --auto-approve")
    answer = input(f"{question} Only 'yes' will be accepted: ")
    return answer.strip() == "yes"


def run(args: argparse.Namespace) -> int:
    from compliance.apply.saved_plan import read_saved_plan
    from compliance.apply.workflow import apply_saved

    say = say_for(args)
    if args.plan is None and args.inventory is None:
        from compliance.errors import InputError

        raise InputError("apply needs PLAN.json (a saved plan) or --inventory FILE (plan now, then apply)")
    if args.plan is not None:
        if args.var or args.baseline:
            from compliance.errors import InputError

            raise InputError("--var and --baseline belong to plan; a saved plan already fixes them")
        saved = read_saved_plan(args.plan)
        for line in waived_lines(saved.document):
            say(line)
    else:
        fresh = plan_now(args, say)
        if fresh is None:
            return 0
        saved = fresh
    if args.parallel < 1:
        from compliance.errors import InputError

        raise InputError(f"--parallel: expected 1 or more, got {args.parallel}")
    results = apply_saved(saved, options(args), say, parallel=args.parallel)
    return report(args, results)


def waived_lines(document: dict[str, Any]) -> list[str]:
    """What the saved plan's waivers held back: never sent (apply sends ``changes`` only), but said."""
    lines = []
    for entry in document.get("waived") or []:
        if not isinstance(entry, dict):
            continue
        waiver = entry.get("waiver")
        if not isinstance(waiver, dict):
            waiver = {}
        target = f"target {entry.get('target')}: " if entry.get("target") else ""
        what = f"{entry.get('check')} {entry.get('resource')} {entry.get('setting') or ''}".rstrip()
        lines.append(
            f"{target}not applied, waived until {waiver.get('expires')} by {waiver.get('approver')} "
            f"({waiver.get('source')}): {what}"
        )
    return lines


def plan_now(args: argparse.Namespace, say: Any) -> SavedPlan | None:
    """``--inventory``: plan, print the plan, ask; the plan is then applied like a saved one."""
    from compliance.apply.saved_plan import build_document, plan_from_document
    from compliance.baseline import parse_var_overrides
    from compliance.pipeline import plan_inventory
    from compliance.reporters import render

    overrides = parse_var_overrides(args.var)
    plans = plan_inventory(
        args.inventory,
        overrides,
        baseline=args.baseline,
        allow_insecure_transport=args.allow_insecure_transport,
    )
    for line in render("text", plans).rstrip("\n").split("\n"):
        say(line)
    if not any(p.changes for p in plans):
        say("nothing to apply")
        return None
    saved = plan_from_document(Path(f"<plan of {args.inventory}>"), build_document(plans, args.inventory, overrides))
    if not args.dry_run and not confirm("Apply these changes?", args.auto_approve):
        say("apply cancelled; nothing was sent")
        return None
    return saved


def result_dict(results: list[TargetResult], dry_run: bool) -> dict[str, Any]:
    targets = []
    for r in results:
        targets.append(
            {
                "target": r.target,
                "backup": str(r.backup) if r.backup else None,
                "changes": [
                    {
                        "check": c.change.check,
                        "resource": c.change.resource,
                        "setting": c.change.setting,
                        "old": c.old,
                        "new": c.new,
                        "result": c.result.value,
                        "message": c.message,
                    }
                    for c in r.changes
                ],
                "what_if": r.what_if,
                "restarts_done": [{"server": s, "service": v} for s, v in r.restarts_done],
                "restarts_pending": [{"server": s, "service": v} for s, v in r.restarts_pending],
                "restarts_failed": [{"server": s, "service": v, "message": m} for s, v, m in r.restarts_failed],
            }
        )
    pending = [
        {"target": r.target, "server": server, "service": service}
        for r in results
        for server, service in r.restarts_pending
    ]
    return {
        "kind": "uccx-compliance/apply-result",
        "dry_run": dry_run,
        "targets": targets,
        "restarts_pending": pending,
    }


def report(args: argparse.Namespace, results: list[TargetResult]) -> int:
    import json

    from compliance.apply.workflow import failure_summary
    from compliance.errors import ApplyError

    say = say_for(args)
    for result in results:
        if result.restarts_pending:
            say(
                f"{result.target}: restarts pending (run with --restart-services, or restart them in a "
                "maintenance window): " + ", ".join(f"{svc} on {srv}" for srv, svc in result.restarts_pending)
            )
    if args.format == "json":
        from compliance import output

        output.write_out(json.dumps(result_dict(results, args.dry_run), indent=2, default=str) + "\n")
    failure = failure_summary(results)
    if failure is not None:
        raise ApplyError(failure)
    return 0
