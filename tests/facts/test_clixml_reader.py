"""The streaming reader (``compliance.facts.clixml_reader``) reads exactly what psrpcore reads.

psrpcore is the reference: every fixture (the real CSS-Exchange exports, the shipped examples, which
are the lab's scenarios, and the collector's own writer output of each) is read both ways and the
neutral objects compared property by property: Python types, type names, ToString, values, nested
lists and dictionaries, in order. The fast reader must not decline any of them (else the comparison
would be psrpcore with itself). Generated CLIXML (``clixml_writer``) is compared the same way, and
damaged files (the hostile-fact-file strategy) give ``read_clixml`` psrpcore's value or error.
Each fixture object and generated value is also written by psrpcore's own serializer, one document
each as a PSRP output message is (the lab's wire form, read live by ``remoting.convert``), and read
both ways.
"""

from __future__ import annotations

import datetime
import math
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from unittest import mock
from xml.parsers import expat

import pytest
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st

from compliance.facts import clixml_reader
from compliance.facts.clixml_writer import Int, Members, TypedList, to_clixml
from compliance.facts.encoding import decode
from compliance.facts.offline import _XML_DECLARATION, read_clixml
from compliance.facts.psobject import PSObj, deserialize, from_psrpcore
from tests.facts.test_hostile_fact_files import damaged_file

REPO = Path(__file__).resolve().parents[2]
PS_NAMESPACE = "http://schemas.microsoft.com/powershell/2004/04"
FIXTURES = sorted(
    [*(REPO / "tests" / "fixtures").rglob("*.xml"), *(REPO / "examples" / "facts").rglob("*.xml")],
    key=lambda p: str(p),
)


def document(data: bytes) -> str:
    """The text both readers are given, as ``read_clixml`` prepares it."""
    text = decode(data)
    declaration = _XML_DECLARATION.match(text)
    return text[declaration.end() :] if declaration is not None else text


def by_psrpcore(text: str) -> list[Any]:
    return [from_psrpcore(item) for item in deserialize(text)]


def assert_same(expected: Any, got: Any, where: str = "") -> None:
    """Equal and of the same Python type, all the way down; ``==`` alone would let 1 be True."""
    assert type(got) is type(expected), f"{where}: {type(got).__name__} != {type(expected).__name__}"
    if isinstance(expected, PSObj):
        assert got.type_names == expected.type_names, where
        assert got.to_string == expected.to_string, where
        assert list(got.props) == list(expected.props), f"{where}: property names or order differ"
        for name, value in expected.props.items():
            assert_same(value, got.props[name], f"{where}.{name}")
        assert_same(expected.value, got.value, f"{where}(value)")
    elif isinstance(expected, list):
        assert len(got) == len(expected), f"{where}: {len(got)} items != {len(expected)}"
        for index, (one, other) in enumerate(zip(expected, got, strict=True)):
            assert_same(one, other, f"{where}[{index}]")
    elif isinstance(expected, dict):
        assert list(got) == list(expected), f"{where}: keys differ"
        for key, value in expected.items():
            assert_same(value, got[key], f"{where}[{key!r}]")
    elif isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(got), where
    else:
        # repr keeps what == hides: a datetime's tzinfo, -0.0, the exact bytes.
        assert repr(got) == repr(expected), where


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_fixture_reads_as_psrpcore_reads_it(path: Path) -> None:
    text = document(path.read_bytes())
    expected = by_psrpcore(text)
    assert_same(expected, clixml_reader.read(text), path.name)
    assert_same(expected, read_clixml(path), path.name)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: str(p.relative_to(REPO)))
def test_the_writer_output_of_every_fixture_reads_as_psrpcore_reads_it(path: Path) -> None:
    """What ``facts collect`` writes: the neutral objects written back by ``clixml_writer``."""
    text = to_clixml(by_psrpcore(document(path.read_bytes())))
    assert_same(by_psrpcore(text), clixml_reader.read(text), path.name)


def psrpcore_messages(path: Path) -> list[str]:
    """Each top-level object of a fixture as psrpcore's serializer writes it, one document each, as
    one PSRP output message is. The lab sends these: an enum's value before its TN, ToString last."""
    return [as_psrpcore_message(item) for item in deserialize(document(path.read_bytes()))]


