"""The waivers file: what loads, and every mistake as one located line (exit 1)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from compliance.errors import InputError
from compliance.waivers import load_waivers
from tests.waivers.waiverhelpers import HEADER, TODAY, waiver, write_waivers


def test_a_valid_file_loads_with_the_line_of_each_waiver(tmp_path: Path) -> None:
    path = write_waivers(tmp_path / "w.yaml", waiver(), waiver(check="UCCX-SMTP-003", resource="EX01\\Default *"))
    loaded = load_waivers(path, today=TODAY)
    assert [w.source for w in loaded.waivers] == [f"{path}:4", f"{path}:10"]
    first = loaded.waivers[0]
    assert (first.check, first.target, first.created.isoformat(), first.expires.isoformat()) == (
        "UCCX-IMAP-004",
        "*",
        "2026-11-01",
        "2027-02-01",
    )


BAD: dict[str, tuple[dict[str, Any], str, str]] = {
    "justification missing": ({"justification": None}, "waivers[0].justification", "required key is missing"),
    "justification blank": ({"justification": "   "}, "waivers[0].justification", "should match pattern"),
    "approver empty": ({"approver": ""}, "waivers[0].approver", "should match pattern"),
    "check id malformed": ({"check": "imap-4"}, "waivers[0].check", "should match pattern"),
    "check a number": ({"check": 4}, "waivers[0].check", "valid string"),
    "resource a list": ({"resource": ["a"]}, "waivers[0].resource", "valid string"),
    "date of another form": ({"expires": "01/02/2027"}, "waivers[0].expires", "YYYY-MM-DD"),
    "not a real date": ({"expires": "2027-02-30"}, "waivers[0].expires", "not a real date"),
    "date a number": ({"created": 20261101}, "waivers[0].created", "YYYY-MM-DD"),
    "created in the future": ({"created": "2026-11-16"}, "waivers[0].created", "in the future"),
    "expires before created": ({"expires": "2026-10-01"}, "waivers[0].expires", "not after created"),
    "expires on created": ({"expires": "2026-11-01"}, "waivers[0].expires", "not after created"),
    "longer than 180 days": ({"expires": "2027-05-01"}, "waivers[0].expires", "at most 180 days"),
    "unknown key": ({"approvr": "x", "approver": None}, "waivers[0].approvr", "did you mean 'approver'"),
    "huge justification": ({"justification": "x" * 5000}, "waivers[0].justification", "at most 2000"),
}


@pytest.mark.parametrize("case", BAD.values(), ids=BAD.keys())
def test_each_mistake_is_one_located_line(tmp_path: Path, case: tuple[dict[str, Any], str, str]) -> None:
    fields, field, words = case
    path = write_waivers(tmp_path / "w.yaml", waiver(**fields))
    with pytest.raises(InputError) as caught:
        load_waivers(path, today=TODAY)
    message = str(caught.value)
    assert re.match(rf"^{re.escape(str(path))}:\d+:\d+: {re.escape(field)}: ", message), message
    assert words in message
    assert "\n" not in message


def test_the_error_points_at_the_line_of_the_field(tmp_path: Path) -> None:
    path = write_waivers(tmp_path / "w.yaml", waiver(), waiver(expires="2026-10-01"))
    with pytest.raises(InputError, match=rf"^{re.escape(str(path))}:15:3: waivers\[1\]\.expires: "):
        load_waivers(path, today=TODAY)


def test_the_maximum_is_configurable(tmp_path: Path) -> None:
    path = write_waivers(tmp_path / "w.yaml", waiver(expires="2027-05-01"))  # 181 days
    assert len(load_waivers(path, today=TODAY, max_days=365).waivers) == 1
    short = write_waivers(tmp_path / "s.yaml", waiver(expires="2026-12-15"))  # 44 days
    with pytest.raises(InputError, match="at most 30 days"):
        load_waivers(short, today=TODAY, max_days=30)
    for days in (0, 3651):
        with pytest.raises(InputError, match="--waiver-max-days"):
            load_waivers(path, today=TODAY, max_days=days)


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("apiVersion: uccx-compliance/v1\nkind: Baseline\nwaivers: []\n", "kind", "'Waivers'"),
        (HEADER + "waivers: {a: 1}\n", "waivers", "valid tuple"),
        (HEADER + "waivers:\n  - check: [unclosed\n", "waivers[0].check", "invalid YAML"),
        (HEADER + "waivers:\n  - &a {check: x}\n  - *a\n  - !!python/object:os.system {}\n", "waivers[2]", "tag"),
    ],
)
def test_malformed_documents(tmp_path: Path, text: str, field: str, words: str) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_waivers(path, today=TODAY)
    assert re.match(rf"^{re.escape(str(path))}:\d+:\d+: {re.escape(field)}: ", str(caught.value)), str(caught.value)
    assert words in str(caught.value)


def test_a_missing_file_and_non_utf8_text_are_located(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r":1:1: \(top level\): file not found"):
        load_waivers(tmp_path / "absent.yaml", today=TODAY)
    path = tmp_path / "latin1.yaml"
    path.write_bytes(HEADER.encode() + b"waivers:\n  - approver: Ren\xe9\n")
    with pytest.raises(InputError, match=r":4:\d+: \(top level\): not UTF-8 text"):
        load_waivers(path, today=TODAY)
