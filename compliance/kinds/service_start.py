"""When each Exchange service's process started (``Get-WmiObject`` Win32_Service, Win32_Process).

MSExchangeIMAP4 (and MSExchangeIMAP4BE on 2013+) read their settings at start, and the
Information Store reads the KB 980049 registry value at start; so a setting is only in effect
when the service started after it was changed. This kind reads that start time on each server.

PowerShell 2.0 has no start time on ``Get-Service``, so two WMI reads: ``Win32_Service`` gives
each service's ProcessId and State, ``Win32_Process`` (filtered by those ids) its CreationDate.
Both go in one file, ``GetServiceStartTime-<SERVER>.xml``; the parser joins them by ProcessId.
Type names as ``Get-WmiObject`` writes them (``System.Management.ManagementObject#root\\cimv2\\
Win32_OperatingSystem`` in CSS-Exchange's real export) and WMI's DMTF time text
(``20210929115907.020592-420``, the same export) are confirmed; Win32_Service and Win32_Process
are the standard classes, their exports were not found in a public repository.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from compliance.cmdlet import Command
from compliance.facts.psobject import PSObj
from compliance.kinds.base import AuditedServer, Endpoint, FactError, ReadContext, ResourceKind, is_type

WIN32_SERVICE = "System.Management.ManagementObject#root\\cimv2\\Win32_Service"
WIN32_PROCESS = "System.Management.ManagementObject#root\\cimv2\\Win32_Process"
_DMTF = re.compile(r"(\d{14})\.(\d{6})([+-])(\d{3})")


@dataclass(frozen=True)
class ServiceStart:
    server: str
    name: str  # MSExchangeIS, as Win32_Service names it
    state: str  # Running, Stopped...
    process_id: int  # 0 when not running
    started: datetime.datetime | None  # the process's start, in UTC; None when not running


def dmtf_time(text: str) -> datetime.datetime:
    """WMI's ``yyyymmddHHMMSS.ffffff+UUU`` (UUU: minutes from UTC) as an aware UTC datetime."""
    match = _DMTF.fullmatch(text.strip())
    if not match:
        raise FactError(f"not a WMI time: {text[:40]!r}")
    stamp, micro, sign, minutes = match.groups()
    offset = datetime.timedelta(minutes=int(minutes)) * (1 if sign == "+" else -1)
    try:
        local = datetime.datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(microsecond=int(micro))
        return (local - offset).replace(tzinfo=datetime.timezone.utc)
    except (ValueError, OverflowError) as exc:
        raise FactError(f"not a WMI time: {text[:40]!r} ({exc})") from None


def wql_filter(field: str, values: list[str]) -> str:
    """``Name='A' OR Name='B'``; WQL escapes a quote and a backslash with a backslash."""
    quoted = ("'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'" for v in values)
    return " OR ".join(f"{field}={q}" for q in quoted)


class ServiceStartKind(ResourceKind[list[ServiceStart]]):
    stem = "GetServiceStartTime"
    cmdlet = "Get-WmiObject"
    endpoint = Endpoint.HOST
    per_server = True
    type_names = (WIN32_SERVICE, WIN32_PROCESS)
    output_type = "Win32_Service"
    follow_up_type = "Win32_Process"
    companion = True
    lab_cmdlets = ("get-wmiobject",)
    collector = """
    Save-Facts "GetServiceStartTime-$name.xml" "service start times on $name" {
        Invoke-Command -ComputerName $name -ErrorAction Stop -ScriptBlock {
            $filter = "Name='MSExchangeIS' OR Name='MSExchangeIMAP4' OR Name='MSExchangeIMAP4BE'"
            $found = @(Get-WmiObject -Class Win32_Service -Filter $filter -ErrorAction Stop)
            $found
            $ids = @($found | Where-Object { $_.ProcessId -gt 0 } | ForEach-Object { 'ProcessId=' + $_.ProcessId })
            if ($ids.Count -gt 0) {
                Get-WmiObject -Class Win32_Process -Filter ($ids -join ' OR ') -ErrorAction Stop
            }
        }
    }
"""

    def reads_on(self, context: ReadContext, server: AuditedServer) -> tuple[Command, ...]:
        return self.service_reads(context.request.services)

    def follow_up(self, context: ReadContext, server: AuditedServer, found: list[Any]) -> tuple[Command, ...]:
        return self.process_reads(found)

    def service_reads(self, services: Iterable[str]) -> tuple[Command, ...]:
        """The Win32_Service read of ``services`` (also apply's re-read around a restart)."""
        names = list(services)
        if not names:
            return ()
        return (Command(self.cmdlet, (("Class", "Win32_Service"), ("Filter", wql_filter("Name", names)))),)

    def process_reads(self, found: list[Any]) -> tuple[Command, ...]:
        """The Win32_Process read of the running services among ``found``."""
        pids = (o.get("ProcessId") for o in found if isinstance(o, PSObj))
        ids = sorted({pid for pid in pids if isinstance(pid, int) and not isinstance(pid, bool) and pid > 0})
        if not ids:
            return ()
        where = " OR ".join(f"ProcessId={pid}" for pid in ids)
        return (Command(self.cmdlet, (("Class", "Win32_Process"), ("Filter", where))),)

    def parse(self, objects: list[Any], server: str | None) -> list[ServiceStart]:
        found = self.accepted(objects)
        started: dict[int, datetime.datetime] = {}
        for process in (o for o in found if is_type(o, WIN32_PROCESS)):
            pid, created = process.get("ProcessId"), process.get("CreationDate")
            if isinstance(pid, int) and isinstance(created, str):
                started[pid] = dmtf_time(created)
        result = []
        for service in (o for o in found if is_type(o, WIN32_SERVICE)):
            name, pid = service.get("Name"), service.get("ProcessId")
            if not isinstance(name, str) or not isinstance(pid, int):
                raise FactError("Win32_Service object has no Name or ProcessId")
            result.append(ServiceStart(server or "", name, str(service.get("State") or ""), pid, started.get(pid)))
        return result


KIND = ServiceStartKind()
