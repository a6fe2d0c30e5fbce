"""IMAP settings (``Get-ImapSettings``) on every Client Access server."""

from __future__ import annotations

from collections.abc import Iterator

from compliance.baseline.model import ImapRules
from compliance.checks.settings import check_setting
from compliance.facts.model import Facts
from compliance.facts.values import same_name
from compliance.plan import ChangeKind, Result, Unreadable


def check_imap(rules: ImapRules, facts: Facts) -> Iterator[Result]:
    if not facts.imap.ok or facts.imap.value is None:
        for check in rules.checks:
            yield Unreadable(check.id, "IMAP settings", facts.imap.error or "not read")
        return
    found = facts.imap.value
    if facts.servers.ok and facts.servers.value is not None:
        servers = [s.name for s in facts.servers.value if s.has_role(rules.role)]
    else:
        servers = [imap.server for imap in found]  # no server list: check what was returned
    for server in servers:
        resource = f"IMAP settings on {server}"
        imap = next((i for i in found if same_name(i.server, server)), None)
        for check in rules.checks:
            if imap is None:
                yield Unreadable(check.id, resource, f"Get-ImapSettings returned nothing for {server}")
                continue
            yield check_setting(
                check,
                imap.settings,
                resource=resource,
                identity=server,
                server=server,
                restart=tuple(rules.restart_services),
                kind=ChangeKind.IMAP,
            )
