"""``Get-ImapSettings`` / ``Set-ImapSettings``: the IMAP4 limits of each Client Access server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compliance import parameters as known
from compliance.cmdlet import EXCHANGE, Command, CommandSpec
from compliance.facts.model import Facts, Reading, Settings
from compliance.facts.values import same_name
from compliance.kinds.base import Observed, ReadContext, ResourceKind, setting_value, settings_of, text
from compliance.plan import Change, ChangeKind

CLIENT_ACCESS = "ClientAccess"


@dataclass(frozen=True)
class ImapSettings:
    server: str
    settings: Settings


class ImapSettingsKind(ResourceKind[list[ImapSettings]]):
    stem = "GetImapSettings"
    cmdlet = "Get-ImapSettings"
    type_names = ("Microsoft.Exchange.Data.Directory.SystemConfiguration.Imap4AdConfiguration",)
    output_type = "Imap4AdConfiguration"
    after_servers = True
    lab_cmdlets = ("get-imapsettings", "set-imapsettings")
    change_kinds = (ChangeKind.IMAP,)
    parameters = known.by_cmdlet({"Set-ImapSettings": known.SET_IMAP_SETTINGS})
    settings = known.IMAP_SETTINGS
    collector = """
if ($serversListed) {
    Save-Facts 'GetImapSettings.xml' 'Get-ImapSettings on each Client Access server' {
        foreach ($s in @($servers | Where-Object { $_.IsClientAccessServer })) {
            Get-ImapSettings -Server $s.Name -ErrorAction Stop
        }
    }
}
"""

    def reads(self, context: ReadContext) -> tuple[Command, ...] | Reading[list[Any]]:
        servers = context.with_role(CLIENT_ACCESS)
        if not servers:
            return Reading([])  # no Client Access server: no IMAP settings exist
        return tuple(Command(self.cmdlet, (("Server", s.name),)) for s in servers)

    def parse(self, objects: list[Any], server: str | None) -> list[ImapSettings]:
        return [
            ImapSettings(server=str(text(obj, "Server")), settings=settings_of(obj)) for obj in self.accepted(objects)
        ]

    def forward(self, change: Change) -> CommandSpec:
        return self._set(change, change.desired)

    def inverse(self, change: Change, old: Any) -> CommandSpec | None:
        return self._set(change, old)

    def _set(self, change: Change, value: Any) -> CommandSpec:
        setting = self.setting_of(change, "Set-ImapSettings")
        return self.command(EXCHANGE, "Set-ImapSettings", {"Server": change.identity, setting: value})

    def observe(self, change: Change, facts: Facts) -> Observed:
        reading = facts.of(self)
        if (found := reading.get()) is None:
            return Observed(error=reading.reason)
        imap = next((i for i in found if same_name(i.server, change.identity)), None)
        if imap is None:
            return Observed(error=f"{self.cmdlet} returned nothing for {change.identity}")
        return setting_value(imap.settings, change.setting or "", change.resource)


KIND = ImapSettingsKind()
