"""What a collection reads, and what it returns before parsing.

``CollectionRequest`` is derived from a baseline and its vars; the resource kinds
(``compliance.kinds``) turn it into cmdlets. ``RawFacts`` is what the offline folder and the live
remoting layer both produce: for each file stem (``GetImapSettings``, ``GetItemProperty-EX01``...)
the objects read, or why they could not be. ``compliance.pipeline.build_facts`` is the one place
those become typed facts, so live and offline plans agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compliance.facts.model import Reading

RawFacts = dict[str, Reading[list[Any]]]


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

    The offline collector script reads the same things; the resource kinds turn this into cmdlets
    on the Exchange endpoint and on each server's host endpoint.
    """

    uccx_mailbox: str
    registry_paths: tuple[str, ...] = ()  # HKLM\SYSTEM\CurrentControlSet\Services\MSExchangeIS\ParametersSystem
    events: tuple[EventQuery, ...] = ()
    event_lookback_days: int = 7
    services: tuple[str, ...] = ()  # services the baseline may restart (MSExchangeIS, MSExchangeIMAP4)
