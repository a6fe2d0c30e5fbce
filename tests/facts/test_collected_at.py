"""Times at the calendar's edge: refused with their line, or the event checks unreadable; never a traceback.

``0001-01-01T00:00:00+14:00`` is a valid local time whose UTC instant is before year 1, and
``9999-12-31T23:59:59-14:00`` one after year 9999: Python's ``astimezone`` raises OverflowError
on both. A window of 7 days back from ``0001-01-03`` starts before year 1 too.
"""

from __future__ import annotations

import datetime
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compliance.errors import InputError
from compliance.facts.offline import collected_at

REPO = Path(__file__).resolve().parents[2]
DEFAULTS = REPO / "examples" / "facts" / "exchange2010-sp3-defaults"
SP1 = REPO / "baselines" / "uccx-exchange2010-sp1.yaml"


def folder_with(tmp_path: Path, collection: str) -> Path:
    folder = tmp_path / "facts"
    shutil.copytree(DEFAULTS, folder)
    (folder / "collection.txt").write_bytes(b"\xef\xbb\xbf" + collection.encode("utf-8"))
    return folder


def plan(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "compliance", "plan", "--baseline", str(SP1), "--facts", str(folder)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("0001-01-01T00:00:00+14:00", "cannot be placed in UTC (it falls outside years 1-9999)"),
        ("9999-12-31T23:59:59-14:00", "cannot be placed in UTC (it falls outside years 1-9999)"),
        ("2026-13-45T00:00:00Z", "is not a valid time (month must be in 1..12)"),
    ],
    ids=["before-year-1-in-utc", "after-year-9999-in-utc", "no-such-month"],
)
def test_a_collection_time_outside_the_utc_calendar_is_refused_with_its_line(
    tmp_path: Path, value: str, why: str
) -> None:
    folder = folder_with(tmp_path, f"EventLookbackDays: 7\r\nCollectedAtUtc: {value}\r\n")
    with pytest.raises(InputError) as raised:
        collected_at(folder)
    assert str(raised.value) == f"{folder / 'collection.txt'}:2:17: CollectedAtUtc: {value!r} {why}"


def test_the_cli_refuses_it_in_one_line_exit_1(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, "CollectedAtUtc: 0001-01-01T00:00:00+14:00\r\n")
    result = plan(folder)
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert result.stderr == (
        f"uccx-compliance: error: {folder / 'collection.txt'}:1:17: CollectedAtUtc: "
        "'0001-01-01T00:00:00+14:00' cannot be placed in UTC (it falls outside years 1-9999)\n"
    )


def test_text_that_is_no_time_is_refused_with_control_characters_escaped(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, "CollectedAtUtc: soon\x1b[2J\r\n")
    with pytest.raises(InputError) as raised:
        collected_at(folder)
    message = str(raised.value)
    assert message.endswith("CollectedAtUtc: expected a time like 2026-11-22T16:05:31Z, got 'soon\\x1b[2J'")
    assert "\x1b" not in message


def test_an_offset_time_is_returned_in_utc(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, "CollectedAtUtc: 0001-01-01T10:00:00+09:00\r\n")
    assert collected_at(folder) == datetime.datetime(1, 1, 1, 1, 0, tzinfo=datetime.timezone.utc)


def test_a_window_that_starts_before_year_1_makes_the_event_checks_unreadable(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, "CollectedAtUtc: 0001-01-03T00:00:00Z\r\n")
    result = plan(folder)
    assert result.returncode == 3, result.stderr  # incomplete: never compliant, never drift
    assert (
        "  ? event log on EX01: collection.txt: the 7-day event window back from CollectedAtUtc "
        "0001-01-03T00:00:00+00:00 starts before year 1    [UCCX-EVT-001, UCCX-EVT-002]"
    ) in result.stdout.splitlines()
    assert "UCCX-EVT-00" not in result.stdout.split("Could not read")[0]  # neither a finding nor compliant


def test_an_event_time_outside_the_utc_calendar_makes_its_check_unreadable(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, "CollectedAtUtc: 2026-11-22T16:05:31Z\r\n")
    events = folder / "GetWinEvent-EX01.xml"
    text = events.read_text(encoding="utf-8-sig")
    assert "2026-11-20T09:12:44.531628+01:00" in text
    events.write_text(text.replace("2026-11-20T09:12:44.531628+01:00", "0001-01-01T00:00:00+14:00"), "utf-8")
    result = plan(folder)
    assert result.returncode == 3, result.stderr
    assert (
        "  ? event log on EX01: GetWinEvent-EX01.xml: event 9646 at 0001-01-01T00:00:00+14:00 cannot be "
        "placed in UTC (outside years 1-9999)    [UCCX-EVT-001]"
    ) in result.stdout.splitlines()
    assert result.stderr == ""
