"""Exchange values normalised once, here: limits, ``Unlimited<T>``, ``$null``, sizes, AD names.

A check never looks at a raw CLIXML value; it compares ``Setting.value`` (normalised) and shows
``Setting.shown`` (the value as Exchange prints it: ``20``, ``"Unlimited"``, ``null``).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from compliance.facts.psobject import PSObj


class _Unlimited:
    """No limit: Exchange 2013+ ``Unlimited`` and, where the type allows it, 2010's ``$null``."""

    _instance: _Unlimited | None = None

    def __new__(cls) -> _Unlimited:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNLIMITED"

    def __reduce__(self) -> str:
        return "UNLIMITED"


UNLIMITED: Final = _Unlimited()

Scalar = int | str | bool | None | _Unlimited
# A value as Exchange prints it, as plans, saved plans and backups carry it: 20, "Unlimited", $null,
# or the items of a multi-valued property.
Shown = int | str | bool | list[str] | None

_UNLIMITED_TYPE = "Microsoft.Exchange.Data.Unlimited"
_BYTES = re.compile(r"\(([\d,.\s]+) bytes\)")


@dataclass(frozen=True)
class Setting:
    """One setting as read: ``value`` for comparisons, ``shown`` as Exchange printed it."""

    value: Scalar
    shown: Shown


def normalize(raw: Any, *, null_means_unlimited: bool = False) -> Setting:
    """The single place that decides what a raw value means.

    ``null_means_unlimited`` is true for Exchange 2010 throttling settings, whose type is
    ``Nullable<UInt32>`` and whose ``$null`` means "no limit" (see exchange-facts.md).
    """
    if raw is None:
        return Setting(UNLIMITED if null_means_unlimited else None, None)
    if isinstance(raw, bool):
        return Setting(raw, raw)
    if isinstance(raw, int):
        return Setting(raw, raw)
    if isinstance(raw, PSObj):
        return _normalize_object(raw)
    if isinstance(raw, str):
        return _normalize_text(raw)
    if isinstance(raw, list | tuple):
        # A multi-valued property (Bindings, RemoteIPRanges): compared as its items joined, shown
        # as the list of items as Exchange prints each one.
        items = [str(item) if isinstance(item, PSObj) else str(normalize(item).shown) for item in raw]
        return Setting(", ".join(items), items)
    return Setting(str(raw), str(raw))


def _normalize_object(obj: PSObj) -> Setting:
    if obj.is_type(_UNLIMITED_TYPE):
        if obj.get("IsUnlimited"):
            return Setting(UNLIMITED, "Unlimited")
        inner = obj.get("Value")
        if isinstance(inner, PSObj):  # Unlimited<ByteQuantifiedSize>
            return _normalize_object(inner)
        return Setting(int(inner), int(inner)) if isinstance(inner, int) else _normalize_text(str(obj))
    if obj.is_type("Microsoft.Exchange.Data.ByteQuantifiedSize"):
        return Setting(byte_quantity(str(obj)), str(obj))
    if obj.is_type("Microsoft.Exchange.Data.Directory.ADObjectId"):
        name = ad_object_name(obj)
        return Setting(name, name)
    if isinstance(obj.value, bool | int):
        return Setting(str(obj), str(obj))  # an enum: compare its name, as admins write it
    return _normalize_text(str(obj))


def _normalize_text(text: str) -> Setting:
    stripped = text.strip()
    if stripped.lower() == "unlimited":
        return Setting(UNLIMITED, "Unlimited")
    if re.fullmatch(r"-?\d+", stripped):
        return Setting(int(stripped), int(stripped))
    if _BYTES.search(stripped):
        return Setting(byte_quantity(stripped), stripped)
    return Setting(stripped, text)


def byte_quantity(text: str) -> int | str:
    """``10 MB (10,485,760 bytes)`` -> 10485760; the text itself when it has no byte count."""
    match = _BYTES.search(text)
    if not match:
        return text
    return int(re.sub(r"[^\d]", "", match.group(1)))


def ad_object_name(raw: Any) -> str | None:
    """The name an admin uses for an AD object: an ADObjectId's Name, else its ToString.

    ADObjectIds compare by name, case-insensitively (``same_name``).
    """
    if raw is None:
        return None
    if isinstance(raw, PSObj):
        name = raw.get("Name")
        if isinstance(name, str) and name:
            return name
        text = str(raw)
        return text or None
    text = str(raw).strip()
    return text or None


def same_name(a: str | None, b: str | None) -> bool:
    """Exchange names and identities compare case-insensitively."""
    return a is not None and b is not None and a.casefold() == b.casefold()


def same_value(a: Any, b: Any) -> bool:
    """Values as Exchange shows them: names compare case-insensitively, numbers exactly."""
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


def has_role(roles: Iterable[str], role: str) -> bool:
    """Server roles as ``ServerRole`` prints them ("Mailbox", "ClientAccess"), case-insensitively."""
    return any(same_name(r, role) for r in roles)


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
        if (self.major, self.minor) == (15, 2) and self.build >= SE_FIRST_BUILD:
            return "Exchange Server Subscription Edition"  # SE RTM is 15.2.2562.17: 2019's version line
        return _PRODUCTS.get((self.major, self.minor), f"Exchange {self.major}.{self.minor}")


SE_FIRST_BUILD = 2562  # Exchange Server SE RTM, Version 15.2 (Build 2562.17), July 2025


_PRODUCTS = {
    (14, 0): "Exchange 2010 RTM",
    (14, 1): "Exchange 2010 SP1",
    (14, 2): "Exchange 2010 SP2",
    (14, 3): "Exchange 2010 SP3",
    (15, 0): "Exchange 2013",
    (15, 1): "Exchange 2016",
    (15, 2): "Exchange 2019",
}


def shown(value: Scalar) -> Any:
    """How a normalised value is printed in plans and JSON."""
    if value is UNLIMITED:
        return "Unlimited"
    return value


def utc_time(value: Any) -> datetime.datetime:
    """A time as Exchange or Windows gives it (a ``DateTime``, or ISO text such as
    ``2026-11-23T08:41:03Z``), as an aware UTC time; a time without an offset is taken as UTC.

    Raises ``ValueError`` for anything else, including a time that cannot be placed in UTC
    (``0001-01-01T00:00:00+14:00``): the caller says what that means for its fact."""
    if isinstance(value, datetime.datetime):
        when = value
    else:
        when = datetime.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    if when.tzinfo is None:
        return when.replace(tzinfo=datetime.timezone.utc)
    try:
        return when.astimezone(datetime.timezone.utc)
    except OverflowError:
        raise ValueError(f"{str(value)[:40]!r} falls outside years 1-9999 in UTC") from None
