"""Write neutral objects back as an ``Export-Clixml`` file, as a remote session's export looks.

UTF-8 with a BOM, ``<Objs Version="1.1.0.1">``, type names with one ``Deserialized.`` prefix,
``RefId``/``TNRef`` for repeated type-name lists, ``<ToString>``, and the primitive tags
(``I32 I64 S B DT TS G Nil BA Db``, ``LST``, ``DCT``; ``U32 By`` and the other widths through ``Int``).
``compliance.facts.offline.read_clixml`` reads the file back into an equal neutral value; that round
trip is what ``facts collect`` relies on.

The neutral form keeps no .NET integer width, no collection type and no member kind: an int is
written as I32 when it fits, else I64; a list as ``System.Object[]``; properties in ``<Props>``
(``<MS>`` for a PSCustomObject). A caller that knows more (``examples/generate_facts.py``) says so
with ``Int``, ``TypedList`` and ``Members``: subclasses of int, list and dict that compare equal to
the plain values, so the objects stay neutral.
"""

from __future__ import annotations

import base64
import datetime
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from compliance.facts.psobject import PSObj

NAMESPACE = "http://schemas.microsoft.com/powershell/2004/04"
_DESERIALIZED = "Deserialized."
_CUSTOM_OBJECT = "System.Management.Automation.PSCustomObject"
_OBJECT_ARRAY = ("System.Object[]", "System.Array", "System.Object")
# Characters CLIXML escapes as _xHHHH_ (control characters, and a literal "_x" sequence's underscore).
_ESCAPE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]|_(?=x[0-9A-Fa-f]{4}_)")
# PowerShell writes an empty string with an end tag (<S N="Banner"></S>); ElementTree would self-close it.
_EMPTY_STRING = re.compile(r'<S( N="[^"]*")? />')
_INT_TAGS = frozenset({"By", "SB", "I16", "U16", "I32", "U32", "I64", "U64"})


class Int(int):
    """An integer written with its .NET width: ``Int(25, "U32")`` is ``<U32>25</U32>``."""

    tag: str

    def __new__(cls, value: int, tag: str) -> Int:
        if tag not in _INT_TAGS:
            raise ValueError(f"not a CLIXML integer tag: {tag!r}")
        self = super().__new__(cls, value)
        self.tag = tag
        return self


class TypedList(list[Any]):
    """A list written with its collection's type names (``MultiValuedProperty`1[...]``), not ``Object[]``."""

    def __init__(self, items: Iterable[Any], type_names: Iterable[str]) -> None:
        super().__init__(items)
        self.type_names = tuple(type_names)


class Members(dict[str, Any]):
    """A ``PSObj``'s properties, with what an export shows about them beyond their values.

    ``notes`` are note properties, written in ``<MS>`` after the adapted ``<Props>``. ``refs`` are
    properties holding an object written earlier in the same file (the very same ``PSObj``), written
    as ``<Ref>`` to it, as PowerShell writes ``Id`` after ``Identity``.
    """

    def __init__(self, props: Mapping[str, Any], notes: Iterable[str] = (), refs: Iterable[str] = ()) -> None:
        super().__init__(props)
        self.notes = frozenset(notes)
        self.refs = frozenset(refs)