def as_psrpcore_message(item: Any) -> str:
    from psrpcore.types import serialize

    no_cipher: Any = None
    written = ET.tostring(serialize(item, no_cipher), encoding="unicode")
    return f'<Objs Version="1.1.0.1" xmlns="{PS_NAMESPACE}">{written}</Objs>'


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: str(p.relative_to(REPO)))
def test_psrpcore_written_messages_are_read_by_the_streaming_reader_as_psrpcore_reads_them(path: Path) -> None:
    """Not declined (the live path's speed depends on it) and equal; where psrpcore cannot read its own
    output back (DateTime.MinValue is written as ``1-01-01T00:00:00``), the reader fails too."""
    for text in psrpcore_messages(path):
        try:
            expected = by_psrpcore(text)
        except (ValueError, SyntaxError) as exc:
            with pytest.raises(type(exc)):
                clixml_reader.read(text)
            continue
        assert_same(expected, clixml_reader.read(text), path.name)


def test_the_fixtures_hold_what_the_reader_must_handle() -> None:
    """The comparison above is only as good as the fixtures: they use every part of the subset."""
    tags = set()
    for path in FIXTURES:
        text = document(path.read_bytes())
        tags |= {
            tag
            for tag in ("<Ref ", "<TNRef ", "<MS>", "<LST>", "<DCT>", "<DT", "<TS", "<BA", "<G", "<Db", "_x")
            if tag in text
        }
    assert tags >= {"<Ref ", "<TNRef ", "<MS>", "<LST>", "<DT", "<BA", "<G", "<Db"}


DECLINED = [
    pytest.param('<Objs><Obj RefId="0"><TN RefId="0"><T>A</T></TN><MS /><Props /></Obj></Objs>', id="MS-before-Props"),
    pytest.param('<Objs><Obj RefId="0"><Props /></Obj><Obj RefId="0" /></Objs>', id="RefId-twice"),
    pytest.param('<Objs><Obj RefId="0"><Props><Ref N="Me" RefId="0" /></Props></Obj></Objs>', id="Ref-to-itself"),
    pytest.param("<Objs><Version>1.2</Version></Objs>", id="tag-outside-the-subset"),
    pytest.param(
        '<Objs><Obj RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T></TN></Obj></Objs>',
        id="type-psrpcore-rehydrates",
    ),
    pytest.param("<Objs><I32>2147483648</I32></Objs>", id="out-of-Int32-range"),
    pytest.param('<Objs><Obj RefId="0"><Props><S N="a">1</S><S N="A">2</S></Props></Obj></Objs>', id="property-twice"),
    pytest.param('<Objs><Obj RefId="0"><TN RefId="0"><T>A</T></TN><S /></Obj></Objs>', id="typed-value-no-ToString"),
    pytest.param("<Objs>" + '<Obj RefId="0"><LST>' * 70 + "</LST></Obj>" * 70 + "</Objs>", id="deep-nesting"),
    pytest.param('<!DOCTYPE Objs [<!ENTITY a "aaaa">]><Objs><S>&a;</S></Objs>', id="DOCTYPE"),
    pytest.param('<Objs><S>1</S></Objs><!DOCTYPE Objs [<!ENTITY a "aaaa">]>', id="DOCTYPE-after-the-root"),
    # ElementTree named these {u}Obj: no tag of the subset. expat, told to split names as it does, too.
    pytest.param('<Objs><ns0:Obj xmlns:ns0="u" RefId="0"><Props /></ns0:Obj></Objs>', id="prefixed-tag"),
    pytest.param('<Objs><Obj xmlns="u" RefId="0"><Props /></Obj></Objs>', id="tag-in-a-default-namespace"),
    pytest.param('<Objs><Obj RefId="0"><Props><S xmlns="u" N="a">1</S></Props></Obj></Objs>', id="leaf-namespaced"),
]


