"""A streaming reader for the CLIXML that ``Export-Clixml`` writes, straight into neutral form.

psrpcore's reader (``psobject.deserialize`` then ``from_psrpcore``) builds the whole ElementTree and
then a psrpcore object per value, whose attribute machinery costs about 13 ms a receive connector:
two thousand connectors took 28 s and 650 MiB. This reader walks the same text once with expat's
callbacks (no element tree at all: a child count and the text run stand for what ElementTree's
elements held) and builds the neutral objects (``PSObj`` and plain values) directly. It can be fed
as the text arrives (``Stream``), so a file is read without ever being held whole.

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
import sys
import uuid
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat

from psrpcore.types import PSObject
from psrpcore.types import _primitive as primitive
from psrpcore.types._base import TypeRegistry
from psrpcore.types._serializer import _deserialize_datetime, _deserialize_duration, _deserialize_string

from compliance.facts.psobject import _PRIMITIVE_TYPE_NAMES, PSObj, _plain_primitive, strip_deserialized

_CHUNK = 1 << 16  # characters read() feeds the parser at a time: expat copies each to UTF-8
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
_DOCTYPE = "a DOCTYPE: entity handling is left to psrpcore's parse"
Attrs = dict[str, str]
_NO_ATTRS: Attrs = {}  # shared by the frames that read no attribute; never written to


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


class _Frame:
    """An open element: what it is and, for a container, where its children go."""

    __slots__ = ("attrs", "children", "has_key", "key", "kind", "name", "names", "obj")

    def __init__(self, kind: str, obj: _Obj | None = None, name: str | None = None, attrs: Attrs = _NO_ATTRS) -> None:
        self.kind = kind  # root, obj, tn, group, list, dict, entry, leaf
        self.obj = obj  # the Obj an obj, group, list or dict frame fills
        self.name = name  # the N of a property, or Key/Value in an entry
        self.attrs = attrs  # a leaf's and a TN's, read when it ends (RefId)
        self.key: Any = None  # an entry's key, once read
        self.has_key = False
        self.children = 0  # child elements so far: ElementTree's len(element), without the tree
        self.names: list[str] = []  # a TN's type names, one per <T>


class _Reader:
    """The state machine, driven by expat's callbacks: one Python call per tag, none per object tree."""

    def __init__(self) -> None:
        self.types: dict[str, list[str]] = {}  # TN RefId -> type names
        self.refs: dict[str, Any] = {}  # Obj RefId -> its neutral value (None while it is being read)
        self.open: set[str] = set()  # RefIds of Objs not finished yet
        self.rehydrated = frozenset(TypeRegistry().type_registry)  # types psrpcore makes classes of
        self.stack: list[_Frame] = []
        self.objects: list[Any] = []
        self.text: list[str] = []  # character data since the last start tag: a leaf's text, at its end
        # namespace_separator: names are split as ElementTree splits them, so a tag in a namespace
        # ("uri}Obj", ElementTree's "{uri}Obj") is no tag of the subset, and an unbound prefix is
        # the same parse error; the root's xmlns is dropped by read() as psrpcore drops it.
        parser = expat.ParserCreate(namespace_separator="}")
        parser.buffer_text = True  # one call per text run, not per line or entity
        parser.ordered_attributes = False
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self.text.append  # a C call: no Python frame per text run
        parser.StartDoctypeDeclHandler = _doctype
        parser.EntityDeclHandler = _doctype
        self.parser = parser

    def feed(self, text: str) -> None:
        self.parser.Parse(text, False)

    def close(self) -> list[Any]:
        self.parser.Parse("", True)
        if self.stack:
            raise Declined("unfinished document")
        return self.objects

    def _start(self, tag: str, attrs: Attrs) -> None:
        self.text.clear()
        stack = self.stack
        if not stack:
            stack.append(_Frame("root"))
            return
        if len(stack) > _MAX_DEPTH:
            raise Declined("nested too deep")
        parent = stack[-1]
        parent.children += 1
        kind = parent.kind
        if kind == "obj":
            stack.append(self._member(parent, tag, attrs))
        elif kind == "group":
            name = attrs.get("N")
            if name is None:
                raise Declined("a property without N")
            stack.append(self._value(tag, attrs, sys.intern(unescape(name))))  # one copy of each name
        elif kind == "root" or kind == "list":
            stack.append(self._value(tag, attrs, None))
        elif kind == "tn":
            if tag != "T":
                raise Declined(f"<{tag}> in <TN>")
            stack.append(_Frame("leaf"))
        elif kind == "dict":
            if tag != "En":
                raise Declined(f"<{tag}> in <DCT>")
            stack.append(_Frame("entry"))
        elif kind == "entry":
            wanted = "Value" if parent.has_key else "Key"
            if attrs.get("N") != wanted:
                raise Declined("a dictionary entry other than Key then Value")
            stack.append(self._value(tag, attrs, wanted))
        else:
            raise Declined(f"<{tag}> inside a primitive")  # so a leaf never has child elements

    def _member(self, parent: _Frame, tag: str, attrs: Attrs) -> _Frame:
        obj = parent.obj
        assert obj is not None
        if tag == "ToString" or (tag in ("TN", "TNRef") and obj.kind == "scalar"):
            # Wherever these stand, psrpcore's result is the same: it finds the type names before it
            # reads any member, and sets ToString after them all. psrpcore's own serializer (which
            # the lab, and any psrpcore-based server, sends with) writes an enum's value before its
            # TN and every ToString last; Windows PowerShell writes TN, ToString, then the rest.
            key = "ToString" if tag == "ToString" else "TN"
            if key in obj.placed:
                raise Declined(f"a second <{tag}>" if key == "ToString" else "a second TN or TNRef")
            obj.placed.add(key)
            return _Frame("tn", obj, attrs=attrs) if tag == "TN" else _Frame("leaf", obj, attrs=attrs)
        rank = _RANKS.get(tag, _VALUE_RANK if tag in _SCALARS else None)
        if rank is None or rank <= obj.rank:
            raise Declined(f"<{tag}> where psrpcore would read the members in another order")
        obj.rank = rank
        if tag in ("TN", "TNRef"):
            obj.placed.add("TN")
        if tag == "TN":
            return _Frame("tn", obj, attrs=attrs)
        if tag in ("Props", "MS"):
            return _Frame("group", obj)
        if tag in ("LST", "IE"):
            obj.kind = "list"
            return _Frame("list", obj)
        if tag == "DCT":
            obj.kind = "dict"
            return _Frame("dict", obj)
        return _Frame("leaf", obj, attrs=attrs)  # TNRef, or the value of an enum or typed primitive

    def _value(self, tag: str, attrs: Attrs, name: str | None) -> _Frame:
        if tag == "Obj":
            ref_id = attrs.get("RefId")
            if ref_id is not None:
                if ref_id in self.refs or ref_id in self.open:
                    raise Declined(f"RefId {ref_id} used twice")
                self.open.add(ref_id)
            return _Frame("obj", _Obj(ref_id), name)
        if tag not in _LEAVES:
            raise Declined(f"<{tag}>")
        return _Frame("leaf", name=name, attrs=attrs)

    def _end(self, tag: str) -> None:
        frame = self.stack.pop()
        kind = frame.kind
        if kind == "leaf":
            # Text is None in ElementTree when there is none; expat never reports an empty run.
            text = "".join(self.text) or None
            parent = self.stack[-1]
            if parent.kind == "tn":
                parent.names.append(text or "")  # a <T>
            else:
                self._leaf(frame, parent, tag, text)
        elif kind == "obj":
            obj = frame.obj
            assert obj is not None
            if obj.type_names and obj.type_names[0] in self.rehydrated:
                raise Declined(f"{obj.type_names[0]}: psrpcore rehydrates it into a class of its own")
            value = obj.value()
            if obj.ref_id is not None:
                self.open.discard(obj.ref_id)
                self.refs[obj.ref_id] = value
            self._deliver(frame.name, value)
        elif kind == "tn":
            assert frame.obj is not None
            if frame.names:
                ref_id = frame.attrs.get("RefId")
                if ref_id is None:
                    raise Declined("a TN without RefId")
                self.types[ref_id] = frame.obj.type_names = frame.names
        elif kind == "entry" and (not frame.has_key or frame.children != 2):
            raise Declined("a dictionary entry other than Key then Value")

    def _leaf(self, frame: _Frame, parent: _Frame, tag: str, text: str | None) -> None:
        if tag == "TNRef":
            assert parent.obj is not None
            ref_id = frame.attrs.get("RefId")
            if ref_id is None or ref_id not in self.types:
                raise Declined("a TNRef to no TN")
            parent.obj.type_names = self.types[ref_id]
            return
        value = self._primitive(tag, frame.attrs, text)
        if parent.kind == "obj":
            assert parent.obj is not None
            if tag == "ToString":
                parent.obj.to_string = value
            else:
                parent.obj.kind, parent.obj.scalar = "scalar", value
        else:
            self._deliver(frame.name, value)

    def _primitive(self, tag: str, attrs: Attrs, text: str | None) -> Any:
        if tag == "S" or tag == "ToString":
            return unescape(text or "")  # the commonest tag first
        if tag in _INTEGERS:
            number = 0 if text is None else int(text)  # psrpcore reads an empty integer as 0
            low, high = _INTEGERS[tag]
            if not low <= number <= high:
                raise Declined(f"{number} outside <{tag}>")
            return number
        if tag == "B":
            return (text or "").lower() == "true"
        if tag == "Nil":
            return None
        if tag == "Ref":
            ref_id = attrs.get("RefId")
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
        kind = parent.kind
        if kind == "group":
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
        elif kind == "list":
            assert parent.obj is not None
            parent.obj.items.append(value)
        elif kind == "root":
            self.objects.append(value)
        elif kind == "entry":
            assert parent.obj is None
            if not parent.has_key:
                if type(value) not in (str, int):
                    raise Declined("a dictionary key that is not a string or an integer")
                parent.key, parent.has_key = str(value), True
            else:
                self._dict_of(parent)[parent.key] = value
        else:
            raise Declined("a value where none belongs")

    def _dict_of(self, entry: _Frame) -> dict[str, Any]:
        dct = self.stack[-2]
        assert dct.kind == "dict" and dct.obj is not None
        if entry.key in dct.obj.entries:
            raise Declined(f"dictionary key {entry.key} twice")
        return dct.obj.entries


