"""Per-server checks read over each server's host endpoint: store registry values."""

from __future__ import annotations

from collections.abc import Iterator

from compliance.baseline.model import RegistryValueRule
from compliance.checks.compare import desired_value, meets, requirement
from compliance.facts.model import ExchangeServer, Facts
from compliance.plan import Action, Change, ChangeKind, Compliant, Result, Unreadable


def servers_with_role(facts: Facts, role: str) -> list[ExchangeServer] | None:
    if not facts.servers.ok or facts.servers.value is None:
        return None
    return [s for s in facts.servers.value if s.has_role(role)]


def check_registry_value(rule: RegistryValueRule, facts: Facts) -> Iterator[Result]:
    servers = servers_with_role(facts, rule.role)
    if servers is None:
        yield Unreadable(rule.id, f"registry on {rule.role} servers", facts.servers.error or "servers not read")
        return
    for server in servers:
        resource = f"registry on {server.name}"
        reading = facts.registry_on(server.name)
        if not reading.ok or reading.value is None:
            yield Unreadable(rule.id, resource, reading.error or "not read")
            continue
        key = next((k for k in reading.value if k.path.casefold() == rule.path.casefold()), None)
        current = key.values.get(rule.name) if key is not None and rule.name in key.values else None
        wanted = requirement(rule)
        restart = (rule.restart_service,) if rule.restart_service else ()
        if meets(rule, current):
            shown = "absent" if current is None else current.shown
            yield Compliant(rule.id, rule.title, resource, f"{rule.path}\\{rule.name} is {shown} ({wanted})")
            continue
        if current is not None and rule.type == "DWord" and not isinstance(current.value, int):
            wanted += f" (DWORD; found {type(current.shown).__name__} {current.shown!r})"
        yield Change(
            rule.id,
            rule.title,
            rule.severity.value,
            resource,
            rule.path,
            rule.name,
            None if current is None else current.shown,
            desired_value(rule),
            wanted,
            Action.CREATE if current is None else Action.UPDATE,
            server=server.name,
            requires_restart=restart,
            kind=ChangeKind.REGISTRY,
        )
