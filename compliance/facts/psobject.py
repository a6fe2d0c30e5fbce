"""A neutral form of the objects PowerShell sends: the one shape every fact parser reads.

Objects come from two libraries: psrpcore (``Export-Clixml`` files, the offline folder) and pypsrp
(live remoting). Both are converted here into ``PSObj`` and plain Python values, so the parsers in
``compliance.facts.parse`` do not care where a fact came from.
"""

from __future__ import annotations

import datetime
import functools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

_DESERIALIZED = "Deserialized."

# Python types a CLIXML primitive arrives as (psrpcore subclasses them, pypsrp returns them).
_PRIMITIVES = (bool, int, float, str, bytes, datetime.datetime, datetime.timedelta, uuid.UUID)


# .NET types that CLIXML writes as bare primitives; anything else carried on a primitive value
# (an enum such as ServiceControllerStatus, a flags type such as AuthMechanisms) keeps its ToString.
_PRIMITIVE_TYPE_NAMES = frozenset(
    f"System.{name}"
    for name in (
        "String",
        "Char",
        "Boolean",
        "DateTime",
        "TimeSpan",
        "Byte",
        "SByte",
        "Int16",
        "UInt16",
        "Int32",
        "UInt32",
        "Int64",
        "UInt64",
        "Single",
        "Double",
        "Decimal",
        "Byte[]",
        "Guid",
        "Uri",
        "Version",
        "Xml.XmlDocument",
        "Management.Automation.ScriptBlock",
        "Security.SecureString",
    )
)


def strip_deserialized(type_name: str) -> str:
    """``Deserialized.Deserialized.X`` (an export from a remote session) -> ``X``."""
    while type_name.startswith(_DESERIALIZED):
        type_name = type_name[len(_DESERIALIZED) :]
    return type_name


# A connector-heavy export holds hundreds of thousands of objects of a few dozen types, each with
# the same property names: one tuple of type names and one name map per distinct list, shared by
# every object that has it, instead of one each (bench/offline.py: tens of MiB at 2,000 connectors).
@functools.lru_cache(maxsize=4096)
def _canonical_type_names(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(strip_deserialized(t) for t in names)


@functools.lru_cache(maxsize=4096)
def _lower_names(names: tuple[str, ...]) -> dict[str, str]:
    return {k.lower(): k for k in names}


@dataclass
class PSObj:
    """A complex object: its type names, its ToString and its properties.

    ``value`` holds the underlying primitive of an enum or a typed primitive (an
    ``AuthMechanisms`` flag set is the integer 31 with the ToString ``Tls, Integrated, ...``).
    """

    type_names: tuple[str, ...]
    to_string: str | None = None
    props: dict[str, Any] = field(default_factory=dict)
    value: Any = None

    def __post_init__(self) -> None:
        self.type_names = _canonical_type_names(tuple(self.type_names))
        self._lower = _lower_names(tuple(self.props))  # shared: never changed after it is made

    def is_type(self, prefix: str) -> bool:
        """True when any type name starts with ``prefix`` (generic arguments ignored)."""
        return any(t.startswith(prefix) for t in self.type_names)

    def has(self, name: str) -> bool:
        return name.lower() in self._lower

    def get(self, name: str, default: Any = None) -> Any:
        """A property by name, case-insensitively as PowerShell does."""
        key = self._lower.get(name.lower())
        return self.props[key] if key is not None else default

    def names(self) -> Iterator[str]:
        return iter(self.props)

    def __str__(self) -> str:
        if self.to_string is not None:
            return self.to_string
        return "" if self.value is None else str(self.value)


def deserialize(clixml: str) -> list[Any]:
    """psrpcore's CLIXML reader, without a session cipher: fact files carry no SecureString."""
    from psrpcore.types import deserialize_clixml

    no_cipher: Any = None
    result: list[Any] = deserialize_clixml(clixml, no_cipher)
    return result


def from_psrpcore(value: Any) -> Any:
    """Convert a value produced by ``psrpcore.types.deserialize_clixml`` into neutral form."""
    from psrpcore.types import PSObject

    if value is None:
        return None
    ps_object = getattr(value, "PSObject", None)
    type_names = tuple(getattr(value, "PSTypeNames", ()) or ())
    if isinstance(value, _PRIMITIVES):
        plain = _plain_primitive(value)
        if type_names and strip_deserialized(type_names[0]) not in _PRIMITIVE_TYPE_NAMES:
            # An enum or other typed primitive: keep the type and the text Exchange shows.
            return PSObj(type_names, _to_string(ps_object), value=plain)
        return plain
    if isinstance(value, list):
        return [from_psrpcore(v) for v in value]
    if isinstance(value, dict):
        return {str(k): from_psrpcore(v) for k, v in value.items()}
    if isinstance(value, PSObject) and ps_object is not None:
        props = {
            prop.name: from_psrpcore(value[prop.name])
            for prop in [*ps_object.adapted_properties, *ps_object.extended_properties]
            if prop.name != "SerializationData"  # an opaque .NET blob; nothing reads it
        }
        return PSObj(type_names, _to_string(ps_object), props)
    return value


def _to_string(ps_object: Any) -> str | None:
    text = getattr(ps_object, "to_string", None)
    return None if text is None else str(text)


def _plain_primitive(value: Any) -> Any:
    """psrpcore's subclass of a Python type -> the plain type (bool first: it is an int)."""
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, uuid.UUID):
        return uuid.UUID(str(value))
    if isinstance(value, datetime.datetime):
        # Rebuilt from its fields: 0001-01-01 (DateTime.MinValue, common in Exchange) has no timestamp.
        return datetime.datetime(
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
            tzinfo=value.tzinfo,
        )
    if isinstance(value, datetime.timedelta):
        return datetime.timedelta(seconds=value.total_seconds())
    return value