class _Writer:
    def __init__(self, deserialized: bool) -> None:
        self._prefix = _DESERIALIZED if deserialized else ""
        self._next_ref = 0
        self._type_refs: dict[tuple[str, ...], str] = {}
        self._written: dict[int, tuple[str, PSObj]] = {}  # id() -> RefId (and the object, to keep its id)

    def element(self, value: Any, name: str | None = None) -> ET.Element:
        element = self._value(value)
        if name is not None:
            element.attrib = {"N": name, **element.attrib}  # N before RefId, as PowerShell writes it
        return element

    def reference(self, value: Any, name: str) -> ET.Element:
        written = self._written.get(id(value))
        if written is None or written[1] is not value:
            raise ValueError(f"{name}: a <Ref> needs the same object written before it")
        return ET.Element("Ref", N=name, RefId=written[0])

    def _value(self, value: Any) -> ET.Element:
        if value is None:
            return ET.Element("Nil")
        if isinstance(value, PSObj):
            return self._object(value)
        if isinstance(value, list):
            types = value.type_names if isinstance(value, TypedList) else _OBJECT_ARRAY
            element, items = self._collection(types, "LST")
            items.extend(self.element(v) for v in value)
            return element
        if isinstance(value, dict):
            element, entries = self._collection(("System.Collections.Hashtable", "System.Object"), "DCT")
            for key, item in value.items():
                entry = ET.SubElement(entries, "En")
                entry.append(self.element(key, "Key"))
                entry.append(self.element(item, "Value"))
            return element
        return _primitive(value)

    def _object(self, obj: PSObj) -> ET.Element:
        element = self._new_obj(obj.type_names)
        self._written[id(obj)] = (element.attrib["RefId"], obj)
        if obj.to_string is not None:
            _text(element, "ToString", obj.to_string)
        if obj.value is not None:
            element.append(self.element(obj.value))
        if isinstance(obj.props, Members):
            notes, refs = obj.props.notes, obj.props.refs
        else:
            # Note properties of a PSCustomObject (Get-ItemProperty) travel in <MS>, the rest in <Props>.
            notes, refs = frozenset(obj.props if obj.is_type(_CUSTOM_OBJECT) else ()), frozenset()
        for tag, in_group in (("Props", False), ("MS", True)):
            names = [name for name in obj.names() if (name in notes) is in_group]
            if not names:
                continue
            group = ET.SubElement(element, tag)
            for name in names:
                value = obj.props[name]
                group.append(self.reference(value, name) if name in refs else self.element(value, name))
        return element

    def _collection(self, types: tuple[str, ...], tag: str) -> tuple[ET.Element, ET.Element]:
        """The collection's ``Obj`` and its empty ``LST``/``DCT``; numbered before its items, as PowerShell does."""
        element = self._new_obj(types)
        return element, ET.SubElement(element, tag)

    def _new_obj(self, type_names: Iterable[str]) -> ET.Element:
        element = ET.Element("Obj", RefId=self._ref())
        names = tuple(self._prefix + t for t in type_names)
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
    if isinstance(value, Int):
        return _leaf(value.tag, str(int(value)))
    if isinstance(value, int):
        return _leaf("I32" if -(2**31) <= value < 2**31 else "I64", str(value))
    if isinstance(value, float):
        return _leaf("Db", _double(value))
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


def _double(value: float) -> str:
    """As .NET writes a Double: ``600`` and ``0.5``, never ``600.0``."""
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def _datetime(value: datetime.datetime) -> str:
    """As .NET's XmlConvert writes a DateTime (round-trip kind): fractions only when there are any."""
    # Formatted by hand: strftime writes year 1 (DateTime.MinValue, common in Exchange) as "1".
    text = f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value:%H:%M:%S}"
    if value.microsecond:
        text += "." + f"{value.microsecond:06d}".rstrip("0")
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


def to_clixml(values: Iterable[Any], *, deserialized: bool = True) -> str:
    """The document text (without the BOM) for these top-level objects.

    ``deserialized=False`` writes the type names as given, as an export made where the types live
    looks (the Exchange Management Shell's own objects); the default adds one ``Deserialized.``.
    """
    writer = _Writer(deserialized)
    root = ET.Element("Objs", Version="1.1.0.1", xmlns=NAMESPACE)
    for value in values:
        root.append(writer.element(value))
    if not len(root):
        # An export of nothing (no events found) is an open and a close tag, never "<Objs />".
        return f'<Objs Version="1.1.0.1" xmlns="{NAMESPACE}"></Objs>'
    ET.indent(root, space="  ")
    return _EMPTY_STRING.sub(r"<S\1></S>", ET.tostring(root, encoding="unicode"))


def write_clixml(path: Path, values: Iterable[Any], *, deserialized: bool = True, newline: str = "\r\n") -> None:
    """Write ``values`` to ``path`` as ``Export-Clixml`` does: UTF-8 with a BOM, CRLF line ends
    (``newline="\\n"`` for files kept as the shared fixtures are, without the CR)."""
    text = to_clixml(values, deserialized=deserialized).replace("\n", newline)
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
