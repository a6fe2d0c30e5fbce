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


# Get-Service's error id for a name no service has (Microsoft.PowerShell.Commands.GetServiceCommand).
NO_SUCH_SERVICE = "NoServiceFoundForGivenName"


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
            # One name at a time: MSExchangeIMAP4BE exists on 2013+ only, and a role that is not
            # installed has no service. Get-Service says so with NoServiceFoundForGivenName, which
            # leaves that name out; any other error (access denied) fails the read rather than
            # writing a file that reads as "service absent".
            foreach ($service in @('MSExchangeIS', 'MSExchangeIMAP4', 'MSExchangeIMAP4BE')) {
                try {
                    Get-Service -Name $service -ErrorAction Stop
                }
                catch {
                    # PowerShell 2.0 catches an ActionPreferenceStopException whose id may be
                    # ActionPreferenceStop; its ErrorRecord is the cmdlet's original record.
                    $record = $_
                    if ($record.Exception -is [System.Management.Automation.ActionPreferenceStopException]) {
                        if ($record.Exception.ErrorRecord) { $record = $record.Exception.ErrorRecord }
                    }
                    $id = ([string]$record.FullyQualifiedErrorId).Split(',')[0]
                    if ($id -ne 'NoServiceFoundForGivenName') { throw }
                }
            }
        }
    }
"""

    def reads_on(self, context: ReadContext, server: AuditedServer) -> tuple[Command, ...]:
        if not context.request.services:
            return ()
        # One name per call, as the collector does: MSExchangeIMAP4BE exists on 2013+ only, and a
        # name that is not there is "not installed" for it alone, never a failed read of the others.
        return tuple(
            Command(self.cmdlet, (("Name", name),), empty_when=(NO_SUCH_SERVICE,)) for name in context.request.services
        )

    def parse(self, objects: list[Any], server: str | None) -> list[ServiceState]:
        return [
            ServiceState(server or "", str(text(obj, "Name")), str(obj.get("Status") or ""))
            for obj in self.accepted(objects)
        ]


KIND = ServiceKind()
