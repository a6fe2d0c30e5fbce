"""A streaming reader for the CLIXML that ``Export-Clixml`` writes, straight into neutral form.

psrpcore's reader (``psobject.deserialize`` then ``from_psrpcore``) builds the whole ElementTree and
then a psrpcore object per value, whose attribute machinery costs about 13 ms a receive connector:
two thousand connectors took 28 s and 650 MiB. This reader walks the same text once with
ElementTree's pull parser, clearing each element as it ends, and builds the neutral objects
(``PSObj`` and plain values) directly.

It reads a subset, and only where its answer is known to be psrpcore's: the value tags Exchange
exports use (``Obj TN TNRef ToString Props MS LST IE DCT Ref S B Nil`` and the integer, ``Db G DT
TS BA`` primitives), members in the order PowerShell writes them (type names, the value or
collection, ``Props``, ``MS``; ``ToString`` anywhere, and an enum's type names after its value, as
psrpcore's own serializer writes them), no type psrpcore rehydrates into a class of its own. The
live path reads each PSRP output message with it too (``compliance.remoting.convert``). Anything else
(another tag, another order, a duplicate RefId or member, a reference to an unfinished object, deep
nesting, a DOCTYPE) raises ``Declined``, and so does any error: the caller then reads the text with
psrpcore, which stays the reference and names the error. psrpcore's own helpers convert the strings,
times and durations, so both readers give the same values by construction, and
``tests/facts/test_clixml_reader.py`` compares them on every fixture and on generated files.
"""

from __future__ import annotations

import base64
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any, cast

from psrpcore.types import PSObject
from psrpcore.types import _primitive as primitive
from psrpcore.types._base import TypeRegistry
from psrpcore.types._serializer import _deserialize_datetime, _deserialize_duration, _deserialize_string

from compliance.facts.psobject import _PRIMITIVE_TYPE_NAMES, PSObj, _plain_primitive, strip_deserialized

_CHUNK = 1 << 16  # characters fed to the parser at a time: the tree never holds more than one object
# psrpcore recurses once per nested value; past this depth its answer (a value or RecursionError)
# depends on the stack, so it decides. Exchange objects nest a handful of levels.
_MAX_DEPTH = 64
_SERIALIZATION_DATA = "SerializationData"  # an opaque .NET blob; from_psrpcore drops it too
# Property names that are Python attributes of psrpcore's objects (PSObject, __dict__, __init__...):
# psrpcore's lookup by name returns the attribute, not the property. Its answer stands for them.
_SHADOWED = frozenset(dir(PSObject()))
# Integer tags and the .NET range psrpcore enforces for each (it refuses a value outside it).
_INTEGERS: dict[str, tuple[int, int]] = {
    tag: (cls.MinValue, cls.MaxValue)
    for tag, cls in (
        ("By", primitive.PSByte),
        ("SB", primitive.PSSByte),
        ("I16", primitive.PSInt16),
        ("U16", primitive.PSUInt16),
        ("I32", primitive.PSInt),
        ("U32", primitive.PSUInt),
        ("I64", primitive.PSInt64),
        ("U64", primitive.PSUInt64),
    )
}
_SCALARS = frozenset({*_INTEGERS, "S", "Db", "G", "DT", "TS", "BA"})  # may also be an Obj's value
_LEAVES = frozenset({*_SCALARS, "B", "Nil", "ToString", "Ref"})
# An Obj's members, ranked in the order PowerShell writes them; psrpcore reads Props and MS last,
# so only in this order does reading as the text goes give psrpcore's result. ToString, and the TN
# of an enum whose value came first, are placed by _Reader._member wherever they stand.
_RANKS = {"TN": 0, "TNRef": 0, "LST": 2, "IE": 2, "DCT": 2, "Props": 3, "MS": 4}
_VALUE_RANK = 2


class Declined(Exception):
    """The text is outside what this reader answers for; psrpcore reads it instead."""


