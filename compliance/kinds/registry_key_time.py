"""When a registry key was last written: the date of the store value, for the restart-pending check.

The Information Store reads the KB 980049 value at start, so the value is in effect only when
MSExchangeIS started after it was written. Nothing in PowerShell 2.0 (.NET 2.0) shows a key's last
write time: ``RegistryKey`` has no such property and ``Get-ItemProperty`` none either. Windows keeps
it, and ``RegQueryInfoKey`` returns it, so this kind compiles a small wrapper with ``Add-Type`` and
reads it with ``New-Object``: two cmdlets with parameters, no script, on the server's own endpoint
(``Microsoft.PowerShell``, full language, where an administrator's ``Add-Type`` is allowed).

``New-Object UccxRegistryKeyTime -ArgumentList 'SYSTEM\\...'`` gives ``Path`` and
``LastWriteTimeUtc`` (``2026-11-23T08:41:03Z``; ``$null`` when the key cannot be opened). The
same two cmdlets run in the collector script. Neither was ever run on a real server
(docs/facts-folder.md); the lab simulates exactly this type and nothing else.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from compliance.cmdlet import Command
from compliance.facts.values import utc_time
from compliance.kinds.base import AuditedServer, Endpoint, FactError, ReadContext, ResourceKind

TYPE_NAME = "UccxRegistryKeyTime"
MAILBOX = "Mailbox"
# Add-Type of a type the session already has: the same definition, added by an earlier read.
TYPE_ALREADY_EXISTS = "TYPE_ALREADY_EXISTS"

# C# 2.0 for the .NET 2.0 compiler of PowerShell 2.0: no auto-properties, no var. HKLM only.
SOURCE = r"""using System;
using System.Runtime.InteropServices;
public class UccxRegistryKeyTime {
    [DllImport("advapi32.dll", CharSet = CharSet.Unicode)]
    static extern int RegOpenKeyEx(UIntPtr hKey, string subKey, int options, int sam, out UIntPtr result);
    [DllImport("advapi32.dll", CharSet = CharSet.Unicode)]
    static extern int RegQueryInfoKey(UIntPtr hKey, IntPtr cls, IntPtr clsLength, IntPtr reserved,
        IntPtr subKeys, IntPtr maxSubKeyLength, IntPtr maxClassLength, IntPtr values,
        IntPtr maxValueNameLength, IntPtr maxValueLength, IntPtr securityDescriptor, out long lastWriteTime);
    [DllImport("advapi32.dll")]
    static extern int RegCloseKey(UIntPtr hKey);
    private string path;
    private string written;
    public UccxRegistryKeyTime(string subKey) {
        path = "HKLM\\" + subKey;
        UIntPtr key;
        if (RegOpenKeyEx(new UIntPtr(0x80000002u), subKey, 0, 0x20019, out key) != 0) { return; }
        try {
            long time;
            if (RegQueryInfoKey(key, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero,
                    IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, out time) == 0) {
                written = DateTime.FromFileTimeUtc(time).ToString("s") + "Z";
            }
        } finally { RegCloseKey(key); }
    }
    public string Path { get { return path; } }
    public string LastWriteTimeUtc { get { return written; } }
}"""


@dataclass(frozen=True)
class RegistryKeyTime:
    server: str
    path: str  # HKLM\SYSTEM\CurrentControlSet\Services\MSExchangeIS\ParametersSystem
    written: datetime.datetime | None  # None: the key could not be opened


def subkey(path: str) -> str:
    """``HKLM\\SYSTEM\\...`` (as baselines write it) -> ``SYSTEM\\...`` (RegOpenKeyEx under HKLM)."""
    hive, _, rest = path.partition("\\")
    if hive.upper() not in ("HKLM", "HKEY_LOCAL_MACHINE") or not rest:
        raise FactError(f"not a key under HKLM: {path!r}")
    return rest


def key_time(value: Any) -> datetime.datetime | None:
    """``LastWriteTimeUtc`` (``2026-11-23T08:41:03Z``) in UTC; None for ``$null`` (key not opened)."""
    if value is None:
        return None
    try:
        return utc_time(value)
    except ValueError:
        raise FactError(f"LastWriteTimeUtc is not a time: {str(value)[:40]!r}") from None


class RegistryKeyTimeKind(ResourceKind[list[RegistryKeyTime]]):
    stem = "GetRegistryKeyTime"
    cmdlet = "New-Object"
    endpoint = Endpoint.HOST
    per_server = True
    type_names = (TYPE_NAME,)
    output_type = TYPE_NAME
    companion = True  # read only where Get-ItemProperty reads the server
    lab_cmdlets = ("add-type", "new-object")
    collector = (
        """
    if ($s.IsMailboxServer) {
        Save-Facts "GetRegistryKeyTime-$name.xml" "store registry key's last write time on $name" {
            Invoke-Command -ComputerName $name -ErrorAction Stop -ArgumentList $storeKey -ScriptBlock {
                param($key)
                $source = '"""
        + SOURCE
        + """'
                if (-not ('UccxRegistryKeyTime' -as [type])) { Add-Type -TypeDefinition $source -ErrorAction Stop }
                New-Object -TypeName UccxRegistryKeyTime -ArgumentList $key.Substring(6) -ErrorAction Stop
            }
        }
    }
"""
    )

    def reads_on(self, context: ReadContext, server: AuditedServer) -> tuple[Command, ...]:
        if not server.has_role(MAILBOX) or not context.request.registry_paths:
            return ()
        compile_type = Command("Add-Type", (("TypeDefinition", SOURCE),), empty_when=(TYPE_ALREADY_EXISTS,))
        reads = tuple(
            Command(self.cmdlet, (("TypeName", TYPE_NAME), ("ArgumentList", [subkey(path)])))
            for path in context.request.registry_paths
        )
        return (compile_type, *reads)

    def parse(self, objects: list[Any], server: str | None) -> list[RegistryKeyTime]:
        times = []
        for obj in self.accepted(objects):
            path = obj.get("Path")
            if not isinstance(path, str):
                raise FactError(f"{TYPE_NAME} object has no Path")
            times.append(RegistryKeyTime(server or "", path, key_time(obj.get("LastWriteTimeUtc"))))
        return times


KIND = RegistryKeyTimeKind()
