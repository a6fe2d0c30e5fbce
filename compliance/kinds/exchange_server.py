"""``Get-ExchangeServer``: which servers exist, their roles and versions (organization-wide)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from compliance.facts.psobject import PSObj
from compliance.facts.values import ServerVersion, has_role
from compliance.kinds.base import FactError, ResourceKind, text

_VERSION_TEXT = re.compile(r"Version (\d+)\.(\d+) \(Build (\d+)\.(\d+)\)")
ROLE_FLAGS = {
    "IsMailboxServer": "Mailbox",
    "IsClientAccessServer": "ClientAccess",
    "IsHubTransportServer": "HubTransport",
    "IsEdgeServer": "Edge",
}


@dataclass(frozen=True)
class ExchangeServer:
    name: str
    fqdn: str | None
    version: ServerVersion | None
    roles: frozenset[str]  # "Mailbox", "ClientAccess", "HubTransport", ... as ServerRole prints them

    def has_role(self, role: str) -> bool:
        return has_role(self.roles, role)


def server_version(raw: Any) -> ServerVersion | None:
    """``AdminDisplayVersion``: a ``ServerVersion`` object (I32 Major...) or its ToString."""
    if isinstance(raw, PSObj) and isinstance(raw.get("Major"), int):
        return ServerVersion(raw.get("Major"), raw.get("Minor", 0), raw.get("Build", 0), raw.get("Revision", 0))
    match = _VERSION_TEXT.search(str(raw)) if raw is not None else None
    if match:
        major, minor, build, revision = (int(g) for g in match.groups())
        return ServerVersion(major, minor, build, revision)
    return None


class ExchangeServerKind(ResourceKind[list[ExchangeServer]]):
    stem = "GetExchangeServer"
    cmdlet = "Get-ExchangeServer"
    type_names = ("Microsoft.Exchange.Data.Directory.Management.ExchangeServer",)
    output_type = "ExchangeServer"
    lab_cmdlets = ("get-exchangeserver",)
    collector = """
if ($serversListed) {
    Save-Facts 'GetExchangeServer.xml' 'Get-ExchangeServer' { $servers }
}
"""

    def parse(self, objects: list[Any], server: str | None) -> list[ExchangeServer]:
        servers = []
        for obj in self.accepted(objects):
            role_text = str(obj.get("ServerRole") or "")
            roles = {r.strip() for r in role_text.split(",") if r.strip() and r.strip() != "None"}
            roles |= {role for flag, role in ROLE_FLAGS.items() if obj.get(flag) is True}
            servers.append(
                ExchangeServer(
                    name=str(text(obj, "Name")),
                    fqdn=text(obj, "Fqdn", required=False),
                    version=server_version(obj.get("AdminDisplayVersion")),
                    roles=frozenset(roles),
                )
            )
        if not servers:
            # Every organization has a server; an empty list would make the per-server checks vanish
            # and the rest read as compliant. It is a failed read, not an organization without servers.
            raise FactError("lists no Exchange server (an empty or filtered export?)")
        return servers


KIND = ExchangeServerKind()
