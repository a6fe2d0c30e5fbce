"""Event-log conditions: session-limit events (9646) and connector refusals (1021).

Times at the calendar's edge: an event logged at ``0001-01-01T00:00:00+14:00`` cannot be placed in
UTC, and a window of 7 days back from ``0001-01-03`` starts before year 1. Either makes that
server's event check unreadable with the reason (``TimeWindowError``), never compliant or drift.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator

from compliance.baseline.model import EventLogRule, Rules
from compliance.checks.eventfix import before_fix
from compliance.checks.host import servers_with_role
from compliance.checks.restarts import RestartGate
from compliance.facts.model import Facts, server_file
from compliance.facts.offline import COLLECTED_AT, COLLECTION_INFO
from compliance.kinds import event_log, exchange_server
from compliance.kinds.event_log import EventRecord
from compliance.plan import Compliant, Finding, Result, Unreadable

_SESSION_LIMIT = re.compile(
    r'Mapi session "(?P<user>[^"]+)".*?exceeded the maximum of (?P<limit>\d+) objects of type "(?P<kind>\w+)"'
)


class TimeWindowError(ValueError):
    """A time the event window cannot use; the message, naming its file, is the unreadable reason."""


def in_window(records: list[EventRecord], rule: EventLogRule, now: datetime.datetime | None) -> list[EventRecord]:
    """Events of the rule within its lookback, measured back from the collection time when known."""
    matching = [r for r in records if r.event_id == rule.event_id and r.provider.casefold() == rule.provider.casefold()]
    if now is None:
        return matching  # no collection time: the collector already filtered by StartTime
    try:
        since = _aware(now) - datetime.timedelta(days=rule.lookback_days)
    except OverflowError:
        raise TimeWindowError(
            f"{COLLECTION_INFO}: the {rule.lookback_days}-day event window back from {COLLECTED_AT} "
            f"{now.isoformat()} starts before year 1"
        ) from None
    return [r for r in matching if r.time is None or _event_time(r) >= since]


def _aware(when: datetime.datetime) -> datetime.datetime:
    """In UTC; a time without a zone is taken as UTC (Export-Clixml writes the zone when it knows it)."""
    if when.tzinfo is None:
        return when.replace(tzinfo=datetime.timezone.utc)
    return when.astimezone(datetime.timezone.utc)


def _event_time(record: EventRecord) -> datetime.datetime:
    """The record's time in UTC, or ``TimeWindowError`` when it falls outside the calendar there."""
    assert record.time is not None
    try:
        return _aware(record.time)
    except OverflowError:
        raise TimeWindowError(
            f"{server_file(event_log.KIND.stem, record.server)}.xml: event {record.event_id} at "
            f"{record.time.isoformat()} cannot be placed in UTC (outside years 1-9999)"
        ) from None


def describe(records: list[EventRecord]) -> str:
    times = sorted(_event_time(r) for r in records if r.time)
    text = f"{len(records)} event(s)"
    if times:
        text += f", first {times[0]:%Y-%m-%d %H:%M} UTC, last {times[-1]:%Y-%m-%d %H:%M} UTC"
    match = next((m for r in records if (m := _SESSION_LIMIT.search(r.message))), None)
    if match:
        text += f"; session {match['user']} hit the limit of {match['limit']} {match['kind']} objects"
    return text


def _before_restart(event: EventRecord, rule: EventLogRule, rules: Rules, gate: RestartGate | None) -> bool:
    """Logged after its fix was set but before the service restarted onto it: current, not history.

    An event at the old limit is history only once the fix is in effect: logged before the
    service started onto the changed value. While the restart is pending, every event logged
    since the change is current. Unknown change time: ``before_fix`` alone decides (the restart
    check of the fix is then unreadable, so the verdict cannot be compliant anyway).
    """
    if gate is None or event.time is None:
        return False
    for fix in (r for r in rules.registry_values if r.id in rule.fixed_by and r.restart_service):
        effect = gate.effect(event.server, fix.id, (fix.restart_service or "",))
        if effect.changed is None:
            continue
        if effect.since is not None:
            if _event_time(event) >= effect.since:
                return True
        elif _event_time(event) >= effect.changed:
            return True
    return False


def check_event_log(
    rule: EventLogRule, facts: Facts, rules: Rules, gate: RestartGate | None = None
) -> Iterator[Result]:
    servers = servers_with_role(facts, rule.role)
    if servers is None:
        reason = facts.of(exchange_server.KIND).reason
        yield Unreadable(check=rule.id, resource=f"event log on {rule.role} servers", reason=reason)
        return
    for server in servers:
        resource = f"event log on {server.name}"
        reading = facts.on(event_log.KIND, server.name)
        if (records := reading.get()) is None:
            yield Unreadable(check=rule.id, resource=resource, reason=reading.reason)
            continue
        try:
            window = in_window(records, rule, facts.collected_at)
            history = [
                e
                for e in window
                if before_fix(rules, rule.fixed_by, facts, e) and not _before_restart(e, rule, rules, gate)
            ]
            hits = [e for e in window if e not in history]
            described = (describe(history), describe(hits))
        except TimeWindowError as exc:
            yield Unreadable(check=rule.id, resource=resource, reason=str(exc))
            continue
        if len(hits) <= rule.max_count:
            earlier = (
                (
                    f"; {described[0]} logged at a lower limit than today's, before "
                    f"{', '.join(rule.fixed_by)} was applied"
                )
                if history
                else ""
            )
            yield Compliant(
                check=rule.id,
                title=rule.title,
                resource=resource,
                evidence=f"no {rule.provider} {rule.event_id} events in {rule.lookback_days} days{earlier}",
            )
            continue
        fix = f"; fixed by {', '.join(rule.fixed_by)}" if rule.fixed_by else ""
        yield Finding(
            check=rule.id,
            title=rule.title,
            severity=rule.severity.value,
            resource=resource,
            message=f"{rule.provider} {rule.event_id}: {described[1]}{fix}",
            fixed_by=tuple(rule.fixed_by),
        )
