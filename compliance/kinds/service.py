"""``Get-Service``: the state of the services a baseline may restart, per server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compliance import parameters as known
from compliance.cmdlet import Command
from compliance.kinds.base import AuditedServer, Endpoint, ReadContext, ResourceKind, text


@dataclass(frozen=True)
class ServiceState:
    server: str
    name: str
    status: str


class ServiceKind(ResourceKind[list[ServiceState]]):
    stem = "GetService"
    cmdlet = "Get-Service"
    endpoint = Endpoint.HOST
    per_server = True
    output_type = "ServiceController"
    companion = True  # a server no other kind reads is not contacted for its services alone
    lab_cmdlets = ("get-service", "restart-service")
    # What apply's restart sends (compliance.apply.workflow builds it: Restart-Service -Name).
    parameters = known.by_cmdlet({"Restart-Service": known.RESTART_SERVICE})
    # On 2013+ the IMAP services are MSExchangeImap4 and MSExchangeIMAP4BE (real Get-Service export,
    # CSS-Exchange E19/OS/GetService.xml); service names compare case-insensitively.
    collector = """
    Save-Facts "GetService-$name.xml" "services on $name" {
        Invoke-Command -ComputerName $name -ErrorAction Stop -ScriptBlock {
            # A role that is not installed has no such service: leave it out rather than fail.
            Get-Service -Name 'MSExchangeIS', 'MSExchangeIMAP4', 'MSExchangeIMAP4BE' -ErrorAction SilentlyContinue
        }
    }
"""

    def reads_on(self, context: ReadContext, server: AuditedServer) -> tuple[Command, ...]:
        if not context.request.services:
            return ()
        return (Command(self.cmdlet, (("Name", list(context.request.services)),)),)

    def parse(self, objects: list[Any], server: str | None) -> list[ServiceState]:
        return [
            ServiceState(server or "", str(text(obj, "Name")), str(obj.get("Status") or ""))
            for obj in self.accepted(objects)
        ]


KIND = ServiceKind()
