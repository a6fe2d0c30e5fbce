"""``Get-ReceiveConnector`` / ``Set-ReceiveConnector``: the SMTP limits of each receive connector.

``TransportRole`` and ``Bindings`` say which connector UCCX's SMTP reaches on 2013+ (the check in
``checks/connectors.py`` chooses by them). Their forms were confirmed against CSS-Exchange's real
Exchange 2019 export (tests/fixtures/real/E19-GetReceiveConnector.xml): ``TransportRole`` is a
``...SystemConfiguration.ServerRole`` enum shown as ``FrontendTransport`` (16384) or ``HubTransport``
(32); ``Bindings`` is a ``MultiValuedProperty<IPBinding>`` whose items show as ``[::]:25`` and
``0.0.0.0:25`` (each with a ``Port`` property). Exchange 2010 has no Front End Transport service;
whether its export carries ``TransportRole`` at all is unconfirmed, so a connector without it is
chosen by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compliance import parameters as known
from compliance.cmdlet import EXCHANGE, Command, CommandSpec
from compliance.facts.model import Facts, Reading, Settings
from compliance.kinds.base import Observed, ReadContext, ResourceKind, setting_value, settings_of, strings, text
from compliance.plan import Change, ChangeKind

HUB_TRANSPORT = "HubTransport"


@dataclass(frozen=True)
class ReceiveConnector:
    identity: str  # SERVER\Connector Name
    server: str
    name: str
    settings: Settings
    transport_role: str | None = None  # FrontendTransport, HubTransport; None when the export lacks it
    bindings: tuple[str, ...] = ()  # as Exchange shows them: "[::]:25", "0.0.0.0:25"

    @property
    def ports(self) -> frozenset[int]:
        """The TCP ports of ``bindings`` (the text after the last colon)."""
        ports = set()
        for binding in self.bindings:
            _, _, port = binding.rpartition(":")
            if port.isdigit():
                ports.add(int(port))
        return frozenset(ports)


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
            role = text(obj, "TransportRole", required=False)
            bindings = strings(obj.get("Bindings"))
            connectors.append(ReceiveConnector(identity, host, name, settings_of(obj), role, bindings))
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
