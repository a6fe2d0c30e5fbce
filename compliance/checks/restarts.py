"""Restart pending: a setting a service reads at start is compliant only once that service restarted.

MSExchangeIMAP4 (and MSExchangeIMAP4BE on 2013+) read the IMAP settings at start; the Information
Store reads the KB 980049 registry value at start. A check of such a setting whose value meets the
baseline is judged again here (docs/baselines.md, "Restart pending"):

- when the setting was last changed: the later of our own apply record (``compliance.apply.state``)
  and Exchange's own evidence (``WhenChangedUTC`` of the IMAP settings object; the registry value
  has none that PowerShell 2.0 can read without P/Invoke);
- when each service's process started (``compliance.kinds.service_start``).

Every service started after the change: compliant, with both times as evidence. A service that
started before the change, or is not running: a finding, ``restart pending: MSExchangeIS on EX01
(value set ..., service up since ...)`` (drift, exit 2). Either time unknown: unreadable (exit 3),
never compliant. A value set long ago with no apply record is in effect when ``WhenChangedUTC``
is older than the service's start; a registry value with no apply record is unreadable.

Times are compared in UTC. Our record uses this machine's clock and the start time the server's;
a skew between the two shifts the verdict by that much (docs/apply.md).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path

from compliance.apply import state
from compliance.apply.state import ChangeRecord
from compliance.errors import InputError
from compliance.facts.model import Facts, server_file
from compliance.facts.values import Setting, utc_time
from compliance.kinds import service_start
from compliance.plan import Compliant, Finding, Result, Unreadable


@dataclass(frozen=True)
class ApplyRecords:
    """Apply's change records for one target, or why there are none to read."""

    where: str  # the state file, as reasons name it
    records: tuple[ChangeRecord, ...] = ()
    error: str | None = None  # the state file exists but could not be read

    @classmethod
    def of_target(cls, target: str | None, state_dir: Path | None = None) -> ApplyRecords:
        """The records ``plan`` sees: the target's state file; none for an offline facts folder."""
        if target is None:
            return NO_TARGET
        path = state.state_path(state.state_dir(state_dir), target)
        try:
            return cls(str(path), tuple(state.load(path)))
        except InputError as exc:
            return cls(str(path), error=str(exc))

    @classmethod
    def at(cls, path: Path) -> ApplyRecords:
        return cls(str(path), tuple(state.load(path)))


NO_TARGET = ApplyRecords(where="no apply records (a facts folder names no inventory target)")


def shown(when: datetime.datetime) -> str:
    return f"{when.astimezone(datetime.timezone.utc):%Y-%m-%d %H:%M:%S} UTC"


def when_changed(settings_value: Setting | None) -> datetime.datetime | None:
    """``WhenChangedUTC`` as read (``2026-10-02 13:05:12+00:00``), in UTC; None when absent or not a time."""
    if settings_value is None or settings_value.shown is None:
        return None
    try:
        return utc_time(settings_value.shown)
    except ValueError:
        return None


@dataclass(frozen=True)
class Effect:
    """Whether a setting's change is in effect on one server's services."""

    changed: datetime.datetime | None  # the latest known change; None when unknown
    source: str  # where ``changed`` came from
    started: dict[str, datetime.datetime] = field(default_factory=dict)  # running services' starts
    unreadable: str | None = None
    pending: tuple[str, ...] = ()  # "MSExchangeIS on EX01 (value set ..., service up since ...)"

    @property
    def in_effect(self) -> bool:
        return self.unreadable is None and not self.pending

    @property
    def since(self) -> datetime.datetime | None:
        """When the change took effect on every service: the latest start; None unless in effect."""
        return max(self.started.values()) if self.in_effect and self.started else None


class RestartGate:
    """Judges restart-dependent settings against the facts' service starts and apply's records."""

    def __init__(self, facts: Facts, records: ApplyRecords) -> None:
        self.facts = facts
        self.records = records

    def effect(
        self,
        server: str,
        check: str,
        services: tuple[str, ...],
        evidence: datetime.datetime | None = None,
        evidence_name: str = "",
    ) -> Effect:
        changed, source = self._changed(server, check, evidence, evidence_name)
        reading = self.facts.on(service_start.KIND, server)
        if (starts := reading.get()) is None:
            return Effect(changed, source, unreadable=f"service start times unknown: {reading.reason}")
        if changed is None:
            return Effect(changed, source, unreadable=source)
        started: dict[str, datetime.datetime] = {}
        pending = []
        for name in services:
            found = next((s for s in starts if s.name.casefold() == name.casefold()), None)
            if found is None:
                stem = server_file(service_start.KIND.stem, server)
                return Effect(changed, source, unreadable=f"service {name} is not in {stem}.xml")
            if found.started is None or found.state.casefold() != "running":
                pending.append(
                    f"{name} on {server} (value set {shown(changed)}, service {found.state or 'not running'})"
                )
            elif found.started <= changed:
                pending.append(
                    f"{name} on {server} (value set {shown(changed)}, service up since {shown(found.started)})"
                )
            else:
                started[name] = found.started
        return Effect(changed, source, started, pending=tuple(pending))

    def _changed(
        self, server: str, check: str, evidence: datetime.datetime | None, evidence_name: str
    ) -> tuple[datetime.datetime | None, str]:
        """The latest of apply's record and Exchange's evidence, and where it came from."""
        mine = state.latest(self.records.records, server, check)
        candidates = [(mine.changed, f"apply record in {self.records.where}")] if mine else []
        if evidence is not None:
            candidates.append((evidence, evidence_name))
        if candidates:
            return max(candidates, key=lambda c: c[0])
        records = self.records.error or (
            self.records.where
            if self.records is NO_TARGET
            else f"no apply record of {check} on {server} in {self.records.where}"
        )
        exchange = f"no {evidence_name}" if evidence_name else "Exchange keeps no change time PowerShell 2.0 can read"
        return None, f"when the value was set is unknown ({records}; {exchange}), so a restart since cannot be shown"

    def judge(
        self,
        result: Result,
        *,
        server: str,
        services: tuple[str, ...],
        severity: str,
        evidence: datetime.datetime | None = None,
        evidence_name: str = "",
    ) -> Result:
        """``result`` unchanged unless it is compliant; then compliant only when the change is in effect."""
        if not isinstance(result, Compliant) or not services:
            return result
        effect = self.effect(server, result.check, services, evidence, evidence_name)
        if effect.unreadable is not None:
            return Unreadable(check=result.check, resource=result.resource, reason=effect.unreadable)
        if effect.pending:
            return Finding(
                check=result.check,
                title=result.title,
                severity=severity,
                resource=result.resource,
                message="restart pending: " + "; ".join(effect.pending),
            )
        assert effect.changed is not None and effect.since is not None
        up = ", ".join(sorted(effect.started))
        in_effect = f"; in effect: set {shown(effect.changed)} ({effect.source}), {up} up since {shown(effect.since)}"
        return Compliant(
            check=result.check, title=result.title, resource=result.resource, evidence=result.evidence + in_effect
        )
