"""What the checks read about an organization: ``Facts``, a ``Reading`` per resource kind.

Every fact is a ``Reading``: the value, or the reason it could not be read. A check that meets an
unreadable fact reports "unreadable", never "compliant" and never "drift". The typed values
themselves (``ImapSettings``, ``ReceiveConnector``...) live with their resource kind in
``compliance.kinds``; ``Facts`` only files them by kind, so a new kind needs no change here.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, cast

from compliance.facts.values import Setting

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


@dataclass(frozen=True)
class Reading(Generic[T]):
    """A fact as read, or why it could not be (``error``), e.g. "GetImapSettings.xml: not collected".

    Exactly one of ``value`` and ``error`` is set. ``get()`` narrows: it returns the value, or
    None when the fact is unreadable, and ``reason`` then says why.
    """

    value: T | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        if (self.value is None) == (self.error is None):
            raise ValueError("a Reading holds a value or an error, not both and not neither")

    @classmethod
    def failed(cls, reason: str) -> Reading[T]:
        return cls(None, reason or "not read")

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def reason(self) -> str:
        """Why the fact is unreadable ("" when it was read)."""
        return self.error or ""

    def get(self) -> T | None:
        """The value; None exactly when the fact could not be read."""
        return self.value


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


class Kind(Protocol[T_co]):
    """What ``Facts`` needs of a resource kind (``compliance.kinds.base.ResourceKind``)."""

    @property
    def stem(self) -> str: ...

    def parse(self, objects: list[Any], server: str | None) -> T_co: ...


def server_file(stem: str, server: str) -> str:
    """The file stem of a per-server fact: ``GetItemProperty-EX01``."""
    return f"{stem}-{server}"


@dataclass
class Facts:
    """Everything read about one organization, filed by fact-file stem; each part may be unreadable."""

    source: str  # "facts folder examples/facts/x" or "https://ex01/PowerShell/"
    readings: dict[str, Reading[Any]] = field(default_factory=dict)  # stem, or stem-SERVER
    collected_at: datetime.datetime | None = None  # aware, in UTC (facts.offline.collected_at converts)
    warnings: list[str] = field(default_factory=list)

    def of(self, kind: Kind[T]) -> Reading[T]:
        """An organization-wide fact (``Get-ReceiveConnector`` of every Hub Transport server)."""
        found = self.readings.get(kind.stem)
        return cast(Reading[T], found) if found is not None else Reading.failed(f"{kind.stem}.xml: not collected")

    def on(self, kind: Kind[T], server: str) -> Reading[T]:
        """A per-server fact (``Get-ItemProperty`` on ``server``), matched case-insensitively."""
        wanted = server_file(kind.stem, server).casefold()
        for stem, reading in self.readings.items():
            if stem.casefold() == wanted:
                return cast(Reading[T], reading)
        return Reading.failed(f"{server_file(kind.stem, server)}.xml: not collected")

    def servers_read(self, kind: Kind[Any]) -> list[str]:
        """The servers a per-server fact was read (or failed to be read) for."""
        prefix = f"{kind.stem}-"
        return [stem[len(prefix) :] for stem in self.readings if stem.startswith(prefix)]
