"""``apply``, start to end, for each target of a saved plan.

0. Before any connection: every target's endpoints come from the inventory, and a plan that
   names other ones is refused (``check_targets``; a plan is data, never where to send a password).
1. Re-read: the baseline file's SHA-256 and every planned resource's live value must match the
   plan (``StalePlanError`` names what moved; nothing is sent).
2. Backup: the values just re-read, fsynced, its path printed (not for a dry run).
3. Steps in order; the first failure stops the run (applied / failed / not attempted).
4. Verify: everything applied is re-read and compared with the value it was set to.
5. Restarts only with ``--restart-services`` and only after a clean run; otherwise listed.
Every outcome is a line in the audit log. Reading goes through ``compliance.pipeline``, and what
each change's live value is comes from its resource kind (``compliance.kinds``).
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compliance import pipeline
from compliance.apply import DEFAULT_AUDIT_LOG, DEFAULT_BACKUP_DIR, state
from compliance.apply import backup as backups
from compliance.apply.auditlog import AuditLog, AuditResult
from compliance.apply.commands import build_steps
from compliance.apply.endpoints import check_targets, inventory_target
from compliance.apply.executor import Outcome, Runner, Sent, StepOutcome, run_steps
from compliance.apply.saved_plan import SavedPlan, SavedTarget, TargetPlan
from compliance.baseline import LoadedBaseline
from compliance.cmdlet import CommandSpec, host_endpoint
from compliance.errors import ComplianceError, InputError, StalePlanError, UnreachableError
from compliance.facts.model import Facts
from compliance.facts.values import same_value
from compliance.inventory import Target
from compliance.kinds import handler, service_start
from compliance.kinds.base import FactError, Observed
from compliance.kinds.service_start import ServiceStart
from compliance.plan import Change, ChangeKind

Say = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class Options:
    dry_run: bool = False
    restart_services: bool = False
    backup_dir: Path = DEFAULT_BACKUP_DIR
    audit_log: Path = DEFAULT_AUDIT_LOG
    only: tuple[str, ...] = ()  # --target CHECK_OR_RESOURCE
    allow_insecure_transport: bool = False
    inventory: Path | None = None  # --inventory with a saved plan: the plan must name this file
    state_dir: Path | None = None  # --state-dir; None: $UCCX_COMPLIANCE_STATE_DIR or beside the audit log
    restart_wait: float = 120.0  # --restart-wait: seconds a restarted service has to report Running
    restart_poll: float = 1.0  # seconds between re-reads while waiting


@dataclass(frozen=True, kw_only=True)
class ChangeResult:
    change: Change
    old: Any
    new: Any
    result: Outcome
    message: str | None = None


@dataclass(kw_only=True)
class TargetResult:
    target: str
    backup: Path | None = None
    changes: list[ChangeResult] = field(default_factory=list)
    what_if: list[str] = field(default_factory=list)
    restarts_done: list[tuple[str, str]] = field(default_factory=list)
    restarts_pending: list[tuple[str, str]] = field(default_factory=list)
    restarts_failed: list[tuple[str, str, str]] = field(default_factory=list)  # server, service, why
    # Set when the target stopped before its first step (a stale plan, an unreachable endpoint), in
    # a parallel apply, where one target's refusal must not hide what the others did.
    error: str | None = None
    not_started: bool = False  # parallel: an earlier target failed, so this one was not begun

    @property
    def failed(self) -> bool:
        if self.error is not None:
            return True
        return bool(self.restarts_failed) or any(c.result in (Outcome.FAILED, Outcome.MISMATCH) for c in self.changes)


@dataclass
class Connection:
    """The live side of one target: its inventory entry, baseline and password (fetched once)."""

    target: Target
    loaded: LoadedBaseline
    password: str | None = field(repr=False)
    allow_insecure_transport: bool
    _sessions: Any = field(default=None, repr=False)

    @contextlib.contextmanager
    def opened(self) -> Iterator[Connection]:
        """One runspace pool per endpoint for the whole run: the re-read, the changes and the
        verification go through the same pools (one handshake per endpoint, not three), with the
        password kept out of every log. Every endpoint is the inventory's: a plan or backup only
        names servers, never where they are."""
        from compliance.remoting.secrets import redacting_logs
        from compliance.remoting.session import ConnectOptions, Sessions

        options = ConnectOptions(password=self.password, allow_insecure_transport=self.allow_insecure_transport)
        with redacting_logs(self.password, self.target.username), Sessions(self.target, options) as sessions:
            self._sessions = sessions
            try:
                yield self
            finally:
                self._sessions = None

    def facts(self) -> Facts:
        """The target read live, as ``plan`` reads it, through the run's pools when open."""
        source = pipeline.live(
            self.target,
            self.loaded,
            password=self.password,
            allow_insecure_transport=self.allow_insecure_transport,
            sessions=self._sessions,
        )
        return pipeline.read(source)

    @contextlib.contextmanager
    def runner(self) -> Iterator[Runner]:
        """The command runner on the run's pools (``opened``), or on pools of its own."""
        if self._sessions is not None:
            yield Runner(self._sessions, {s.name: s.host_url for s in self.target.servers})
            return
        with self.opened() as connection:
            yield Runner(connection._sessions, {s.name: s.host_url for s in self.target.servers})