@pytest.mark.parametrize("text", DECLINED)
def test_what_psrpcore_might_read_otherwise_is_declined_and_left_to_it(text: str, tmp_path: Path) -> None:
    with pytest.raises(clixml_reader.Declined):
        clixml_reader.read(text)
    # read_clixml gives psrpcore's answer: its value, or its error named as before.
    path = tmp_path / "x.xml"
    path.write_text(text, encoding="utf-8")
    try:
        expected: Any = by_psrpcore(document(path.read_bytes()))
    except Exception as exc:
        with pytest.raises(ValueError, match="malformed CLIXML") as raised:
            read_clixml(path)
        assert type(exc).__name__ in str(raised.value)
    else:
        assert_same(expected, read_clixml(path))


def test_an_unbound_prefix_fails_in_the_streaming_reader_as_in_psrpcore() -> None:
    text = '<Objs><ns0:Obj RefId="0"><Props /></ns0:Obj></Objs>'
    with pytest.raises(ET.ParseError) as psrpcore_error:
        by_psrpcore(text)
    with pytest.raises(expat.ExpatError) as reader_error:  # read_clixml then asks psrpcore
        clixml_reader.read(text)
    assert "unbound prefix" in str(psrpcore_error.value) and "unbound prefix" in str(reader_error.value)


def test_a_doctype_cut_between_two_pieces_is_declined() -> None:
    text = '<Objs><S>1</S></Objs><!DOCTYPE Objs [<!ENTITY a "aaaa">]>'
    at = text.index("DOCTYPE")
    stream = clixml_reader.Stream()
    stream.feed(text[:at])
    with pytest.raises(clixml_reader.Declined, match="DOCTYPE"):
        stream.feed(text[at:])


def test_a_property_named_as_a_python_attribute_of_psrpcore_objects_is_left_to_psrpcore() -> None:
    """psrpcore's lookup of ``__dict__`` or ``PSObject`` finds its own attribute; its answer stands."""
    for name in ("__dict__", "PSObject", "__init__"):
        with pytest.raises(clixml_reader.Declined, match=name):
            clixml_reader.read(f'<Objs><Obj RefId="0"><Props><S N="{name}">1</S></Props></Obj></Objs>')


# Generated neutral values: what the writer can write, with the widths and shapes exports have.
# Property names without control characters: the writer does not escape N (Exchange's names have none).
NAMES = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=8)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
INT_TAGS = {"By": (0, 255), "I16": (-(2**15), 2**15 - 1), "U32": (0, 2**32 - 1), "I64": (-(2**63), 2**63 - 1)}
INTEGERS = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from(sorted(INT_TAGS)).flatmap(lambda tag: st.integers(*INT_TAGS[tag]).map(lambda n: Int(n, tag))),
)
TIMES = st.datetimes(
    min_value=datetime.datetime(1, 1, 1), timezones=st.sampled_from([None, datetime.timezone.utc])
).map(lambda t: t.replace(microsecond=t.microsecond // 10 * 10))  # .NET ticks are 100 ns; microseconds survive
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    INTEGERS,
    st.floats(allow_nan=False),
    TEXT,
    st.binary(max_size=12),
    TIMES,
    st.timedeltas(min_value=datetime.timedelta(days=-999), max_value=datetime.timedelta(days=999)),
    st.uuids().map(lambda u: uuid.UUID(str(u))),
)
TYPE_NAMES = st.lists(
    st.sampled_from(["Microsoft.Exchange.Data.Unlimited`1[[System.Int32]]", "System.Object", "Contoso.Thing", "A.B"]),
    max_size=3,
).map(tuple)
ENUM_NAMES = st.just(("Microsoft.Exchange.Data.Directory.SystemConfiguration.AuthMechanisms", "System.Enum"))


def _objects(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    plain = st.builds(
        PSObj,
        TYPE_NAMES,
        st.none() | TEXT,
        st.dictionaries(NAMES, children, max_size=4).map(_unique_folded),
    )
    noted = plain.flatmap(
        lambda obj: st.sets(st.sampled_from(sorted(obj.props)) if obj.props else st.nothing()).map(
            lambda notes: PSObj(obj.type_names, obj.to_string, Members(obj.props, notes=notes))
        )
    )
    enum = st.builds(PSObj, ENUM_NAMES, TEXT, value=st.integers(0, 2**31 - 1))
    typed_list = st.lists(children, max_size=3).map(
        lambda items: TypedList(items, ("X.MultiValuedProperty", "System.Object"))
    )
    return st.one_of(
        plain, noted, enum, st.lists(children, max_size=3), typed_list, st.dictionaries(TEXT, children, max_size=3)
    )


def _unique_folded(props: dict[str, Any]) -> dict[str, Any]:
    """One property per case-folded name, as PowerShell's objects have (its lookups ignore case)."""
    seen: dict[str, str] = {}
    for name in props:
        seen.setdefault(name.casefold(), name)
    return {name: props[name] for name in seen.values()}


NO_EXPLAIN = tuple(p for p in Phase if p is not Phase.explain)  # explaining a failure costs minutes
VALUES = st.recursive(SCALARS, _objects, max_leaves=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], phases=NO_EXPLAIN)
@given(st.lists(VALUES, max_size=4), st.booleans())
@example([PSObj((), None, {"__dict__": None, "PSObject": 1})], False)  # found by this property
def test_generated_clixml_reads_as_psrpcore_reads_it(values: list[Any], deserialized: bool) -> None:
    text = to_clixml(values, deserialized=deserialized)
    read_alike(by_psrpcore(text), text)


def read_alike(expected: list[Any], text: str) -> None:
    """The streaming reader gives psrpcore's ``expected`` for ``text``, or declines it."""
    try:
        got = clixml_reader.read(text)
    except clixml_reader.Declined as declined:
        event(f"declined: {str(declined).split(':')[0][:40]}")
        return
    event("read by the streaming reader")
    assert_same(expected, got)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow], phases=NO_EXPLAIN)
