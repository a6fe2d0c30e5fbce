"""Live objects (as pypsrp returns them) and written files read back as the offline reader reads."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from compliance import resources
from compliance.facts.clixml_writer import Int, Members, TypedList, to_clixml, write_clixml
from compliance.facts.offline import read_clixml
from compliance.facts.psobject import PSObj
from compliance.remoting.convert import from_pypsrp
from tests.remoting.wire import received

# The real exports shipped with the tests (tests/fixtures/real); never an absolute path.
CSS = Path(__file__).resolve().parents[1] / "fixtures" / "real"
FIXTURES = sorted(CSS.glob("*.xml"))


def test_the_real_exports_are_there() -> None:
    # An empty glob would silently parametrize the tests below away.
    assert len(FIXTURES) == 6, CSS


EXAMPLES = sorted(resources.scenarios_dir().glob("*/*.xml"))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_pypsrp_objects_convert_like_the_export(path: Path) -> None:
    live = [from_pypsrp(obj) for obj in received(path)]
    assert live == read_clixml(path)


@pytest.mark.parametrize("path", FIXTURES + EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_written_file_reads_back_equal(path: Path, tmp_path: Path) -> None:
    original = read_clixml(path)
    copy = tmp_path / path.name
    write_clixml(copy, original)
    assert copy.read_bytes().startswith(b'\xef\xbb\xbf<Objs Version="1.1.0.1"')
    assert read_clixml(copy) == original


def test_writer_prefixes_type_names_once_and_reuses_them() -> None:
    role = PSObj(
        ("Microsoft.Exchange.Data.Directory.SystemConfiguration.ServerRole", "System.Enum"),
        "Mailbox, ClientAccess",
        value=6,
    )
    text = to_clixml([PSObj(("A.Server",), "EX01", {"Role": role, "Other": role})])
    assert "<T>Deserialized.Microsoft.Exchange.Data.Directory.SystemConfiguration.ServerRole</T>" in text
    assert "Deserialized.Deserialized." not in text
    assert text.count("<TNRef RefId=") == 1


def test_writer_keeps_primitives(tmp_path: Path) -> None:
    when = datetime.datetime(2026, 11, 20, 9, 12, 44, 531628, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    values = [
        PSObj(
            ("System.Management.Automation.PSCustomObject",),
            None,
            {
                "Maximum Allowed Service Sessions Per User": 64,
                "Big": 2**40,
                "Flag": True,
                "Text": "a\x01_x0041_b",
                "When": when,
                "Gap": datetime.timedelta(hours=1, seconds=2.5),
                "Nothing": None,
                "Items": ["x", 1],
            },
        )
    ]
    path = tmp_path / "GetItemProperty-EX01.xml"
    write_clixml(path, values)
    assert '<I32 N="Maximum Allowed Service Sessions Per User">64</I32>' in path.read_text(encoding="utf-8-sig")
    assert read_clixml(path) == values


def test_an_empty_collection_is_an_empty_objs_element(tmp_path: Path) -> None:
    path = tmp_path / "GetWinEvent-EX01.xml"
    write_clixml(path, [])
    assert path.read_text(encoding="utf-8-sig").endswith("></Objs>")
    assert read_clixml(path) == []


def _identity() -> PSObj:
    return PSObj(("X.ADObjectId", "System.Object"), "EX01", {"Name": "EX01"})


def test_writer_keeps_what_the_neutral_form_forgets(tmp_path: Path) -> None:
    """Widths (Int), collection types (TypedList), note properties and <Ref> (Members), EMS type names."""
    identity = _identity()
    strings = TypedList(["DC01"], ("X.MultiValuedProperty`1[[System.String]]", "System.Object"))
    props = {
        "Limit": Int(25, "U32"),
        "Minor": Int(1, "By"),
        "Ticks": Int(0, "I64"),
        "Controllers": strings,
        "Identity": identity,
        "Id": identity,
        "PSComputerName": "ex01.lab.local",
    }
    server = PSObj(("X.ExchangeServer", "System.Object"), "EX01", Members(props, notes={"PSComputerName"}, refs={"Id"}))
    path = tmp_path / "GetExchangeServer.xml"
    write_clixml(path, [server], deserialized=False, newline="\n")
    raw = path.read_bytes()
    assert b"\r" not in raw
    text = raw.decode("utf-8-sig")
    for piece in (
        '<U32 N="Limit">25</U32>',
        '<By N="Minor">1</By>',
        '<I64 N="Ticks">0</I64>',
        "<T>X.MultiValuedProperty`1[[System.String]]</T>",
        '<Obj N="Identity" RefId="2">',  # N before RefId, as PowerShell writes it
        '<Ref N="Id" RefId="2" />',
        '</Props>\n    <MS>\n      <S N="PSComputerName">ex01.lab.local</S>',
        "<T>X.ExchangeServer</T>",
    ):
        assert piece in text
    assert "Deserialized." not in text
    [back] = read_clixml(path)
    assert back == server and back.get("Id") == back.get("Identity")
    assert type(back.get("Limit")) is int and back.get("Controllers") == ["DC01"]


def test_writer_numbers_a_collection_before_its_items() -> None:
    text = to_clixml([PSObj(("A",), None, {"Items": [PSObj(("B",), "b")]})])
    assert '<Obj N="Items" RefId="1">' in text and '<Obj RefId="2">' in text


def test_writer_writes_doubles_times_and_empty_strings_as_dotnet_does() -> None:
    plus_one = datetime.timezone(datetime.timedelta(hours=1))
    values = {
        "Seconds": 600.0,
        "Days": 0.5,
        "At": datetime.datetime(2025, 3, 14, 10, 21, 7, tzinfo=plus_one),
        "Created": datetime.datetime(2026, 11, 20, 9, 12, 44, 531000, tzinfo=plus_one),
        "AtUTC": datetime.datetime(2025, 3, 14, 9, 21, 7, tzinfo=datetime.timezone.utc),
        "Banner": "",
    }
    text = to_clixml([PSObj(("A",), "", values)])
    for piece in (
        '<Db N="Seconds">600</Db>',
        '<Db N="Days">0.5</Db>',
        '<DT N="At">2025-03-14T10:21:07+01:00</DT>',
        '<DT N="Created">2026-11-20T09:12:44.531+01:00</DT>',
        '<DT N="AtUTC">2025-03-14T09:21:07Z</DT>',
        '<S N="Banner"></S>',
        "<ToString />",
    ):
        assert piece in text


def test_a_reference_needs_the_object_written_before_it() -> None:
    with pytest.raises(ValueError, match="Id"):
        to_clixml([PSObj(("A",), None, Members({"Id": _identity()}, refs={"Id"}))])
    with pytest.raises(ValueError, match="integer tag"):
        Int(1, "I8")
