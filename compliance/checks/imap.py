"""IMAP settings on every Client Access server (the ``imap_settings`` kind)."""

from __future__ import annotations

from collections.abc import Iterator

from compliance.baseline.model import ImapRules
from compliance.checks.restarts import RestartGate, when_changed
from compliance.checks.settings import check_setting
from compliance.facts.model import Facts
from compliance.facts.values import same_name
from compliance.kinds import exchange_server, imap_settings
from compliance.plan import ChangeKind, Result, Unreadable


def check_imap(rules: ImapRules, facts: Facts, gate: RestartGate | None = None) -> Iterator[Result]:
    reading = facts.of(imap_settings.KIND)
    if (found := reading.get()) is None:
        for check in rules.checks:
            yield Unreadable(check=check.id, resource="IMAP settings", reason=reading.reason)
        return
    listed = facts.of(exchange_server.KIND).get()
    if listed is not None:
        servers = [s.name for s in listed if s.has_role(rules.role)]
    else:
        servers = [imap.server for imap in found]  # no server list: check what was returned
    for server in servers:
        resource = f"IMAP settings on {server}"
        imap = next((i for i in found if same_name(i.server, server)), None)
        for check in rules.checks:
            if imap is None:
                why = f"{imap_settings.KIND.cmdlet} returned nothing for {server}"
                yield Unreadable(check=check.id, resource=resource, reason=why)
                continue
            result = check_setting(
                check,
                imap.settings,
                resource=resource,
                identity=server,
                server=server,
                restart=tuple(rules.restart_services),
                kind=ChangeKind.IMAP,
            )
            if gate is not None:
                # Exchange's own evidence of the last change: WhenChangedUTC of the settings object.
                changed = when_changed(imap.settings.get("WhenChangedUTC"))
                result = gate.judge(
                    result,
                    server=server,
                    services=tuple(rules.restart_services),
                    severity=check.severity.value,
                    evidence=changed,
                    evidence_name="WhenChangedUTC of the IMAP settings",
                )
            yield result