@given(VALUES)
def test_generated_values_written_by_psrpcore_read_as_psrpcore_reads_them(value: Any) -> None:
    [item] = deserialize(to_clixml([value]))
    text = as_psrpcore_message(item)
    try:
        expected = by_psrpcore(text)
    except (ValueError, SyntaxError):  # a year below 1000; a control character written raw
        event("psrpcore cannot read its own output back")
        # It fails too, maybe on another part of the text first: its callers then ask psrpcore.
        with pytest.raises(Exception):  # noqa: B017
            clixml_reader.read(text)
        return
    read_alike(expected, text)


def outcome(path: Path) -> tuple[str, Any]:
    """What ``read_clixml`` gives: ("value", objects) or ("error", its one-line message)."""
    try:
        return "value", read_clixml(path)
    except ValueError as exc:
        return "error", str(exc)


def psrpcore_only(text: str) -> list[Any]:
    raise clixml_reader.Declined("the reference run: psrpcore alone")


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], phases=NO_EXPLAIN
)
@given(damage=damaged_file())
def test_a_damaged_file_reads_or_fails_exactly_as_with_psrpcore_alone(
    damage: tuple[str, bytes], tmp_path: Path
) -> None:
    """Hostile input keeps its behaviour: psrpcore's value, or the same error, word for word."""
    name, data = damage
    path = tmp_path / name
    path.write_bytes(data)
    with mock.patch.object(clixml_reader, "read", psrpcore_only):
        expected = outcome(path)
    got = outcome(path)
    event(f"psrpcore alone: {expected[0]}")
    assert got[0] == expected[0], (got, expected)
    if expected[0] == "error":
        assert got[1] == expected[1]
    else:
        assert_same(expected[1], got[1])


def test_objects_of_one_type_share_their_type_names_and_name_map() -> None:
    """Memory at 2,000 connectors (bench/offline.py): one tuple of type names and one name map per
    distinct list, not one per object. Written by clixml_writer, every object carries its own TN."""
    export = REPO / "tests" / "fixtures" / "real" / "E19-GetReceiveConnector.xml"
    [connector] = [o for o in by_psrpcore(document(export.read_bytes())) if isinstance(o, PSObj)][:1]
    copies = clixml_reader.read(to_clixml([connector, connector, connector]))
    assert len(copies) == 3 and all(isinstance(c, PSObj) for c in copies)
    assert len({id(c.type_names) for c in copies}) == 1
    assert len({id(c._lower) for c in copies}) == 1
    assert copies[0].get("maxinboundconnection") == connector.get("MaxInboundConnection")
