"""The live audit: read every fact over WinRM/PSRP into ``RawFacts`` (keys are fact-folder stems).

Exchange endpoint, two batched round trips:
  1. ``Get-ExchangeServer``, ``Get-ThrottlingPolicy``, ``Get-Mailbox -Identity <uccx>``,
     ``Get-OrganizationConfig``;
  2. ``Get-ImapSettings -Server X`` per Client Access server, ``Get-ReceiveConnector -Server X``
     per Hub Transport server, ``Get-ADPermission -Identity <organization DN> -User <uccx>``.
Each server's host endpoint, one batched round trip: ``Get-ItemProperty`` (Mailbox servers),
``Get-Service``, ``Get-WinEvent -FilterHashtable``.

Nothing here raises for an unreachable endpoint: its facts come back as ``Reading.failed`` with
one line, so the plan reports them unreadable (exit 3), never compliant and never drift.
"""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from compliance.facts import parse
from compliance.facts.collection import CollectionRequest, EventQuery, RawFacts, server_file
from compliance.facts.model import ExchangeServer, Reading
from compliance.inventory import Target
from compliance.remoting.invoke import Command, Read, run_reads
from compliance.remoting.secrets import redacting_logs
from compliance.remoting.session import (
    HOST_CONFIGURATION,
    ConnectOptions,
    Endpoint,
    Sessions,
    check_transport,
)

Warn = Callable[[str], None]

# FullyQualifiedErrorId prefixes that mean "nothing there", not "could not read".
NO_EVENTS = "NoMatchingEventsFound"  # Get-WinEvent: "No events were found that match ..."
NO_REGISTRY_KEY = "PathNotFound"  # Get-ItemProperty: ItemNotFoundException "Cannot find path ..."


@dataclass(frozen=True)
class AuditedServer:
    """A server as audited: its roles (from Get-ExchangeServer when readable) and host endpoint."""

    name: str
    roles: frozenset[str]
    host_url: str

    def has_role(self, role: str) -> bool:
        return any(r.casefold() == role.casefold() for r in self.roles)


def collect(
    target: Target,
    request: CollectionRequest,
    *,
    password: str | None,
    allow_insecure_transport: bool = False,
    now: datetime.datetime | None = None,
    warn: Warn | None = None,
    batch: bool = True,
) -> RawFacts:
    """Read every fact of ``target``; each one is a value or the one line saying why not."""
    options = ConnectOptions(password=password, allow_insecure_transport=allow_insecure_transport)
    say: Warn = warn or (lambda _line: None)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    _check_all_transports(target, options)
    with redacting_logs(password, target.username), Sessions(target, options) as sessions:
        exchange = sessions.exchange()
        raw: RawFacts = run_reads(exchange, _first_reads(request), batch=batch)
        servers = audited_servers(target, raw["GetExchangeServer"], say)
        reads, settled = _second_reads(request, servers, raw["GetOrganizationConfig"])
        raw.update(settled)
        raw.update(run_reads(exchange, reads, batch=batch))
        if not request.uccx_mailbox:
            for stem in ("GetMailbox", "GetADPermission"):
                raw[stem] = Reading.failed(f"{stem}: no UCCX mailbox given (set vars.uccx_mailbox)")
        for server in servers:
            reads = host_reads(server, request, now)
            if reads:
                session = sessions.get(server.host_url, HOST_CONFIGURATION)
                raw.update(run_reads(session, reads, batch=batch))
    return raw


def _check_all_transports(target: Target, options: ConnectOptions) -> None:
    """Refuse an insecure endpoint before any connection is made, not halfway through."""
    check_transport(target, Endpoint(target.exchange_endpoint, target.configuration), options)
    for server in target.servers:
        check_transport(target, Endpoint(server.host_url, HOST_CONFIGURATION), options)


def _first_reads(request: CollectionRequest) -> list[Read]:
    reads = [
        Read("GetExchangeServer", (Command("Get-ExchangeServer"),), "ExchangeServer"),
        Read("GetThrottlingPolicy", (Command("Get-ThrottlingPolicy"),), "ThrottlingPolicy"),
        Read("GetOrganizationConfig", (Command("Get-OrganizationConfig"),), "OrganizationConfig"),
    ]
    if request.uccx_mailbox:
        reads.append(Read("GetMailbox", (Command("Get-Mailbox", (("Identity", request.uccx_mailbox),)),), "Mailbox"))
    return reads