def _doctype(*_args: Any) -> None:
    raise Declined(_DOCTYPE)


class Stream:
    """A document read as its text arrives: ``feed`` each piece in order, then ``close`` for the objects.

    The pieces may be cut anywhere (in a tag, a name, between the halves of a surrogate pair's
    character); the objects never depend on where. Raises as ``read`` does, at the piece that shows it.
    """

    def __init__(self) -> None:
        self._reader = _Reader()
        self._head = ""  # the text up to the root's first ">", held until it has arrived
        self._started = False
        self._tail = ""  # the end of the last piece: a "<!DOCTYPE" may straddle two

    def feed(self, text: str) -> None:
        if "<!DOCTYPE" in self._tail + text[:8] or "<!DOCTYPE" in text:
            raise Declined(_DOCTYPE)
        self._tail = text[-8:]
        if not self._started:
            self._head += text
            end = self._head.find(">")
            if end < 0:
                return
            # As psrpcore does: drop the root's attributes (its xmlns would put every tag in a namespace).
            text, self._head, self._started = "<Objs" + self._head[end:], "", True
        self._reader.feed(text)

    def close(self) -> list[Any]:
        if not self._started:
            raise Declined("no root tag")  # psrpcore would cut the text at a ">" it does not have
        return self._reader.close()


def read(text: str) -> list[Any]:
    """The top-level objects of CLIXML ``text`` (from its ``<Objs``), as psrpcore would read them.

    Raises ``Declined`` for text outside the subset, or whatever error the parser or a conversion
    raises; the caller then asks psrpcore, whose answer (value or error) is the reference.
    """
    stream = Stream()
    for start in range(0, len(text), _CHUNK):
        stream.feed(text[start : start + _CHUNK])
    return stream.close()
