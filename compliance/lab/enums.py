""".NET enum values that psrpcore serializes the way PowerShell does.

An exported enum property is ``<Obj><TN>..ServerRole, System.Enum..</TN><ToString>Mailbox,
ClientAccess</ToString><I32>38</I32></Obj>``. psrpcore reads it back as a plain ``PSInt`` carrying
the type names, but only writes TN and ToString again for instances of ``enum.Enum``; a plain
integer would reach the client as a bare ``<I32>38</I32>`` and lose "Mailbox, ClientAccess".
So the lab turns each such value into a one-member ``PSEnumBase`` class built on the fly, with the
real type names, the real ToString as the member name and the original integer type.
"""

from __future__ import annotations

import threading
from typing import Any

from psrpcore.types import PSEnumBase, PSInt, PSType

# Private psrpcore names: the enum metaclass (the only way to pass base_type) and the integer base.
from psrpcore.types._enum import PSEnumMeta
from psrpcore.types._primitive import PSIntegerBase

_ENUM_MARKER = "System.Enum"
_CLASSES: dict[tuple[tuple[str, ...], str, int, type], Any] = {}
_CLASSES_LOCK = threading.Lock()


class _LabEnum(PSEnumBase):
    """Base of the generated classes: ``str()`` is the .NET ToString, as for a real enum value."""

    def __str__(self) -> str:
        return str(self.name)


def is_enum_like(value: Any) -> bool:
    ps = getattr(value, "PSObject", None)
    return (
        isinstance(value, PSIntegerBase)
        and not isinstance(value, PSEnumBase)
        and ps is not None
        and _ENUM_MARKER in ps.type_names
    )


def enum_value(type_names: list[str], to_string: str, number: int, base_type: type = PSInt) -> Any:
    """An enum instance that serializes as ``<Obj><TN/><ToString/><I32/></Obj>``."""
    base = base_type if issubclass(base_type, PSIntegerBase) and base_type is not PSIntegerBase else PSInt
    cls = _enum_class(tuple(type_names), to_string, int(number), base)
    return cls(int(number))


def as_enum(value: Any) -> Any:
    """Turn a deserialized enum-like integer into an ``enum_value``; anything else unchanged."""
    if not is_enum_like(value):
        return value
    ps = value.PSObject
    return enum_value(list(ps.type_names), str(ps.to_string or int(value)), int(value), type(value))


def _enum_class(type_names: tuple[str, ...], to_string: str, number: int, base_type: type) -> Any:
    """One class per distinct value (type, ToString, number, integer type), made once."""
    key = (type_names, to_string, number, base_type)
    with _CLASSES_LOCK:
        if key not in _CLASSES:
            _CLASSES[key] = _new_enum_class(*key)
        return _CLASSES[key]


def _new_enum_class(type_names: tuple[str, ...], to_string: str, number: int, base_type: type) -> Any:
    name = type_names[0].rsplit(".", 1)[-1] if type_names else "Enum"
    # Enum member names may not start with "_"; ToString of a real value never does, but be safe.
    member = to_string if to_string and not to_string.startswith("_") else f"Value{number}"
    namespace: Any = PSEnumMeta.__prepare__(name, (_LabEnum,), base_type=base_type)
    namespace[member] = number
    cls: Any = PSEnumMeta(name, (_LabEnum,), namespace, base_type=base_type)
    # rehydrate=False: do not register these names for deserialization in the whole process.
    return PSType(list(type_names), skip_inheritance=True, rehydrate=False)(cls)