def unescape(text: str) -> str:
    """CLIXML's ``_xHHHH_`` escapes, by psrpcore's own function; most strings have none."""
    return text if "_x" not in text else _deserialize_string(text)


@dataclass
class _Obj:
    """An ``<Obj>`` being read: what psrpcore's deserializer gathers for it."""

    ref_id: str | None
    type_names: list[str] = field(default_factory=list)
    rank: int = -1
    to_string: str | None = None
    kind: str = "object"  # object, list, dict or scalar (an enum or other typed primitive)
    items: list[Any] = field(default_factory=list)
    entries: dict[str, Any] = field(default_factory=dict)
    scalar: Any = None
    props: dict[str, Any] = field(default_factory=dict)
    folded: set[str] = field(default_factory=set)
    placed: set[str] = field(default_factory=set)  # "TN" (a TN or TNRef) and "ToString", once each

    def value(self) -> Any:
        if self.kind == "list":
            return self.items
        if self.kind == "dict":
            return self.entries
        if self.kind == "scalar":
            if self.to_string is None:
                # psrpcore's ToString of a typed primitive without one is its own rendering of it.
                raise Declined("a typed primitive without ToString")
            if self.type_names and strip_deserialized(self.type_names[0]) not in _PRIMITIVE_TYPE_NAMES:
                return PSObj(tuple(self.type_names), self.to_string, value=self.scalar)
            return self.scalar
        return PSObj(tuple(self.type_names), self.to_string, self.props)


@dataclass
class _Frame:
    """An open element: what it is and, for a container, where its children go."""

    kind: str  # root, obj, tn, group, list, dict, entry, leaf
    obj: _Obj | None = None  # the Obj an obj, group, list or dict frame fills
    name: str | None = None  # the N of a property, or Key/Value in an entry
    key: Any = None  # an entry's key, once read
    has_key: bool = False


