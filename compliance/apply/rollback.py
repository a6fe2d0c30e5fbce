"""``rollback BACKUP.json``: put back the values an apply replaced, judged against the live state.

Each entry is re-read first. Already at its prior value: nothing to do. At the value apply set:
restored. Anything else means someone changed it since: rollback refuses before sending anything
rather than overwrite that. A policy apply created is removed only if no mailbox uses it any more
(checked just before ``Remove-ThrottlingPolicy``, after the UCCX mailbox was put back).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from compliance.apply.auditlog import AuditLog, AuditResult
from compliance.apply.backup import Backup, BackupEntry
from compliance.apply.commands import inverse_command, rollback_order
from compliance.apply.executor import Outcome, Runner
from compliance.apply.workflow import ChangeResult, Connection, Options, TargetResult, connect, observe, verify
from compliance.cmdlet import EXCHANGE, CommandSpec
from compliance.errors import StalePlanError, UnreachableError
from compliance.facts.model import Facts
from compliance.facts.values import normalize, same_value
from compliance.plan import Action, ChangeKind

Say = Callable[[str], None]


@dataclass(frozen=True)
class Undo:
    entry: BackupEntry
    command: CommandSpec | None  # None: nothing to send
    reason: str | None = None  # why nothing is sent


def plan_rollback(backup: Backup, facts: Facts) -> list[Undo]:
    """What to send for each entry, in rollback order; refuses if a value moved since apply."""
    changes = [e.change for e in backup.entries]
    undos: list[Undo] = []
    conflicts: list[str] = []
    unreadable: list[str] = []
    for index in rollback_order(changes):
        entry = backup.entries[index]
        change = entry.change
        seen = observe(change, facts)
        if not seen.ok:
            unreadable.append(f"{change.check} {change.resource}: {seen.error}")
            continue
        if change.kind is ChangeKind.THROTTLING_SETTING and change.action is Action.CREATE:
            undos.append(Undo(entry, None, "a setting of the policy apply created; removed with it"))
        elif same_value(seen.value, entry.old):
            undos.append(Undo(entry, None, "already at its prior value"))
        elif same_value(seen.value, entry.new):
            undos.append(Undo(entry, inverse_command(change, entry.old)))
        else:
            conflicts.append(
                f"{change.check} {change.resource} {change.setting or 'presence'} is now {seen.value!r}; "
                f"apply set {entry.new!r}, before it was {entry.old!r}"
            )
    if unreadable:
        raise UnreachableError(f"cannot re-read what the backup restores, so nothing was sent: {unreadable[0]}")
    if conflicts:
        raise StalePlanError(f"cannot roll back: changed since apply: {'; '.join(conflicts[:3])}; nothing was sent")
    return undos


def mailboxes_using(runner: Runner, policy: str) -> list[str] | None:
    """Mailboxes whose ThrottlingPolicy is ``policy``; None if that cannot be known for certain."""
    from compliance.remoting.convert import from_pypsrp

    sent = runner.send(CommandSpec(EXCHANGE, "Get-Mailbox", {"ResultSize": "Unlimited"}))
    if sent.error is not None:
        return None
    names = []
    for item in sent.output:
        obj = from_pypsrp(item)
        assigned = normalize(obj.get("ThrottlingPolicy")).shown if hasattr(obj, "get") else None
        if isinstance(assigned, str) and assigned.casefold() == policy.casefold():
            names.append(str(obj.get("Name") or obj.get("Identity")))
    return names


def rollback(backup: Backup, options: Options, say: Say, approve: Callable[[Sequence[Undo]], bool]) -> TargetResult:
    connection = connect(
        backup.target,
        backup.vars,
        options.allow_insecure_transport,
        source=backup.path,
        where="target",
        inventory=options.inventory,
        check_baseline=False,
        what="backup",
    )
    audit = AuditLog(options.audit_log, "rollback", connection.target.username)
    audit.ensure_writable()
    with connection.opened():  # the re-read, the undos and the verification share one pool per endpoint
        return _rollback_connected(backup, options, say, approve, connection, audit)


def _rollback_connected(
    backup: Backup,
    options: Options,
    say: Say,
    approve: Callable[[Sequence[Undo]], bool],
    connection: Connection,
    audit: AuditLog,
) -> TargetResult:
    undos = plan_rollback(backup, connection.facts())
    result = TargetResult(target=backup.target.name)
    for undo in undos:
        change = undo.entry.change
        say(
            f"  {change.check} {change.resource} {change.setting or ''}: "
            + (f"{undo.command}" if undo.command else f"nothing to do ({undo.reason})")
        )
    if not any(u.command for u in undos):
        say("nothing to roll back")
        return result
    if not options.dry_run and not approve(undos):
        say("rollback cancelled; nothing was sent")
        return result
    with connection.runner() as runner:
        restored = _send_undos(runner, undos, options, result, audit, say)
    if not options.dry_run:
        verify(connection, [(u.entry.change, u.entry.new, u.entry.old) for u in restored], result, audit)
        result.restarts_pending = sorted(
            {(u.entry.change.server or "", svc) for u in restored for svc in u.entry.change.requires_restart}
        )
    return result


def _send_undos(
    runner: Runner, undos: Sequence[Undo], options: Options, result: TargetResult, audit: AuditLog, say: Say
) -> list[Undo]:
    restored: list[Undo] = []
    stopped = False
    for undo in undos:
        change, entry = undo.entry.change, undo.entry
        if undo.command is None:
            audit.record(
                result.target, change, old=entry.new, new=entry.old, result=AuditResult.SKIPPED, message=undo.reason
            )
            continue
        if stopped:
            result.changes.append(
                ChangeResult(change=change, old=entry.new, new=entry.old, result=Outcome.NOT_ATTEMPTED)
            )
            audit.record(
                result.target,
                change,
                old=entry.new,
                new=entry.old,
                result=AuditResult.SKIPPED,
                message="not attempted: an earlier restore failed",
            )
            continue
        if undo.command.cmdlet == "Remove-ThrottlingPolicy" and not options.dry_run:
            users = mailboxes_using(runner, change.identity)
            if users is None or users:
                why = ("still assigned to " + ", ".join(users)) if users else "cannot tell whether a mailbox uses it"
                say(f"kept throttling policy {change.identity}: {why}")
                audit.record(
                    result.target, change, old=entry.new, new=entry.old, result=AuditResult.SKIPPED, message=why
                )
                continue
        sent = runner.send(undo.command, what_if=options.dry_run)
        for line in sent.lines:
            say(f"  {line}")
        result.what_if += [line for line in sent.lines if line.startswith("What if:")]
        outcome = Outcome.FAILED if sent.error else (Outcome.WHAT_IF if options.dry_run else Outcome.APPLIED)
        say(f"{'FAILED' if sent.error else outcome.value}: {undo.command}" + (f": {sent.error}" if sent.error else ""))
        result.changes.append(
            ChangeResult(change=change, old=entry.new, new=entry.old, result=outcome, message=sent.error)
        )
        audited = {Outcome.FAILED: AuditResult.FAILED, Outcome.WHAT_IF: AuditResult.WHAT_IF}
        audit.record(
            result.target,
            change,
            old=entry.new,
            new=entry.old,
            result=audited.get(outcome, AuditResult.APPLIED),
            message=sent.error,
        )
        if sent.error:
            stopped = True
        elif not options.dry_run:
            restored.append(undo)
    return restored
