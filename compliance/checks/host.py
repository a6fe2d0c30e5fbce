"""Per-server checks read over each server's host endpoint: store registry values."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

from compliance.baseline.model import RegistryValueRule
from compliance.checks.compare import desired_value, meets, requirement
from compliance.checks.restarts import RestartGate
from compliance.facts.model import Facts
from compliance.kinds import exchange_server, registry_key_time, registry_value
from compliance.kinds.exchange_server import ExchangeServer
from compliance.plan import Action, Change, ChangeKind, Compliant, Result, Unreadable


def servers_with_role(facts: Facts, role: str) -> list[ExchangeServer] | None:
    """The servers of ``role``; None when Get-ExchangeServer could not be read."""
    servers = facts.of(exchange_server.KIND).get()
    return None if servers is None else [s for s in servers if s.has_role(role)]


def _key_written(facts: Facts, server: str, path: str) -> tuple[datetime.datetime | None, str]:
    """When ``path`` was last written on ``server``, and the evidence's name for the check's reason
    (with why it is missing when the key-time file could not be read)."""
    reading = facts.on(registry_key_time.KIND, server)
    if (times := reading.get()) is None:
        return None, f"last write time of the registry key ({reading.reason})"
    written = next((t.written for t in times if t.path.casefold() == path.casefold()), None)
    return written, "last write time of the registry key"


def check_registry_value(rule: RegistryValueRule, facts: Facts, gate: RestartGate | None = None) -> Iterator[Result]:
    servers = servers_with_role(facts, rule.role)
    if servers is None:
        reason = facts.of(exchange_server.KIND).reason
        yield Unreadable(check=rule.id, resource=f"registry on {rule.role} servers", reason=reason)
        return
    for server in servers:
        resource = f"registry on {server.name}"
        reading = facts.on(registry_value.KIND, server.name)
        if (keys := reading.get()) is None:
            yield Unreadable(check=rule.id, resource=resource, reason=reading.reason)
            continue
        key = next((k for k in keys if k.path.casefold() == rule.path.casefold()), None)
        current = key.values.get(rule.name) if key is not None and rule.name in key.values else None
        wanted = requirement(rule)
        restart = (rule.restart_service,) if rule.restart_service else ()
        if meets(rule, current):
            shown = "absent" if current is None else current.shown
            evidence = f"{rule.path}\\{rule.name} is {shown} ({wanted})"
            found = Compliant(check=rule.id, title=rule.title, resource=resource, evidence=evidence)
            # Windows' evidence of when the value was set: the key's last write time (RegQueryInfoKey).
            written, evidence_name = _key_written(facts, server.name, rule.path)
            yield (
                gate.judge(
                    found,
                    server=server.name,
                    services=restart,
                    severity=rule.severity.value,
                    evidence=written,
                    evidence_name=evidence_name,
                )
                if gate
                else found
            )
            continue
        if current is not None and rule.type == "DWord" and not isinstance(current.value, int):
            wanted += f" (DWORD; found {type(current.shown).__name__} {current.shown!r})"
        yield Change(
            check=rule.id,
            title=rule.title,
            severity=rule.severity.value,
            resource=resource,
            identity=rule.path,
            setting=rule.name,
            current=None if current is None else current.shown,
            desired=desired_value(rule),
            requirement=wanted,
            action=Action.CREATE if current is None else Action.UPDATE,
            server=server.name,
            requires_restart=restart,
            kind=ChangeKind.REGISTRY,
        )