class _Reader:
    def __init__(self) -> None:
        self.types: dict[str, list[str]] = {}  # TN RefId -> type names
        self.refs: dict[str, Any] = {}  # Obj RefId -> its neutral value (None while it is being read)
        self.open: set[str] = set()  # RefIds of Objs not finished yet
        self.rehydrated = frozenset(TypeRegistry().type_registry)  # types psrpcore makes classes of
        self.stack: list[_Frame] = []
        self.objects: list[Any] = []
        self.root: ET.Element | None = None

    def read(self, text: str) -> list[Any]:
        parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
        for start in range(0, len(text), _CHUNK):
            parser.feed(text[start : start + _CHUNK])
            self._events(parser)
        parser.close()
        self._events(parser)
        if self.stack:
            raise Declined("unfinished document")
        return self.objects

    def _events(self, parser: ET.XMLPullParser[ET.Element]) -> None:
        for item in parser.read_events():
            event, element = cast(tuple[str, ET.Element], item)  # start and end events carry the element
            if event == "start":
                self._start(element)
            else:
                self._end(element)

    def _start(self, element: ET.Element) -> None:
        if not self.stack:
            self.stack.append(_Frame("root"))
            self.root = element
            return
        if len(self.stack) > _MAX_DEPTH:
            raise Declined("nested too deep")
        parent = self.stack[-1]
        tag = element.tag
        if parent.kind == "obj":
            self.stack.append(self._member(parent, element))
        elif parent.kind == "tn":
            if tag != "T":
                raise Declined(f"<{tag}> in <TN>")
            self.stack.append(_Frame("leaf"))
        elif parent.kind == "dict":
            if tag != "En":
                raise Declined(f"<{tag}> in <DCT>")
            self.stack.append(_Frame("entry"))
        elif parent.kind == "entry":
            wanted = "Value" if parent.has_key else "Key"
            if element.get("N") != wanted:
                raise Declined("a dictionary entry other than Key then Value")
            self.stack.append(self._value(element, wanted))
        elif parent.kind == "group":
            name = element.get("N")
            if name is None:
                raise Declined("a property without N")
            self.stack.append(self._value(element, unescape(name)))
        elif parent.kind in ("root", "list"):
            self.stack.append(self._value(element, None))
        else:
            raise Declined(f"<{tag}> inside a primitive")

    def _member(self, parent: _Frame, element: ET.Element) -> _Frame:
        obj = parent.obj
        assert obj is not None
        tag = element.tag
        if tag == "ToString" or (tag in ("TN", "TNRef") and obj.kind == "scalar"):
            # Wherever these stand, psrpcore's result is the same: it finds the type names before it
            # reads any member, and sets ToString after them all. psrpcore's own serializer (which
            # the lab, and any psrpcore-based server, sends with) writes an enum's value before its
            # TN and every ToString last; Windows PowerShell writes TN, ToString, then the rest.
            key = "ToString" if tag == "ToString" else "TN"
            if key in obj.placed:
                raise Declined(f"a second <{tag}>" if key == "ToString" else "a second TN or TNRef")
            obj.placed.add(key)
            return _Frame("tn", obj) if tag == "TN" else _Frame("leaf", obj)
        rank = _RANKS.get(tag, _VALUE_RANK if tag in _SCALARS else None)
        if rank is None or rank <= obj.rank:
            raise Declined(f"<{tag}> where psrpcore would read the members in another order")
        obj.rank = rank
        if tag in ("TN", "TNRef"):
            obj.placed.add("TN")
        if tag == "TN":
            return _Frame("tn", obj)
        if tag in ("Props", "MS"):
            return _Frame("group", obj)
        if tag in ("LST", "IE"):
            obj.kind = "list"
            return _Frame("list", obj)
        if tag == "DCT":
            obj.kind = "dict"
            return _Frame("dict", obj)
        return _Frame("leaf", obj)  # TNRef, ToString or the value of an enum or typed primitive

    def _value(self, element: ET.Element, name: str | None) -> _Frame:
        tag = element.tag
        if tag == "Obj":
            ref_id = element.get("RefId")
            if ref_id is not None:
                if ref_id in self.refs or ref_id in self.open:
                    raise Declined(f"RefId {ref_id} used twice")
                self.open.add(ref_id)
            return _Frame("obj", _Obj(ref_id), name)
        if tag not in _LEAVES:
            raise Declined(f"<{tag}>")
        return _Frame("leaf", name=name)

    def _end(self, element: ET.Element) -> None:
        frame = self.stack.pop()
        if frame.kind == "leaf":
            if self.stack[-1].kind == "tn":
                if len(element):
                    raise Declined("a <T> with child elements")
                return  # a <T>: read, then cleared, with its <TN>
            self._leaf(frame, element)
        elif frame.kind == "tn":
            assert frame.obj is not None
            names = [t.text or "" for t in element]
            if names:
                ref_id = element.get("RefId")
                if ref_id is None:
                    raise Declined("a TN without RefId")
                self.types[ref_id] = frame.obj.type_names = names
        elif frame.kind == "obj":
            obj = frame.obj
            assert obj is not None
            if obj.type_names and obj.type_names[0] in self.rehydrated:
                raise Declined(f"{obj.type_names[0]}: psrpcore rehydrates it into a class of its own")
            value = obj.value()
            if obj.ref_id is not None:
                self.open.discard(obj.ref_id)
                self.refs[obj.ref_id] = value
            self._deliver(frame.name, value)
        elif frame.kind == "entry":
            if not frame.has_key or len(element) != 2:
                raise Declined("a dictionary entry other than Key then Value")
        elif frame.kind == "root":
            return  # the document's end; nothing is left to clear
        element.clear()  # what was read is in neutral form now: keep the tree one object small
        if self.stack[-1].kind == "root" and self.root is not None:
            self.root.clear()  # it would still list every finished top-level element

    def _leaf(self, frame: _Frame, element: ET.Element) -> None:
        if len(element):
            raise Declined(f"<{element.tag}> with child elements")
        tag = element.tag
        text = element.text
        parent = self.stack[-1]
        if tag == "TNRef":
            assert parent.obj is not None
            ref_id = element.get("RefId")
            if ref_id is None or ref_id not in self.types:
                raise Declined("a TNRef to no TN")
            parent.obj.type_names = self.types[ref_id]
            return
        value = self._primitive(tag, element, text)
        if parent.kind == "obj":
            assert parent.obj is not None
            if tag == "ToString":
                parent.obj.to_string = value
            else:
                parent.obj.kind, parent.obj.scalar = "scalar", value
        else:
            self._deliver(frame.name, value)

    def _primitive(self, tag: str, element: ET.Element, text: str | None) -> Any:
        if tag in _INTEGERS:
            number = 0 if text is None else int(text)  # psrpcore reads an empty integer as 0
            low, high = _INTEGERS[tag]
            if not low <= number <= high:
                raise Declined(f"{number} outside <{tag}>")
            return number
        if tag in ("S", "ToString"):
            return unescape(text or "")
        if tag == "B":
            return (text or "").lower() == "true"
        if tag == "Nil":
            return None
        if tag == "Ref":
            ref_id = element.get("RefId")
            if ref_id is None or ref_id not in self.refs:
                raise Declined("a Ref to no finished object")
            return self.refs[ref_id]
        if tag == "BA":
            return base64.b64decode(text or "")
        if tag == "DT":
            return _plain_primitive(_deserialize_datetime(text or ""))
        if tag == "TS":
            return _plain_primitive(_deserialize_duration(text or ""))
        if text is None:
            raise Declined(f"an empty <{tag}>")  # psrpcore gives None to float() and UUID(): its error
        return float(text) if tag == "Db" else uuid.UUID(text)  # G, the last of _SCALARS

    def _deliver(self, name: str | None, value: Any) -> None:
        parent = self.stack[-1]
        if parent.kind == "root":
            self.objects.append(value)
        elif parent.kind == "list":
            assert parent.obj is not None
            parent.obj.items.append(value)
        elif parent.kind == "entry":
            assert parent.obj is None
            if not parent.has_key:
                if type(value) not in (str, int):
                    raise Declined("a dictionary key that is not a string or an integer")
                parent.key, parent.has_key = str(value), True
            else:
                self._dict_of(parent)[parent.key] = value
        elif parent.kind == "group":
            assert parent.obj is not None and name is not None
            obj = parent.obj
            folded = name.casefold()
            if folded in obj.folded:
                raise Declined(f"property {name} twice")
            if name in _SHADOWED:
                raise Declined(f"property {name}: an attribute of psrpcore's objects")
            obj.folded.add(folded)
            if name != _SERIALIZATION_DATA:
                obj.props[name] = value
        else:
            raise Declined("a value where none belongs")

    def _dict_of(self, entry: _Frame) -> dict[str, Any]:
        dct = self.stack[-2]
        assert dct.kind == "dict" and dct.obj is not None
        if entry.key in dct.obj.entries:
            raise Declined(f"dictionary key {entry.key} twice")
        return dct.obj.entries


def read(text: str) -> list[Any]:
    """The top-level objects of CLIXML ``text`` (from its ``<Objs``), as psrpcore would read them.

    Raises ``Declined`` for text outside the subset, or whatever error the parser or a conversion
    raises; the caller then asks psrpcore, whose answer (value or error) is the reference.
    """
    if "<!DOCTYPE" in text:
        raise Declined("a DOCTYPE: entity handling is left to psrpcore's parse")
    # As psrpcore does: drop the root's attributes (its xmlns would put every tag in a namespace).
    text = "<Objs" + text[text.find(">") :]
    return _Reader().read(text)
