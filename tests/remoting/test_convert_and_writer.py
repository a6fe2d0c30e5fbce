"""Live objects (as pypsrp returns them) and written files read back as the offline reader reads."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from compliance import resources
from compliance.facts.clixml_writer import to_clixml, write_clixml
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
