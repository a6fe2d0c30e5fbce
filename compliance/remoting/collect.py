"""The live read: every resource kind's commands over WinRM/PSRP into ``RawFacts``.

The kinds (``compliance.kinds``) say what to send; this module only sends it, in as few round
trips as the kinds allow. On the Exchange endpoint, one batched round trip for the kinds that
need nothing first (``Get-ExchangeServer``, ``Get-ThrottlingPolicy``...), then one for the kinds
that need the server list or an earlier fact (``Get-ReceiveConnector -Server X`` per Hub Transport
server, ``Get-ADPermission`` with the organization's DN). On each server's host endpoint, one
batched round trip for its kinds, and one more for the kinds that follow up on what they found.

Nothing here raises for an unreachable endpoint: its facts come back as ``Reading.failed`` with
one line, so the plan reports them unreadable (exit 3), never compliant and never drift.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Callable, Sequence
from typing import Any

from compliance.facts.collection import CollectionRequest, RawFacts
from compliance.facts.model import Reading, server_file
from compliance.inventory import Target
from compliance.kinds import exchange_server, organization_kinds, server_kinds
from compliance.kinds.base import AuditedServer, ReadContext, ResourceKind
from compliance.remoting.invoke import Read, run_reads
from compliance.remoting.secrets import redacting_logs
from compliance.remoting.session import HOST_CONFIGURATION, ConnectOptions, Endpoint, Sessions, check_transport

Warn = Callable[[str], None]


def collect(
    target: Target,
    request: CollectionRequest,
    *,
    password: str | None,
    allow_insecure_transport: bool = False,
    now: datetime.datetime | None = None,
    warn: Warn | None = None,
    batch: bool = True,
    sessions: Sessions | None = None,
) -> RawFacts:
    """Read every fact of ``target``; each one is a value or the one line saying why not.

    With ``sessions`` (open, the caller's) the reads go through them and they stay open;
    without, this read opens its own and closes them at the end.
    """
    options = ConnectOptions(password=password, allow_insecure_transport=allow_insecure_transport)
    say: Warn = warn or (lambda _line: None)
    context = ReadContext(request, now or datetime.datetime.now(datetime.timezone.utc))
    _check_all_transports(target, options)
    opened = contextlib.nullcontext(sessions) if sessions is not None else Sessions(target, options)
    with redacting_logs(password, target.username), opened as sessions:
        exchange = sessions.exchange()
        first = [k for k in organization_kinds() if not k.after_servers]
        raw = _organization_round(exchange, first, context, batch)
        servers = audited_servers(target, raw[exchange_server.KIND.stem], say)
        context = ReadContext(request, context.now, tuple(servers), dict(raw))
        second = [k for k in organization_kinds() if k.after_servers]
        raw.update(_organization_round(exchange, second, context, batch))
        for server in servers:
            raw.update(_server_round(sessions.get(server.host_url, HOST_CONFIGURATION), server, context, batch))
    return raw


def _organization_round(
    session: Any, kinds: Sequence[ResourceKind[Any]], context: ReadContext, batch: bool
) -> RawFacts:
    """One round trip for ``kinds`` on the Exchange endpoint; readings a kind settles need none."""
    settled: RawFacts = {}
    reads: list[Read] = []
    for kind in kinds:
        planned = kind.reads(context)
        if isinstance(planned, Reading):
            settled[kind.stem] = planned
        else:
            reads.append(Read(kind.stem, planned, kind.output_type))
    return {**settled, **run_reads(session, reads, batch=batch)}


def _server_round(session: Any, server: AuditedServer, context: ReadContext, batch: bool) -> RawFacts:
    """The host-endpoint kinds of one server, then the follow-ups of what they found."""
    kinds = server_kinds()
    planned = {kind.stem: kind.reads_on(context, server) for kind in kinds}
    if not any(planned[k.stem] for k in kinds if not k.companion):
        return {}  # nothing of this server is baselined: do not open its endpoint
    reads = [
        Read(server_file(kind.stem, server.name), planned[kind.stem], kind.output_type)
        for kind in kinds
        if planned[kind.stem]
    ]
    raw = run_reads(session, reads, batch=batch)
    follow_ups: list[tuple[ResourceKind[Any], Read]] = []
    for kind in kinds:
        stem = server_file(kind.stem, server.name)
        found = raw.get(stem, Reading.failed("")).get()
        if found is not None and (commands := kind.follow_up(context, server, found)):
            follow_ups.append((kind, Read(stem, commands, kind.follow_up_type)))
    if follow_ups:
        more = run_reads(session, [read for _, read in follow_ups], batch=batch)
        for _kind, read in follow_ups:
            extra = more[read.stem]
            found = raw[read.stem].get() or []
            raw[read.stem] = extra if (objects := extra.get()) is None else Reading([*found, *objects])
    return raw


def _check_all_transports(target: Target, options: ConnectOptions) -> None:
    """Refuse an insecure endpoint before any connection is made, not halfway through."""
    check_transport(target, Endpoint(target.exchange_endpoint, target.configuration), options)
    for server in target.servers:
        check_transport(target, Endpoint(server.host_url, HOST_CONFIGURATION), options)


def audited_servers(target: Target, exchange_servers: Reading[list[Any]], warn: Warn) -> list[AuditedServer]:
    """The servers to read, from Get-ExchangeServer cross-checked with the inventory.

    Get-ExchangeServer is authoritative for which servers exist and their roles; the inventory
    gives host endpoints. When Get-ExchangeServer cannot be read the inventory's roles are used.
    """
    live: list[exchange_server.ExchangeServer] | None = None
    if (found := exchange_servers.get()) is not None:
        try:
            live = exchange_server.KIND.parse(found, None)
        except ValueError as exc:
            warn(f"Get-ExchangeServer: {exc}; using the inventory's servers and roles")
    if live is None:
        return [AuditedServer(s.name, frozenset(s.roles), s.host_url) for s in target.servers]
    audited = []
    for server in live:
        listed = target.server(server.name)
        if listed is None:
            url = f"http://{server.fqdn or server.name}:5985/wsman"
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


__all__ = ["audited_servers", "collect"]
