"""Raw collections (one per cmdlet, named like the ``Export-Clixml`` files) -> ``Facts``.

The offline folder and the live remoting layer both produce ``RawFacts``: for each file stem
(``GetImapSettings``, ``GetItemProperty-EX01``...) the objects read, or why they could not be.
``build_facts`` is the one place those become typed facts, so live and offline plans agree.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from compliance.facts import parse
from compliance.facts.model import Facts, Reading

T = TypeVar("T")

RawFacts = dict[str, Reading[list[Any]]]

# Organization-wide collections: file stem -> the cmdlet that produced it.
ORG_FILES: dict[str, str] = {
    "GetExchangeServer": "Get-ExchangeServer",
    "GetImapSettings": "Get-ImapSettings",
    "GetReceiveConnector": "Get-ReceiveConnector",
    "GetThrottlingPolicy": "Get-ThrottlingPolicy",
    "GetMailbox": "Get-Mailbox",
    "GetOrganizationConfig": "Get-OrganizationConfig",
    "GetADPermission": "Get-ADPermission",
}
# Per-server collections, written as ``<stem>-<SERVER>.xml``.
SERVER_FILES: dict[str, str] = {
    "GetItemProperty": "Get-ItemProperty",
    "GetWinEvent": "Get-WinEvent",
    "GetService": "Get-Service",
}


def server_file(stem: str, server: str) -> str:
    return f"{stem}-{server}"


def _reading(raw: RawFacts, stem: str, parser: Callable[[list[Any]], T]) -> Reading[T]:
    collected = raw.get(stem)
    if collected is None:
        return Reading.failed(f"{stem}.xml: not collected")
    if not collected.ok or collected.value is None:
        return Reading.failed(collected.error or f"{stem}.xml: not collected")
    items = collected.value
    value, error = parse.guarded(lambda: parser(items), f"{stem}.xml")
    return Reading.failed(error) if error else Reading(value)


def _per_server(raw: RawFacts, stem: str, parser: Callable[[str, list[Any]], T]) -> dict[str, Reading[T]]:
    prefix = f"{stem}-"
    table: dict[str, Reading[T]] = {}
    for key in raw:
        if key.startswith(prefix):
            server = key[len(prefix) :]
            table[server] = _reading(raw, key, functools.partial(parser, server))
    return table


def build_facts(raw: RawFacts, *, source: str, collected_at: datetime.datetime | None = None) -> Facts:
    return Facts(
        source=source,
        servers=_reading(raw, "GetExchangeServer", parse.exchange_servers),
        imap=_reading(raw, "GetImapSettings", parse.imap_settings),
        receive_connectors=_reading(raw, "GetReceiveConnector", parse.receive_connectors),
        throttling_policies=_reading(raw, "GetThrottlingPolicy", parse.throttling_policies),
        mailbox=_reading(raw, "GetMailbox", parse.mailbox),
        organization=_reading(raw, "GetOrganizationConfig", parse.organization),
        ad_permissions=_reading(raw, "GetADPermission", parse.ad_permissions),
        registry=_per_server(raw, "GetItemProperty", parse.registry_keys),
        events=_per_server(raw, "GetWinEvent", parse.events),
        services=_per_server(raw, "GetService", parse.services),
        collected_at=collected_at,
    )


@dataclass(frozen=True)
class EventQuery:
    """Events a baseline looks for: ``Get-WinEvent -FilterHashtable`` on each server of ``role``."""

    log_name: str  # Application
    provider: str  # MSExchangeIS
    event_id: int  # 9646
    role: str  # Mailbox | HubTransport


@dataclass(frozen=True)
class CollectionRequest:
    """What a live collection must read, derived from the baseline and its vars.

    The offline collector script reads the same things; ``compliance.remoting`` turns this into
    cmdlets on the Exchange endpoint and on each server's host endpoint.
    """

    uccx_mailbox: str
    registry_paths: tuple[str, ...] = ()  # HKLM\SYSTEM\CurrentControlSet\Services\MSExchangeIS\ParametersSystem
    events: tuple[EventQuery, ...] = ()
    event_lookback_days: int = 7
    services: tuple[str, ...] = ()  # services the baseline may restart (MSExchangeIS, MSExchangeIMAP4)