def sha256_of(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise StalePlanError(f"plan is stale: its baseline {path} cannot be read ({exc.strerror or exc})") from None
    except ValueError:  # a NUL in the path: only an edited plan has one
        raise StalePlanError(f"plan is stale: its baseline {str(path)!r} is not a file name") from None


def connect(
    saved: SavedTarget,
    variables: dict[str, Any],
    allow_insecure_transport: bool,
    *,
    source: Path,
    where: str,
    inventory: Path | None = None,
    check_baseline: bool = True,
    what: str = "plan",
) -> Connection:
    """The target as the inventory describes it now; refuses a baseline or endpoint that moved."""
    path = Path(saved.baseline["path"])
    if check_baseline and sha256_of(path) != saved.baseline["sha256"]:
        raise StalePlanError(f"plan is stale: baseline {path} changed since the plan was written (sha256 differs)")
    target = inventory_target(source, where, saved, inventory, what)
    loaded = pipeline.target_baseline(target, variables, path)
    return Connection(target, loaded, target.password(), allow_insecure_transport)


def select(plan: TargetPlan, only: Sequence[str], say: Say) -> list[Change]:
    """``--target``: the changes whose check id or resource matches, plus what they depend on."""
    if not only:
        return list(plan.changes)
    wanted = {o.casefold() for o in only}
    chosen = [c for c in plan.changes if {c.check.casefold(), c.resource.casefold(), c.identity.casefold()} & wanted]
    policies = {str(c.desired).casefold() for c in chosen if c.kind is ChangeKind.MAILBOX_POLICY}
    policies |= {c.identity.casefold() for c in chosen if c.kind is ChangeKind.THROTTLING_SETTING}
    extra = [
        c
        for c in plan.changes
        if c not in chosen
        and c.kind in (ChangeKind.THROTTLING_POLICY, ChangeKind.THROTTLING_SETTING)
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


def observe(change: Change, facts: Facts) -> Observed:
    """The live value of what ``change`` changes, as its resource kind reads it."""
    return handler(change).observe(change, facts)


def check_fresh(plan: TargetPlan, facts: Facts) -> dict[int, Observed]:
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
    plan: TargetPlan,
    variables: dict[str, Any],
    plan_ref: dict[str, str],
    options: Options,
    say: Say,
    *,
    where: str = "targets[0]",
    connection: Connection | None = None,
) -> TargetResult:
    if connection is None:
        connection = connect_planned(plan, variables, plan_ref, options, where)
    audit = AuditLog(options.audit_log, "apply", connection.target.username)
    audit.ensure_writable()
    with connection.opened():
        return _apply_connected(plan, variables, plan_ref, options, say, connection, audit)


def _apply_connected(
    plan: TargetPlan,
    variables: dict[str, Any],
    plan_ref: dict[str, str],
    options: Options,
    say: Say,
    connection: Connection,
    audit: AuditLog,
) -> TargetResult:
    check_fresh(plan, connection.facts())
    changes = select(plan, options.only, say)
    steps = build_steps(changes)
    result = TargetResult(target=plan.target.name)
    record: backups.Backup | None = None
    state_file = state.state_path(state.state_dir(options.state_dir), plan.target.name)
    if not options.dry_run:
        state.load(state_file)  # a damaged state file stops the run before anything is sent
        entries = [backups.BackupEntry(change=c, old=c.current, new=c.desired) for c in changes]
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
    with connection.runner() as runner:

        def send(command: CommandSpec, what_if: bool) -> Sent:
            return runner.send(command, what_if=what_if)

        def on_outcome(outcome: StepOutcome) -> None:
            _record_step(outcome, changes, result, record, audit, say)
            if outcome.result is Outcome.APPLIED:
                _record_change_times(state_file, plan.target.name, [changes[i] for i in outcome.step.changes])

        outcomes = run_steps(send, steps, dry_run=options.dry_run, on_outcome=on_outcome)
        if options.dry_run:
            return result
        applied = [changes[i] for o in outcomes if o.result is Outcome.APPLIED for i in o.step.changes]
        if any(o.result is Outcome.FAILED for o in outcomes):
            result.restarts_pending = _restarts(applied)
            return result
        verify(connection, [(c, c.current, c.desired) for c in applied], result, audit)
        restarts = _restarts(applied)
        if options.restart_services and not result.failed:
            _restart(runner, restarts, result, audit, say, options)
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
    audit_result = _AUDITED[outcome.result]
    for index in outcome.step.changes:
        change = changes[index]
        result.changes.append(
            ChangeResult(
                change=change, old=change.current, new=change.desired, result=outcome.result, message=outcome.message
            )
        )
        audit.record(
            result.target,
            change,
            old=change.current,
            new=change.desired,
            result=audit_result,
            message=outcome.message,
        )
        if record is not None:
            record.entries[index].status = outcome.result.value
    if record is not None:
        backups.save(record)
    verb = _VERBS[outcome.result]
    failed = outcome.result is Outcome.FAILED
    for command in outcome.step.commands:
        say(f"{verb}: {command}" + (f": {outcome.message}" if outcome.message and failed else ""))
    if outcome.result is Outcome.WHAT_IF and outcome.message:
        say(f"  ({outcome.message})")
    for line in outcome.lines:
        say(f"  {line}")


_AUDITED = {
    Outcome.APPLIED: AuditResult.APPLIED,
    Outcome.FAILED: AuditResult.FAILED,
    Outcome.NOT_ATTEMPTED: AuditResult.SKIPPED,
    Outcome.WHAT_IF: AuditResult.WHAT_IF,
}
_VERBS = {
    Outcome.APPLIED: "applied",
    Outcome.FAILED: "FAILED",
    Outcome.NOT_ATTEMPTED: "not attempted",
    Outcome.WHAT_IF: "what if",
}


def verify(
    connection: Connection, sent: Sequence[tuple[Change, Any, Any]], result: TargetResult, audit: AuditLog
) -> None:
    """Re-read everything sent and compare: ``(change, value before, value it was set to)`` each.

    Apply verifies a change against its desired value; rollback against the value it restored.
    """
    if not sent:
        return
    facts = connection.facts()
    for change, before, expected in sent:
        seen = observe(change, facts)
        ok = seen.ok and same_value(seen.value, expected)
        message = None if ok else (seen.error or f"read back {_shown(seen.value)}, expected {_shown(expected)}")
        outcome = Outcome.VERIFIED if ok else Outcome.MISMATCH
        result.changes.append(ChangeResult(change=change, old=before, new=expected, result=outcome, message=message))
        audit.record(
            result.target,
            change,
            old=before,
            new=seen.value if seen.ok else None,
            result=AuditResult.VERIFIED if ok else AuditResult.MISMATCH,
            message=message,
        )


def _restarts(applied: Sequence[Change]) -> list[tuple[str, str]]:
    return sorted({(c.server or "", svc) for c in applied for svc in c.requires_restart})


def _record_change_times(path: Path, target: str, applied: Sequence[Change]) -> None:
    """When each applied change that needs a restart was made, for plan's restart-pending check.

    Taken when the step returned, so never before the value was written; written at once, so a
    run that stops later still leaves the record (compliance.apply.state).
    """
    now = datetime.datetime.now(datetime.timezone.utc)
    records = [
        state.ChangeRecord(c.server or "", c.check, c.setting, c.requires_restart, now)
        for c in applied
        if c.requires_restart
    ]
    if records:
        state.record(path, target, records)


def service_starts(runner: Runner, server: str, services: Sequence[str]) -> list[ServiceStart]:
    """``services`` on ``server`` as the service_start kind reads them; ``FactError`` when unreadable."""
    from compliance.remoting.convert import from_pypsrp

    kind = service_start.KIND
    objects: list[Any] = []
    for reads in (kind.service_reads(services), None):
        for command in reads if reads is not None else kind.process_reads(objects):
            sent = runner.send(CommandSpec(host_endpoint(server), command.cmdlet, dict(command.parameters)))
            if sent.error:
                raise FactError(sent.error)
            objects += [from_pypsrp(o) for o in sent.output]
    return kind.parse(objects, server)


def _restart(
    runner: Runner,
    restarts: Sequence[tuple[str, str]],
    result: TargetResult,
    audit: AuditLog,
    say: Say,
    options: Options,
) -> None:
    """Each (server, service) once, after every change: restart, wait for Running, check the start moved."""
    for server, service in restarts:
        resource = f"service {service} on {server}"
        try:
            before = _start_of(service_starts(runner, server, [service]), service)
        except FactError as exc:
            before = None
            say(f"warning: start time of {service} on {server} before the restart not read: {exc}")
        sent = runner.send(CommandSpec(host_endpoint(server), "Restart-Service", {"Name": service}))
        failure = sent.error or _wait_running(runner, server, service, before, options)
        audit.record(
            result.target,
            None,
            old=None if before is None else before.isoformat(),
            new="restarted",
            result=AuditResult.FAILED if failure else AuditResult.APPLIED,
            message=failure,
            resource=resource,
            setting="Restart-Service",
        )
        if failure:
            say(f"FAILED: Restart-Service {service} on {server}: {failure}")
            result.restarts_failed.append((server, service, failure))
            result.restarts_pending.append((server, service))
        else:
            say(f"restarted {service} on {server}")
            result.restarts_done.append((server, service))


def _start_of(starts: Sequence[ServiceStart], service: str) -> datetime.datetime | None:
    found = next((s for s in starts if s.name.casefold() == service.casefold()), None)
    return found.started if found is not None and found.state.casefold() == "running" else None


def _wait_running(
    runner: Runner, server: str, service: str, before: datetime.datetime | None, options: Options
) -> str | None:
    """None once ``service`` reports Running with a start later than ``before``; else why not."""
    deadline = time.monotonic() + options.restart_wait
    seen = "not read"
    while True:
        try:
            starts = service_starts(runner, server, [service])
            found = next((s for s in starts if s.name.casefold() == service.casefold()), None)
            started = _start_of(starts, service)
            seen = f"State {found.state if found else 'absent'}" + (
                f", up since {started.isoformat()}" if started else ""
            )
            if started is not None and (before is None or started > before):
                return None
        except FactError as exc:
            seen = f"start time not read: {exc}"
        if time.monotonic() >= deadline:
            moved = "" if before is None else f"; before the restart it was up since {before.isoformat()}"
            return f"did not report Running with a new start time within {options.restart_wait:g} s ({seen}{moved})"
        time.sleep(options.restart_poll)


def connect_planned(
    plan: TargetPlan, variables: dict[str, Any], plan_ref: dict[str, str], options: Options, where: str
) -> Connection:
    """The target of a saved plan as the inventory describes it (its password fetched here)."""
    return connect(
        plan.target,
        variables,
        options.allow_insecure_transport,
        source=Path(plan_ref["path"]),
        where=where,
        inventory=options.inventory,
    )


def apply_saved(saved: SavedPlan, options: Options, say: Say, *, parallel: int = 1) -> list[TargetResult]:
    """Apply every target of ``saved``; a failed target stops the ones after it.

    With ``parallel`` > 1, up to that many targets are applied at once (compliance/fleet.py). Each
    keeps its own backup, audit lines and verification, so one target's failure never touches
    another's rollback safety; a failure stops targets not yet begun (``not_started``), and every
    target's lines come out together, in the plan's order. Passwords and baselines are checked for
    every target first, in this thread, before anything is sent.
    """
    check_targets(saved, options.inventory)
    plan_ref = {"path": str(saved.path), "checksum": saved.checksum}
    if parallel <= 1:
        results = []
        for index, plan in enumerate(saved.targets):
            if not plan.changes:
                say(f"target {plan.target.name}: nothing to change")
                continue
            result = apply_target(plan, saved.vars, plan_ref, options, say, where=f"targets[{index}]")
            results.append(result)
            if result.failed:
                break
        return results
    return _apply_in_parallel(saved, options, say, plan_ref, parallel)


def _apply_in_parallel(
    saved: SavedPlan, options: Options, say: Say, plan_ref: dict[str, str], parallel: int
) -> list[TargetResult]:
    import threading

    from compliance import fleet

    todo = [(i, p) for i, p in enumerate(saved.targets) if p.changes]
    for plan in saved.targets:
        if not plan.changes:
            say(f"target {plan.target.name}: nothing to change")
    connections = {i: connect_planned(p, saved.vars, plan_ref, options, f"targets[{i}]") for i, p in todo}
    stop = threading.Event()

    def work(item: tuple[int, TargetPlan], progress: fleet.Progress) -> tuple[TargetResult, list[str]]:
        index, plan = item
        lines: list[str] = []
        if stop.is_set():
            lines.append(f"target {plan.target.name}: not started: an earlier target failed")
            return TargetResult(target=plan.target.name, not_started=True), lines
        try:
            with fleet.reporting(progress):
                result = apply_target(
                    plan,
                    saved.vars,
                    plan_ref,
                    options,
                    lines.append,
                    where=f"targets[{index}]",
                    connection=connections[index],
                )
        except ComplianceError as exc:
            result = TargetResult(target=plan.target.name, error=str(exc))
            lines.append(f"target {plan.target.name}: {exc}")
        if result.failed:
            stop.set()
        return result, lines

    results = []
    for outcome in fleet.run_all(todo, work, parallel=parallel):
        if outcome.error is not None:
            raise outcome.error  # a bug, not a target's refusal: the CLI's handler names it
        assert outcome.result is not None
        result, lines = outcome.result
        for line in lines:
            say(line)
        results.append(result)
    return results


def failure_summary(results: Sequence[TargetResult]) -> str | None:
    """One line for the error handler when a change failed or did not verify."""
    for result in results:
        if result.error is not None:
            others = sum(1 for r in results if r is not result and not r.not_started and not r.failed)
            return f"target {result.target}: {result.error}; {others} other target(s) applied (results above)"
        failed = [c for c in result.changes if c.result is Outcome.FAILED]
        mismatched = [c for c in result.changes if c.result is Outcome.MISMATCH]
        if failed:
            applied = sum(1 for c in result.changes if c.result is Outcome.APPLIED)
            skipped = sum(1 for c in result.changes if c.result is Outcome.NOT_ATTEMPTED)
            first = failed[0]
            backup = f"; backup {result.backup}" if result.backup else ""
            return (
                f"{result.target}: {first.change.check} on {first.change.resource} failed: {first.message}; "
                f"{applied} applied, {len(failed)} failed, {skipped} not attempted{backup}"
            )
        if result.restarts_failed:
            server, service, why = result.restarts_failed[0]
            return f"{result.target}: restart of {service} on {server} failed: {why}"
        if mismatched:
            first = mismatched[0]
            return (
                f"{result.target}: {len(mismatched)} change(s) did not verify, e.g. {first.change.check} on "
                f"{first.change.resource}: {first.message}"
            )
    return None
