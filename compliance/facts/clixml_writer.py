"""Write neutral objects back as an ``Export-Clixml`` file, as a remote session's export looks.

UTF-8 with a BOM, ``<Objs Version="1.1.0.1">``, type names with one ``Deserialized.`` prefix,
``RefId``/``TNRef`` for repeated type-name lists, ``<ToString>``, and the primitive tags
(``I32 I64 U32 S B DT TS G Nil BA Db``, ``LST``, ``DCT``). ``compliance.facts.offline.read_clixml``
reads the file back into an equal neutral value; that round trip is what ``facts collect`` relies on.

The neutral form keeps no .NET integer width: an int is written as I32 when it fits, else I64.
"""

from __future__ import annotations

import base64
import datetime
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from compliance.facts.psobject import PSObj

NAMESPACE = "http://schemas.microsoft.com/powershell/2004/04"
_DESERIALIZED = "Deserialized."
_CUSTOM_OBJECT = "System.Management.Automation.PSCustomObject"
# Characters CLIXML escapes as _xHHHH_ (control characters, and a literal "_x" sequence's underscore).
_ESCAPE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]|_(?=x[0-9A-Fa-f]{4}_)")


class _Writer:
    def __init__(self) -> None:
        self._next_ref = 0
        self._type_refs: dict[tuple[str, ...], str] = {}

    def element(self, value: Any, name: str | None = None) -> ET.Element:
        element = self._value(value)
        if name is not None:
            element.set("N", name)
        return element

    def _value(self, value: Any) -> ET.Element:
        if value is None:
            return ET.Element("Nil")
        if isinstance(value, PSObj):
            return self._object(value)
        if isinstance(value, list):
            return self._collection(
                ("System.Object[]", "System.Array", "System.Object"), "LST", [self.element(v) for v in value]
            )
        if isinstance(value, dict):
            entries = []
            for key, item in value.items():
                entry = ET.Element("En")
                entry.append(self.element(key, "Key"))
                entry.append(self.element(item, "Value"))
                entries.append(entry)
            return self._collection(("System.Collections.Hashtable", "System.Object"), "DCT", entries)
        return _primitive(value)

    def _object(self, obj: PSObj) -> ET.Element:
        element = self._new_obj(obj.type_names)
        if obj.to_string is not None:
            _text(element, "ToString", obj.to_string)
        if obj.value is not None:
            element.append(self.element(obj.value))
        if obj.props:
            # Note properties of a PSCustomObject (Get-ItemProperty) travel in <MS>, the rest in <Props>.
            group = ET.SubElement(element, "MS" if obj.is_type(_CUSTOM_OBJECT) else "Props")
            for name in obj.names():
                group.append(self.element(obj.get(name), name))
        return element

    def _collection(self, types: tuple[str, ...], tag: str, items: Iterable[ET.Element]) -> ET.Element:
        element = self._new_obj(types)
        container = ET.SubElement(element, tag)
        container.extend(items)
        return element

    def _new_obj(self, type_names: Iterable[str]) -> ET.Element:
        element = ET.Element("Obj", RefId=self._ref())
        names = tuple(_DESERIALIZED + t for t in type_names)
        if not names:
            return element
        known = self._type_refs.get(names)
        if known is not None:
            ET.SubElement(element, "TNRef", RefId=known)
        else:
            ref = self._type_refs[names] = str(len(self._type_refs))
            tn = ET.SubElement(element, "TN", RefId=ref)
            for type_name in names:
                _text(tn, "T", type_name)
        return element

    def _ref(self) -> str:
        ref = str(self._next_ref)
        self._next_ref += 1
        return ref


def _primitive(value: Any) -> ET.Element:
    if isinstance(value, bool):
        return _leaf("B", "true" if value else "false")
    if isinstance(value, int):
        return _leaf("I32" if -(2**31) <= value < 2**31 else "I64", str(value))
    if isinstance(value, float):
        return _leaf("Db", repr(value))
    if isinstance(value, str):
        return _leaf("S", escape(value))
    if isinstance(value, bytes):
        return _leaf("BA", base64.b64encode(value).decode("ascii"))
    if isinstance(value, datetime.datetime):
        return _leaf("DT", _datetime(value))
    if isinstance(value, datetime.timedelta):
        return _leaf("TS", _duration(value))
    if isinstance(value, uuid.UUID):
        return _leaf("G", str(value))
    return _leaf("S", escape(str(value)))


def escape(text: str) -> str:
    """CLIXML's string escape: ``_xHHHH_`` for characters XML cannot carry, and for a ``_``
    that would otherwise start an escape."""
    return _ESCAPE.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)


def _datetime(value: datetime.datetime) -> str:
    # Formatted by hand: strftime writes year 1 (DateTime.MinValue, common in Exchange) as "1".
    text = (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:{value.minute:02d}:"
        f"{value.second:02d}.{value.microsecond:06d}0"
    )
    offset = value.utcoffset()
    if offset is None:
        return text
    if offset == datetime.timedelta(0) and value.tzinfo is datetime.timezone.utc:
        return text + "Z"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{text}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _duration(value: datetime.timedelta) -> str:
    """xs:duration as .NET's XmlConvert writes a TimeSpan: ``PT1H2M3.5S``, ``P1DT2H``."""
    total = value.total_seconds()
    sign = "-" if total < 0 else ""
    micro = abs(value.days * 86_400_000_000 + value.seconds * 1_000_000 + value.microseconds)
    days, rest = divmod(micro, 86_400_000_000)
    hours, rest = divmod(rest, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds, micros = divmod(rest, 1_000_000)
    out = f"{sign}P" + (f"{days}D" if days else "") + "T"
    out += f"{hours}H" if hours else ""
    out += f"{minutes}M" if minutes else ""
    if seconds or micros or out.endswith("T"):
        out += f"{seconds}.{micros:06d}".rstrip("0").rstrip(".") + "S"
    return out


def _leaf(tag: str, text: str) -> ET.Element:
    element = ET.Element(tag)
    element.text = text
    return element


def _text(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, tag).text = escape(text)


def to_clixml(values: Iterable[Any]) -> str:
    """The document text (without the BOM) for these top-level objects."""
    writer = _Writer()
    root = ET.Element("Objs", Version="1.1.0.1", xmlns=NAMESPACE)
    for value in values:
        root.append(writer.element(value))
    if not len(root):
        # An export of nothing (no events found) is an open and a close tag, never "<Objs />".
        return f'<Objs Version="1.1.0.1" xmlns="{NAMESPACE}"></Objs>'
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="unicode")


def write_clixml(path: Path, values: Iterable[Any]) -> None:
    """Write ``values`` to ``path`` as ``Export-Clixml`` does: UTF-8 with a BOM, CRLF line ends."""
    text = to_clixml(values).replace("\n", "\r\n")
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
