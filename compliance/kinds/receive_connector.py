"""``Get-ReceiveConnector`` / ``Set-ReceiveConnector``: the SMTP limits of each receive connector."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compliance import parameters as known
from compliance.cmdlet import EXCHANGE, Command, CommandSpec
from compliance.facts.model import Facts, Reading, Settings
from compliance.kinds.base import Observed, ReadContext, ResourceKind, setting_value, settings_of, text
from compliance.plan import Change, ChangeKind

HUB_TRANSPORT = "HubTransport"


@dataclass(frozen=True)
class ReceiveConnector:
    identity: str  # SERVER\Connector Name
    server: str
    name: str
    settings: Settings


class ReceiveConnectorKind(ResourceKind[list[ReceiveConnector]]):
    stem = "GetReceiveConnector"
    cmdlet = "Get-ReceiveConnector"
    type_names = ("Microsoft.Exchange.Data.Directory.SystemConfiguration.ReceiveConnector",)
    output_type = "ReceiveConnector"
    after_servers = True
    lab_cmdlets = ("get-receiveconnector", "set-receiveconnector")
    change_kinds = (ChangeKind.RECEIVE_CONNECTOR,)
    parameters = known.by_cmdlet({"Set-ReceiveConnector": known.SET_RECEIVE_CONNECTOR})
    settings = known.RECEIVE_CONNECTOR_SETTINGS
    collector = """
if ($serversListed) {
    Save-Facts 'GetReceiveConnector.xml' 'Get-ReceiveConnector on each Hub Transport server' {
        foreach ($s in @($servers | Where-Object { $_.IsHubTransportServer })) {
            Get-ReceiveConnector -Server $s.Name -ErrorAction Stop
        }
    }
}
"""

    def reads(self, context: ReadContext) -> tuple[Command, ...] | Reading[list[Any]]:
        servers = context.with_role(HUB_TRANSPORT)
        if not servers:
            return Reading([])  # no Hub Transport server: no receive connectors exist
        return tuple(Command(self.cmdlet, (("Server", s.name),)) for s in servers)

    def parse(self, objects: list[Any], server: str | None) -> list[ReceiveConnector]:
        connectors = []
        for obj in self.accepted(objects):
            identity = str(text(obj, "Identity"))
            host = text(obj, "Server", required=False) or identity.split("\\", 1)[0]
            name = text(obj, "Name", required=False) or identity.split("\\", 1)[-1]
            connectors.append(ReceiveConnector(identity, host, name, settings_of(obj)))
        return connectors

    def forward(self, change: Change) -> CommandSpec:
        return self._set(change, change.desired)

    def inverse(self, change: Change, old: Any) -> CommandSpec | None:
        return self._set(change, old)

    def _set(self, change: Change, value: Any) -> CommandSpec:
        setting = self.setting_of(change, "Set-ReceiveConnector")
        return self.command(EXCHANGE, "Set-ReceiveConnector", {"Identity": change.identity, setting: value})

    def observe(self, change: Change, facts: Facts) -> Observed:
        reading = facts.of(self)
        if (found := reading.get()) is None:
            return Observed(error=reading.reason)
        connector = next((c for c in found if c.identity.casefold() == change.identity.casefold()), None)
        if connector is None:
            return Observed(error=f"receive connector {change.identity} not found")
        return setting_value(connector.settings, change.setting or "", change.resource)


KIND = ReceiveConnectorKind()
