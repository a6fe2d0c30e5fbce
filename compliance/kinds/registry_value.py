"""``Get-ItemProperty`` / ``New-``/``Set-``/``Remove-ItemProperty``: store registry values per server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compliance import parameters as known
from compliance.cmdlet import Command, CommandSpec, host_endpoint
from compliance.errors import ApplyError
from compliance.facts.model import Facts, Settings
from compliance.facts.values import normalize
from compliance.kinds.base import (
    NOT_SETTINGS,
    AuditedServer,
    Endpoint,
    FactError,
    Observed,
    ReadContext,
    ResourceKind,
)
from compliance.plan import Action, Change, ChangeKind

MAILBOX = "Mailbox"
# Get-ItemProperty: ItemNotFoundException "Cannot find path ..." means the key is not there.
NO_REGISTRY_KEY = "PathNotFound"


@dataclass(frozen=True)
class RegistryKey:
    server: str
    path: str  # HKLM\SYSTEM\CurrentControlSet\Services\MSExchangeIS\ParametersSystem
    values: Settings


def registry_path(ps_path: str) -> str:
    """``Microsoft.PowerShell.Core\\Registry::HKEY_LOCAL_MACHINE\\SYSTEM\\...`` -> ``HKLM\\SYSTEM\\...``."""
    path = ps_path.split("::", 1)[-1]
    for long, short in (("HKEY_LOCAL_MACHINE", "HKLM"), ("HKLM:", "HKLM")):
        if path.upper().startswith(long):
            path = short + path[len(long) :]
    return path.rstrip("\\")


def drive_path(path: str) -> str:
    """``HKLM\\SYSTEM\\...`` (as baselines write it) -> ``HKLM:\\SYSTEM\\...`` (a PowerShell drive)."""
    hive, sep, rest = path.partition("\\")
    if hive.upper() in ("HKLM", "HKEY_LOCAL_MACHINE") and sep:
        return f"HKLM:\\{rest}"
    return path


def value_type(value: Any) -> str:
    """The registry value kind for a desired value: numbers are DWORDs (the checklist's value is)."""
    return "DWord" if isinstance(value, int) and not isinstance(value, bool) else "String"


class RegistryValueKind(ResourceKind[list[RegistryKey]]):
    stem = "GetItemProperty"
    cmdlet = "Get-ItemProperty"
    endpoint = Endpoint.HOST
    per_server = True
    output_type = "PSCustomObject"
    lab_cmdlets = ("get-itemproperty", "new-itemproperty", "set-itemproperty", "remove-itemproperty")
    change_kinds = (ChangeKind.REGISTRY,)
    # The registry value's name is a VALUE here (-Name 'Maximum Allowed ...'), so any text may be
    # one; the parameter names are the kind's own.
    parameters = known.by_cmdlet(
        {
            "New-ItemProperty": known.NEW_ITEM_PROPERTY,
            "Set-ItemProperty": known.SET_ITEM_PROPERTY,
            "Remove-ItemProperty": known.REMOVE_ITEM_PROPERTY,
        }
    )
    collector = """
    if ($s.IsMailboxServer) {
        Save-Facts "GetItemProperty-$name.xml" "store registry key on $name" {
            Invoke-Command -ComputerName $name -ErrorAction Stop -ArgumentList $storeKey -ScriptBlock {
                param($key)
                Get-ItemProperty -Path $key -ErrorAction Stop
            }
        }
    }
"""

    def reads_on(self, context: ReadContext, server: AuditedServer) -> tuple[Command, ...]:
        if not server.has_role(MAILBOX):
            return ()
        return tuple(
            Command(self.cmdlet, (("Path", drive_path(path)),), empty_when=(NO_REGISTRY_KEY,))
            for path in context.request.registry_paths
        )

    def parse(self, objects: list[Any], server: str | None) -> list[RegistryKey]:
        keys = []
        for obj in self.accepted(objects):
            ps_path = obj.get("PSPath")
            if not isinstance(ps_path, str):
                raise FactError("registry object has no PSPath")
            values = {
                name: normalize(obj.get(name))
                for name in obj.names()
                if not name.startswith("PS") and name.casefold() not in NOT_SETTINGS
            }
            keys.append(RegistryKey(server or "", registry_path(ps_path), Settings(values)))
        return keys

    def forward(self, change: Change) -> CommandSpec:
        server, path = _where(change), drive_path(change.identity)
        kind = value_type(change.desired)
        if change.action is Action.CREATE:
            parameters = {"Path": path, "Name": change.setting, "PropertyType": kind, "Value": change.desired}
            return self.command(host_endpoint(server), "New-ItemProperty", parameters)
        parameters = {"Path": path, "Name": change.setting, "Value": change.desired, "Type": kind}
        return self.command(host_endpoint(server), "Set-ItemProperty", parameters)

    def inverse(self, change: Change, old: Any) -> CommandSpec | None:
        server, path = _where(change), drive_path(change.identity)
        if old is None:
            parameters: dict[str, Any] = {"Path": path, "Name": change.setting, "Confirm": False}
            return self.command(host_endpoint(server), "Remove-ItemProperty", parameters)
        parameters = {"Path": path, "Name": change.setting, "Value": old, "Type": value_type(old)}
        return self.command(host_endpoint(server), "Set-ItemProperty", parameters)

    def observe(self, change: Change, facts: Facts) -> Observed:
        reading = facts.on(self, change.server or "")
        if (keys := reading.get()) is None:
            return Observed(error=reading.reason)
        key = next((k for k in keys if k.path.casefold() == change.identity.casefold()), None)
        if key is None or (change.setting or "") not in key.values:
            return Observed(None)
        return Observed(key.values[change.setting or ""].shown)


def _where(change: Change) -> str:
    if change.server is None:
        raise ApplyError(f"{change.check} on {change.resource}: the change names no server to write the registry of")
    return change.server


KIND = RegistryValueKind()
