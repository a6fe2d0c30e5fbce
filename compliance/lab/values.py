"""Typed values the lab writes into objects, so a change keeps the .NET type a real server has.

``Set-ReceiveConnector -MessageRateLimit 250`` must leave an ``Unlimited<Int32>`` object, not a
number; ``Set-ImapSettings`` an Int32; a 2010 throttling setting a UInt32 or Nil; a registry
DWORD an Int32. Conversions raise ``ValueError`` with PowerShell's wording of the failure.
"""

from __future__ import annotations

from typing import Any

from psrpcore.types import PSInt, PSNoteProperty, PSObject, PSString, PSUInt

from compliance.lab.properties import find_property

UNLIMITED_INT32 = (
    "Microsoft.Exchange.Data.Unlimited`1[[System.Int32, mscorlib, Version=4.0.0.0, Culture=neutral, "
    "PublicKeyToken=b77a5c561934e089]]"
)
_INT32_RANGE = (-(2**31), 2**31 - 1)
_UINT32_RANGE = (0, 2**32 - 1)


def new_object(type_names: list[str], to_string: str | None, props: dict[str, Any]) -> PSObject:
    """A complex object with adapted properties (``<Props>``), as Exchange objects are sent."""
    obj = PSObject()
    obj.PSObject.type_names = list(type_names)
    if to_string is not None:
        obj.PSObject.to_string = to_string
    for name, value in props.items():
        obj.PSObject.adapted_properties.append(PSNoteProperty(name, value=value))
    return obj


def set_property(obj: Any, name: str, value: Any) -> None:
    """Set an existing property in place (keeps its position), or add it as adapted."""
    info = find_property(obj, name)
    if info is not None:
        info.set_value(value, obj)
    else:
        obj.PSObject.adapted_properties.append(PSNoteProperty(name, value=value))


def _integer(raw: Any, type_name: str, bounds: tuple[int, int]) -> int:
    text = str(raw).strip()
    try:
        number = int(raw) if isinstance(raw, int) and not isinstance(raw, bool) else int(text)
    except ValueError:
        raise ValueError(f'Cannot convert value "{raw}" to type "{type_name}".') from None
    if not bounds[0] <= number <= bounds[1]:
        raise ValueError(
            f'Cannot convert value "{raw}" to type "{type_name}". Value was either too large or too small.'
        )
    return number


def int32(raw: Any) -> PSInt:
    return PSInt(_integer(raw, "System.Int32", _INT32_RANGE))


def uint32_or_nil(raw: Any) -> PSUInt | None:
    """A 2010 throttling setting: ``$null`` (no limit) stays Nil, anything else a UInt32."""
    if raw is None:
        return None
    return PSUInt(_integer(raw, "System.UInt32", _UINT32_RANGE))


def unlimited_uint32(raw: Any) -> PSString | PSUInt | None:
    """A 2013+ throttling setting: Unlimited (held as the text, as the folder's exports show it), a
    UInt32, or ``$null`` (not set here: the setting is inherited)."""
    if raw is None:
        return None
    if isinstance(raw, str) and raw.strip().lower() == "unlimited":
        return PSString("Unlimited")
    return PSUInt(_integer(raw, "Microsoft.Exchange.Data.Unlimited`1[System.UInt32]", _UINT32_RANGE))


def unlimited_int32(raw: Any, template: Any = None) -> PSObject:
    """``Unlimited<Int32>``: the string Unlimited, or a number; type names copied from the old value."""
    type_names = list(template.PSObject.type_names) if getattr(template, "PSObject", None) else []
    type_names = type_names or [UNLIMITED_INT32, "System.ValueType", "System.Object"]
    if isinstance(raw, str) and raw.strip().lower() == "unlimited":
        return new_object(type_names, "Unlimited", {"IsUnlimited": True})
    number = _integer(raw, "Microsoft.Exchange.Data.Unlimited`1[System.Int32]", _INT32_RANGE)
    return new_object(type_names, str(number), {"IsUnlimited": False, "Value": PSInt(number)})


def ad_object_id(name: str, distinguished_name: str, template: Any = None) -> PSObject:
    """An ``ADObjectId`` as Exchange serializes it: ToString the object's name."""
    type_names = list(template.PSObject.type_names) if getattr(template, "PSObject", None) else []
    type_names = type_names or [
        "Microsoft.Exchange.Data.Directory.ADObjectId",
        "Microsoft.Exchange.Data.ObjectId",
        "System.Object",
    ]
    return new_object(
        type_names,
        name,
        {
            "IsDeleted": False,
            "Rdn": f"CN={name}",
            "DistinguishedName": PSString(distinguished_name),
            "Name": name,
        },
    )
