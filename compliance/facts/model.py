"""Typed facts: what the checks read about an Exchange organization.

Every collection of facts is a ``Reading``: either the value or the reason it could not be read.
A check that meets an unreadable fact reports "unreadable", never "compliant" and never "drift".
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from compliance.facts.values import Setting

T = TypeVar("T")


@dataclass(frozen=True)
class Reading(Generic[T]):
    """A fact as read, or why it could not be (``error``), e.g. "GetImapSettings.xml: not collected"."""

    value: T | None = None
    error: str | None = None

    @classmethod
    def failed(cls, reason: str) -> Reading[T]:
        return cls(None, reason)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, order=True)
class ServerVersion:
    """``AdminDisplayVersion``: ``Version 14.3 (Build 123.4)`` is 14.3.123.4."""

    major: int
    minor: int
    build: int = 0
    revision: int = 0

    def __str__(self) -> str:
        return f"Version {self.major}.{self.minor} (Build {self.build}.{self.revision})"

    @property
    def product(self) -> str:
        names = {
            (14, 0): "Exchange 2010 RTM",
            (14, 1): "Exchange 2010 SP1",
            (14, 2): "Exchange 2010 SP2",
            (14, 3): "Exchange 2010 SP3",
            (15, 0): "Exchange 2013",
            (15, 1): "Exchange 2016",
            (15, 2): "Exchange 2019",
        }
        return names.get((self.major, self.minor), f"Exchange {self.major}.{self.minor}")


@dataclass(frozen=True)
class ExchangeServer:
    name: str
    fqdn: str | None
    version: ServerVersion | None
    roles: frozenset[str]  # "Mailbox", "ClientAccess", "HubTransport", ... as ServerRole prints them

    def has_role(self, role: str) -> bool:
        return any(r.casefold() == role.casefold() for r in self.roles)


class Settings(Mapping[str, Setting]):
    """Settings by name, looked up case-insensitively like PowerShell properties."""

    def __init__(self, values: Mapping[str, Setting]) -> None:
        self._values = dict(values)
        self._lower = {k.casefold(): k for k in values}

    def __getitem__(self, name: str) -> Setting:
        return self._values[self._lower[name.casefold()]]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.casefold() in self._lower

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Settings({self._values!r})"


@dataclass(frozen=True)
class ImapSettings:
    server: str
    settings: Settings


@dataclass(frozen=True)
class ReceiveConnector:
    identity: str  # SERVER\Connector Name
    server: str
    name: str
    settings: Settings


@dataclass(frozen=True)
class ThrottlingPolicy:
    name: str
    is_default: bool
    settings: Settings


@dataclass(frozen=True)
class Mailbox:
    identity: str
    alias: str | None
    name: str | None
    distinguished_name: str | None
    throttling_policy: str | None  # None: the default policy applies


@dataclass(frozen=True)
class Organization:
    name: str
    distinguished_name: str


@dataclass(frozen=True)
class AdPermissionEntry:
    user: str
    identity: str
    extended_rights: tuple[str, ...]
    access_rights: tuple[str, ...]
    deny: bool
    inherited: bool


@dataclass(frozen=True)
class RegistryKey:
    server: str
    path: str  # HKLM\SYSTEM\CurrentControlSet\Services\MSExchangeIS\ParametersSystem
    values: Settings


@dataclass(frozen=True)
class EventRecord:
    server: str
    event_id: int
    provider: str
    time: datetime.datetime | None
    message: str


@dataclass(frozen=True)
class ServiceState:
    server: str
    name: str
    status: str


@dataclass
class Facts:
    """Everything the checks read about one organization; each part may be unreadable."""

    source: str  # "facts folder examples/facts/x" or "https://ex01/PowerShell/"
    servers: Reading[list[ExchangeServer]]
    imap: Reading[list[ImapSettings]]
    receive_connectors: Reading[list[ReceiveConnector]]
    throttling_policies: Reading[list[ThrottlingPolicy]]
    mailbox: Reading[Mailbox]
    organization: Reading[Organization]
    ad_permissions: Reading[list[AdPermissionEntry]]
    registry: dict[str, Reading[list[RegistryKey]]] = field(default_factory=dict)
    events: dict[str, Reading[list[EventRecord]]] = field(default_factory=dict)
    services: dict[str, Reading[list[ServiceState]]] = field(default_factory=dict)
    collected_at: datetime.datetime | None = None
    warnings: list[str] = field(default_factory=list)

    def registry_on(self, server: str) -> Reading[list[RegistryKey]]:
        return _per_server(self.registry, server, "GetItemProperty")

    def events_on(self, server: str) -> Reading[list[EventRecord]]:
        return _per_server(self.events, server, "GetWinEvent")


def _per_server(table: Mapping[str, Reading[T]], server: str, stem: str) -> Reading[T]:
    for name, reading in table.items():
        if name.casefold() == server.casefold():
            return reading
    return Reading.failed(f"{stem}-{server}.xml: not collected")
