"""``Get-WinEvent -FilterHashtable``: session-limit (9646) and connector (1021) events per server."""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from compliance.cmdlet import Command
from compliance.facts.collection import EventQuery
from compliance.kinds.base import AuditedServer, Endpoint, FactError, ReadContext, ResourceKind

# Get-WinEvent: "No events were found that match the specified selection criteria" is no match.
NO_EVENTS = "NoMatchingEventsFound"
# Get-WinEvent's ids for "nothing of that provider here" (GetEventCommand.cs), as the collector treats them.
NOT_THERE = (NO_EVENTS, "NoMatchingProvidersFound", "LogsAndProvidersDontOverlap")


@dataclass(frozen=True)
class EventRecord:
    server: str
    event_id: int
    provider: str
    time: datetime.datetime | None
    message: str


def event_filter(log_name: str, queries: Sequence[EventQuery], start: datetime.datetime) -> dict[str, Any]:
    """``@{LogName=...; ProviderName=...; Id=...; StartTime=...}`` as a Hashtable parameter."""
    return {
        "LogName": log_name,
        "ProviderName": list(dict.fromkeys(q.provider for q in queries)),
        "Id": list(dict.fromkeys(q.event_id for q in queries)),
        "StartTime": clixml_datetime(start),
    }


def clixml_datetime(when: datetime.datetime) -> ET.Element:
    """A ``<DT>`` element: pypsrp 0.9 cannot serialize a ``datetime`` but sends an element as is."""
    element = ET.Element("DT")
    utc = when.astimezone(datetime.timezone.utc)
    element.text = utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond:06d}0Z"
    return element


def _by_provider(queries: Sequence[EventQuery]) -> list[list[EventQuery]]:
    """The queries grouped by provider, in the order the baseline gives them."""
    groups: dict[str, list[EventQuery]] = {}
    for query in queries:
        groups.setdefault(query.provider.casefold(), []).append(query)
    return list(groups.values())


class EventLogKind(ResourceKind[list[EventRecord]]):
    stem = "GetWinEvent"
    cmdlet = "Get-WinEvent"
    endpoint = Endpoint.HOST
    per_server = True
    output_type = "EventLogRecord"
    lab_cmdlets = ("get-winevent",)
    collector = """
    Save-Facts "GetWinEvent-$name.xml" "Application log on $name" {
        Invoke-Command -ComputerName $name -ErrorAction Stop -ArgumentList $EventLookbackDays -ScriptBlock {
            param($days)
            $since = (Get-Date).AddDays(-$days)
            # Get-WinEvent's own error ids (GetEventCommand.cs) that mean "no such event here": no
            # match, a provider not registered on this server (MSExchangeIS without the Mailbox
            # role), a provider that does not write to this log. Anything else fails the read.
            $noEvents = 'NoMatchingEventsFound', 'NoMatchingProvidersFound', 'LogsAndProvidersDontOverlap'
            # One query per provider: under -ErrorAction Stop an unregistered provider would
            # otherwise abort the query for the other one too.
            foreach ($provider in @('MSExchangeIS', 'MSExchangeTransport')) {
                $filter = @{
                    LogName      = 'Application'
                    ProviderName = $provider
                    Id           = 9646, 1021
                    StartTime    = $since
                }
                try {
                    Get-WinEvent -FilterHashtable $filter -ErrorAction Stop
                }
                catch {
                    # PowerShell 2.0 catches an ActionPreferenceStopException whose id may be
                    # ActionPreferenceStop; its ErrorRecord is the cmdlet's original record.
                    $record = $_
                    if ($record.Exception -is [System.Management.Automation.ActionPreferenceStopException]) {
                        if ($record.Exception.ErrorRecord) { $record = $record.Exception.ErrorRecord }
                    }
                    $id = ([string]$record.FullyQualifiedErrorId).Split(',')[0]
                    if ($noEvents -notcontains $id) { throw }
                }
            }
        }
    }
"""

    def reads_on(self, context: ReadContext, server: AuditedServer) -> tuple[Command, ...]:
        queries = [q for q in context.request.events if server.has_role(q.role)]
        if not queries:
            return ()
        start = context.now - datetime.timedelta(days=context.request.event_lookback_days)
        by_log: dict[str, list[EventQuery]] = {}
        for query in queries:
            by_log.setdefault(query.log_name, []).append(query)
        # One query per provider, as the collector does: a provider that is not registered on this
        # server (MSExchangeTransport on a Mailbox-only one) or not writing to this log is "no
        # events" for it alone, and cannot fail the other's query.
        return tuple(
            Command(self.cmdlet, (("FilterHashtable", event_filter(log, same, start)),), empty_when=NOT_THERE)
            for log, group in by_log.items()
            for same in _by_provider(group)
        )

    def parse(self, objects: list[Any], server: str | None) -> list[EventRecord]:
        records = []
        for obj in self.accepted(objects):
            event_id = obj.get("Id")
            if not isinstance(event_id, int):
                raise FactError("event record has no Id")
            when = obj.get("TimeCreated")
            records.append(
                EventRecord(
                    server=server or "",
                    event_id=event_id,
                    provider=str(obj.get("ProviderName") or ""),
                    time=when if isinstance(when, datetime.datetime) else None,
                    message=str(obj.get("Message") or ""),
                )
            )
        return records


KIND = EventLogKind()
