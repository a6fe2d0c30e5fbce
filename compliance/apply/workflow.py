"""``apply``, start to end, for each target of a saved plan.

1. Re-read: the baseline file's SHA-256 and every planned resource's live value must match the
   plan (``StalePlanError`` names what moved; nothing is sent).
2. Backup: the values just re-read, fsynced, its path printed (not for a dry run).
3. Steps in order; the first failure stops the run (applied / failed / not attempted).
4. Verify: everything applied is re-read and compared with the value it was set to.
5. Restarts only with ``--restart-services`` and only after a clean run; otherwise listed.
Every outcome is a line in the audit log.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compliance.apply import backup as backups
from compliance.apply.auditlog import AuditLog
from compliance.apply.commands import Kind, build_steps, host_endpoint, kind_of
from compliance.apply.executor import (
    APPLIED,
    FAILED,
    NOT_ATTEMPTED,
    WHAT_IF,
    Runner,
    Sent,
    StepOutcome,
    run_steps,
)
from compliance.apply.liveread import Observed, observe, read_facts, same_value
from compliance.apply.saved_plan import SavedPlan, SavedTarget, TargetPlan
from compliance.errors import InputError, StalePlanError, UnreachableError
from compliance.plan import Change

Say = Callable[[str], None]


@dataclass
class Options:
    dry_run: bool = False
    restart_services: bool = False
    backup_dir: Path = backups.DEFAULT_DIR
    audit_log: Path = Path(".uccx-compliance/audit.log")
    only: tuple[str, ...] = ()  # --target CHECK_OR_RESOURCE
    allow_insecure_transport: bool = False


@dataclass
class ChangeResult:
    change: Change
    old: Any
    new: Any
    result: str  # applied | failed | not-attempted | what-if | verified | mismatch
    message: str | None = None


@dataclass
class TargetResult:
    target: str
    backup: Path | None = None
    changes: list[ChangeResult] = field(default_factory=list)
    what_if: list[str] = field(default_factory=list)
    restarts_done: list[tuple[str, str]] = field(default_factory=list)
    restarts_pending: list[tuple[str, str]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(c.result in (FAILED, "mismatch") for c in self.changes)


@dataclass
class Connection:
    """The live side of one target: its inventory entry, baseline and password (fetched once)."""

    target: Any  # compliance.inventory.Target
    loaded: Any  # compliance.baseline.LoadedBaseline
    password: str | None
    allow_insecure_transport: bool

    def facts(self) -> Any:
        return read_facts(
            self.target,
            self.loaded,
            password=self.password,
            allow_insecure_transport=self.allow_insecure_transport,
        )

    @contextlib.contextmanager
    def runner(self, host_endpoints: Mapping[str, str]) -> Iterator[Runner]:
        """One runspace pool per endpoint for the run, with the password kept out of every log."""
        from compliance.remoting.secrets import redacting_logs
        from compliance.remoting.session import ConnectOptions, Sessions

        options = ConnectOptions(password=self.password, allow_insecure_transport=self.allow_insecure_transport)
        with redacting_logs(self.password, self.target.username), Sessions(self.target, options) as sessions:
            yield Runner(sessions, {s.name: s.host_url for s in self.target.servers} | dict(host_endpoints))


def sha256_of(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise StalePlanError(f"plan is stale: its baseline {path} cannot be read ({exc.strerror or exc})") from None


def connect(
    saved: SavedTarget,
    variables: dict[str, Any],
    allow_insecure_transport: bool,
    *,
    check_baseline: bool = True,
) -> Connection:
    """The target as the inventory describes it now; refuses a baseline or endpoint that moved."""
    from compliance.inventory import load_inventory
    from compliance.live import target_baseline

    path = Path(saved.baseline["path"])
    if check_baseline and sha256_of(path) != saved.baseline["sha256"]:
        raise StalePlanError(f"plan is stale: baseline {path} changed since the plan was written (sha256 differs)")
    target = load_inventory(Path(saved.inventory)).target(saved.name)
    if target.exchange_endpoint != saved.exchange_endpoint:
        raise StalePlanError(
            f"plan is stale: the inventory now points {saved.name} at {target.exchange_endpoint}, "
            f"the plan was made against {saved.exchange_endpoint}"
        )
    loaded = target_baseline(target, variables, path)
    return Connection(target, loaded, target.password(), allow_insecure_transport)


def select(plan: TargetPlan, only: Sequence[str], say: Say) -> list[Change]:
    """``--target``: the changes whose check id or resource matches, plus what they depend on."""
    if not only:
        return list(plan.changes)
    wanted = {o.casefold() for o in only}
    chosen = [c for c in plan.changes if {c.check.casefold(), c.resource.casefold(), c.identity.casefold()} & wanted]
    policies = {str(c.desired).casefold() for c in chosen if kind_of(c) is Kind.MAILBOX_POLICY}
    policies |= {c.identity.casefold() for c in chosen if kind_of(c) is Kind.THROTTLING_SETTING}
    extra = [
        c
        for c in plan.changes
        if c not in chosen
        and kind_of(c) in (Kind.THROTTLING_POLICY, Kind.THROTTLING_SETTING)
        and c.identity.casefold() in policies
    ]
    if not chosen:
        raise InputError(
            f"--target {', '.join(only)}: matches no change of target {plan.target.name} "
            "(give a check id like UCCX-IMAP-004 or a resource like 'EX01\\Default EX01')"
        )
    say(
        f"warning: --target applies only part of the plan for {plan.target.name}: {len(chosen)} of "
        f"{len(plan.changes)} change(s)" + (f", plus {len(extra)} it depends on" if extra else "")
    )
    keep = set(map(id, chosen + extra))
    return [c for c in plan.changes if id(c) in keep]


def check_fresh(plan: TargetPlan, facts: Any) -> dict[int, Observed]:
    """Each planned change's live value; ``StalePlanError`` if any differs from the plan's current."""
    observed = {i: observe(c, facts) for i, c in enumerate(plan.changes)}
    unreadable = [
        f"{plan.changes[i].check} {plan.changes[i].resource}: {o.error}" for i, o in observed.items() if not o.ok
    ]
    if unreadable:
        raise UnreachableError(
            f"cannot re-read what the plan changes, so nothing was sent: {unreadable[0]}"
            + (f" (and {len(unreadable) - 1} more)" if len(unreadable) > 1 else "")
        )
    moved = [
        f"{c.check} {c.resource} {c.setting or 'presence'} was {_shown(c.current)}, is now {_shown(observed[i].value)}"
        for i, c in enumerate(plan.changes)
        if not same_value(observed[i].value, c.current)
    ]
    if moved:
        raise StalePlanError(
            f"plan is stale: {'; '.join(moved[:3])}"
            + (f"; and {len(moved) - 3} more" if len(moved) > 3 else "")
            + "; nothing was sent; run plan again"
        )
    return observed


def _shown(value: Any) -> str:
    return "$null/absent" if value is None else repr(value) if isinstance(value, str) else str(value)


def apply_target(
    plan: TargetPlan, variables: dict[str, Any], plan_ref: dict[str, str], options: Options, say: Say
) -> TargetResult:

    connection = connect(plan.target, variables, options.allow_insecure_transport)
    audit = AuditLog(options.audit_log, "apply", connection.target.username)
    audit.ensure_writable()
    check_fresh(plan, connection.facts())
    changes = select(plan, options.only, say)
    steps = build_steps(changes)
    result = TargetResult(plan.target.name)
    record: backups.Backup | None = None
    if not options.dry_run:
        entries = [backups.BackupEntry(c, c.current, c.desired) for c in changes]
        record = backups.write_new_backup(
            options.backup_dir,
            plan.target,
            baseline_path=plan.target.baseline["path"],
            variables=variables,
            plan=plan_ref,
            entries=entries,
        )
        result.backup = record.path
        say(f"backup of the prior values: {record.path}")
    with connection.runner(plan.target.host_endpoints) as runner:

        def send(command: Any, what_if: bool) -> Sent:
            return runner.send(command, what_if=what_if)

        def on_outcome(outcome: StepOutcome) -> None:
            _record_step(outcome, changes, result, record, audit, say)

        outcomes = run_steps(send, steps, dry_run=options.dry_run, on_outcome=on_outcome)
        if options.dry_run:
            return result
        applied = [changes[i] for o in outcomes if o.result == APPLIED for i in o.step.changes]
        if any(o.result == FAILED for o in outcomes):
            result.restarts_pending = _restarts(applied)
            return result
        _verify(connection, applied, result, audit)
        restarts = _restarts(applied)
        if options.restart_services and not result.failed:
            _restart(runner, restarts, result, audit, say)
        else:
            result.restarts_pending = restarts
    return result


def _record_step(
    outcome: StepOutcome,
    changes: Sequence[Change],
    result: TargetResult,
    record: backups.Backup | None,
    audit: AuditLog,
    say: Say,
) -> None:
    result.what_if += [line for line in outcome.lines if line.startswith("What if:")]
    audit_result = {APPLIED: "applied", FAILED: "failed", NOT_ATTEMPTED: "skipped", WHAT_IF: "what-if"}[outcome.result]
    for index in outcome.step.changes:
        change = changes[index]
        result.changes.append(ChangeResult(change, change.current, change.desired, outcome.result, outcome.message))
        audit.record(
            result.target,
            change,
            old=change.current,
            new=change.desired,
            result=audit_result,
            message=outcome.message,
        )
        if record is not None:
            record.entries[index].status = outcome.result
    if record is not None:
        backups.save(record)
    verb = {APPLIED: "applied", FAILED: "FAILED", NOT_ATTEMPTED: "not attempted", WHAT_IF: "what if"}[outcome.result]
    for command in outcome.step.commands:
        say(f"{verb}: {command}" + (f": {outcome.message}" if outcome.message and outcome.result == FAILED else ""))
    if outcome.result == WHAT_IF and outcome.message:
        say(f"  ({outcome.message})")
    for line in outcome.lines:
        say(f"  {line}")


def _verify(connection: Connection, applied: Sequence[Change], result: TargetResult, audit: AuditLog) -> None:
    if not applied:
        return
    facts = connection.facts()
    for change in applied:
        seen = observe(change, facts)
        ok = seen.ok and same_value(seen.value, change.desired)
        message = None if ok else (seen.error or f"read back {_shown(seen.value)}, expected {_shown(change.desired)}")
        result.changes.append(
            ChangeResult(change, change.current, change.desired, "verified" if ok else "mismatch", message)
        )
        audit.record(
            result.target,
            change,
            old=change.current,
            new=seen.value if seen.ok else None,
            result="verified" if ok else "mismatch",
            message=message,
        )


def _restarts(applied: Sequence[Change]) -> list[tuple[str, str]]:
    return sorted({(c.server or "", svc) for c in applied for svc in c.requires_restart})


def _restart(
    runner: Runner, restarts: Sequence[tuple[str, str]], result: TargetResult, audit: AuditLog, say: Say
) -> None:
    from compliance.apply.commands import CommandSpec

    for server, service in restarts:
        sent = runner.send(CommandSpec(host_endpoint(server), "Restart-Service", {"Name": service}))
        resource = f"service {service} on {server}"
        audit.record(
            result.target,
            None,
            old=None,
            new="restarted",
            result="failed" if sent.error else "applied",
            message=sent.error,
            resource=resource,
            setting="Restart-Service",
        )
        if sent.error:
            say(f"FAILED: Restart-Service {service} on {server}: {sent.error}")
            result.restarts_pending.append((server, service))
        else:
            say(f"restarted {service} on {server}")
            result.restarts_done.append((server, service))


def apply_saved(saved: SavedPlan, options: Options, say: Say) -> list[TargetResult]:
    """Apply every target of ``saved`` in turn; a failed target stops the ones after it."""
    results = []
    for plan in saved.targets:
        if not plan.changes:
            say(f"target {plan.target.name}: nothing to change")
            continue
        result = apply_target(plan, saved.vars, {"path": str(saved.path), "checksum": saved.checksum}, options, say)
        results.append(result)
        if result.failed:
            break
    return results


def failure_summary(results: Sequence[TargetResult]) -> str | None:
    """One line for the error handler when a change failed or did not verify."""
    for result in results:
        failed = [c for c in result.changes if c.result == FAILED]
        mismatched = [c for c in result.changes if c.result == "mismatch"]
        if failed:
            applied = sum(1 for c in result.changes if c.result == APPLIED)
            skipped = sum(1 for c in result.changes if c.result == NOT_ATTEMPTED)
            first = failed[0]
            backup = f"; backup {result.backup}" if result.backup else ""
            return (
                f"{result.target}: {first.change.check} on {first.change.resource} failed: {first.message}; "
                f"{applied} applied, {len(failed)} failed, {skipped} not attempted{backup}"
            )
        if mismatched:
            first = mismatched[0]
            return (
                f"{result.target}: {len(mismatched)} change(s) did not verify, e.g. {first.change.check} on "
                f"{first.change.resource}: {first.message}"
            )
    return None