def _second_reads(
    request: CollectionRequest, servers: Sequence[AuditedServer], organization: Reading[list[Any]]
) -> tuple[list[Read], RawFacts]:
    """The per-server Exchange reads and Get-ADPermission; plus facts settled without a command."""
    cas = [s.name for s in servers if s.has_role("ClientAccess")]
    hubs = [s.name for s in servers if s.has_role("HubTransport")]
    reads: list[Read] = []
    settled: RawFacts = {}
    if cas:
        reads.append(
            Read(
                "GetImapSettings",
                tuple(Command("Get-ImapSettings", (("Server", n),)) for n in cas),
                "Imap4AdConfiguration",
            )
        )
    else:
        settled["GetImapSettings"] = Reading([])  # no Client Access server: no IMAP settings exist
    if hubs:
        reads.append(
            Read(
                "GetReceiveConnector",
                tuple(Command("Get-ReceiveConnector", (("Server", n),)) for n in hubs),
                "ReceiveConnector",
            )
        )
    else:
        settled["GetReceiveConnector"] = Reading([])
    if request.uccx_mailbox:
        org_dn, why = _organization_dn(organization)
        if org_dn:
            command = Command("Get-ADPermission", (("Identity", org_dn), ("User", request.uccx_mailbox)))
            reads.append(Read("GetADPermission", (command,), "ADAcePresentationObject"))
        else:
            settled["GetADPermission"] = Reading.failed(why)
    return reads, settled


def _organization_dn(organization: Reading[list[Any]]) -> tuple[str | None, str]:
    if not organization.ok or organization.value is None:
        return None, f"Get-ADPermission needs the organization's DN: {organization.error}"
    try:
        return parse.organization(organization.value).distinguished_name, ""
    except ValueError as exc:
        return None, f"Get-ADPermission needs the organization's DN: {exc}"


def audited_servers(target: Target, exchange_servers: Reading[list[Any]], warn: Warn) -> list[AuditedServer]:
    """The servers to read, from Get-ExchangeServer cross-checked with the inventory.

    Get-ExchangeServer is authoritative for which servers exist and their roles; the inventory
    gives host endpoints. When Get-ExchangeServer cannot be read the inventory's roles are used.
    """
    live: list[ExchangeServer] | None = None
    if exchange_servers.ok and exchange_servers.value is not None:
        try:
            live = parse.exchange_servers(exchange_servers.value)
        except ValueError as exc:
            warn(f"Get-ExchangeServer: {exc}; using the inventory's servers and roles")
    if live is None:
        return [AuditedServer(s.name, frozenset(s.roles), s.host_url) for s in target.servers]
    audited = []
    for server in live:
        listed = target.server(server.name)
        if listed is None:
            host = server.fqdn or server.name
            url = f"http://{host}:5985/wsman"
            if target.servers:
                warn(f"{server.name} is not in the inventory; its host endpoint defaults to {url}")
        else:
            url = listed.host_url
            declared = frozenset(listed.roles)
            if declared and {r.casefold() for r in declared} != {r.casefold() for r in server.roles}:
                warn(
                    f"{server.name}: the inventory says roles {', '.join(sorted(declared))}, Exchange says "
                    f"{', '.join(sorted(server.roles)) or 'none'}; using Exchange's"
                )
        audited.append(AuditedServer(server.name, server.roles, url))
    known = {s.name.casefold() for s in live}
    for listed in target.servers:
        if listed.name.casefold() not in known:
            warn(f"{listed.name} is in the inventory but not in Get-ExchangeServer; skipped")
    return audited


def host_reads(server: AuditedServer, request: CollectionRequest, now: datetime.datetime) -> list[Read]:
    """What to read on one server's host endpoint (empty: nothing to read there)."""
    reads: list[Read] = []
    if server.has_role("Mailbox") and request.registry_paths:
        commands = tuple(
            Command("Get-ItemProperty", (("Path", registry_drive_path(path)),), empty_when=(NO_REGISTRY_KEY,))
            for path in request.registry_paths
        )
        reads.append(Read(server_file("GetItemProperty", server.name), commands, "PSCustomObject"))
    queries = [q for q in request.events if server.has_role(q.role)]
    if queries:
        start = now - datetime.timedelta(days=request.event_lookback_days)
        commands = tuple(
            Command(
                "Get-WinEvent", (("FilterHashtable", event_filter(log_name, group, start)),), empty_when=(NO_EVENTS,)
            )
            for log_name, group in _by_log(queries).items()
        )
        reads.append(Read(server_file("GetWinEvent", server.name), commands, "EventLogRecord"))
    if reads and request.services:
        service = Command("Get-Service", (("Name", list(request.services)),))
        reads.append(Read(server_file("GetService", server.name), (service,), "ServiceController"))
    return reads


def registry_drive_path(path: str) -> str:
    """``HKLM\\SYSTEM\\...`` (as baselines write it) -> ``HKLM:\\SYSTEM\\...`` (a PowerShell drive)."""
    hive, sep, rest = path.partition("\\")
    if hive.upper() in ("HKLM", "HKEY_LOCAL_MACHINE") and sep:
        return f"HKLM:\\{rest}"
    return path


def _by_log(queries: Sequence[EventQuery]) -> dict[str, list[EventQuery]]:
    grouped: dict[str, list[EventQuery]] = {}
    for query in queries:
        grouped.setdefault(query.log_name, []).append(query)
    return grouped


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
