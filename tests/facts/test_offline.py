"""The offline fact source: a folder of ``Export-Clixml`` files.

A missing or malformed file makes only the checks that need it unreadable, with a reason naming the
file; unreadable is never counted compliant or drift, and any unreadable check makes the exit code 3.
The starting point is the compliant example folder (every check compliant with the SP1 baseline),
so any check that changes state below is the one the damaged file feeds.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from compliance.baseline import load_baseline
from compliance.checks.engine import evaluate
from compliance.errors import InputError
from compliance.facts.collection import RawFacts
from compliance.facts.offline import (
    MAX_FILE_BYTES,
    MAX_FOLDER_STREAMED_BYTES,
    MAX_STREAMED_FILE_BYTES,
    collected_at,
    read_clixml,
    read_raw,
)
from compliance.kinds import registry_value
from compliance.pipeline import FactsFolder, build_facts, read
from compliance.reporters.json import report_dict

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "facts"
COMPLIANT = EXAMPLES / "exchange2010-sp3-compliant"
DEFAULTS = EXAMPLES / "exchange2010-sp3-defaults"
SP1 = REPO / "baselines" / "uccx-exchange2010-sp1.yaml"
TOTAL_CHECKS = 29  # the SP1 baseline's checks against one server with every role

# file -> the checks that read it (the SP1 baseline; EX01 has every role)
READERS = {
    "GetImapSettings.xml": {f"UCCX-IMAP-00{i}" for i in range(1, 5)},
    "GetReceiveConnector.xml": {f"UCCX-SMTP-00{i}" for i in range(5)},
    "GetThrottlingPolicy.xml": {f"UCCX-THR-{i:03}" for i in range(15)},
    "GetMailbox.xml": {"UCCX-MBX-001"},
    "GetADPermission.xml": {"UCCX-ADP-001"},
    "GetItemProperty-EX01.xml": {"UCCX-STORE-001"},
    "GetWinEvent-EX01.xml": {"UCCX-EVT-001", "UCCX-EVT-002"},
    # Without the server list nothing knows which servers hold the Mailbox/Hub roles or their version.
    "GetExchangeServer.xml": {"applies_to", "UCCX-STORE-001", "UCCX-EVT-001", "UCCX-EVT-002"},
}

Judge = Callable[[RawFacts], tuple[int, dict[str, Any]]]


@pytest.fixture(scope="module")
def compliant_raw() -> RawFacts:
    """The compliant folder read once (psrpcore takes ~0.2 s a folder); tests replace single files."""
    return read_raw(COMPLIANT)


@pytest.fixture(scope="module")
def judge() -> Judge:
    """Raw collections -> (exit code, JSON report), through the same steps as ``plan --facts``."""
    loaded = load_baseline(SP1)

    def run(raw: RawFacts) -> tuple[int, dict[str, Any]]:
        plan = evaluate(loaded, build_facts(raw, source="test"))
        return int(plan.exit_code), report_dict([plan])

    return run


def with_file(raw: RawFacts, name: str, text: str, tmp_path: Path) -> RawFacts:
    """``raw`` with ``name`` replaced by what the offline reader makes of ``text`` in that file."""
    (tmp_path / name).write_text(text, encoding="utf-8")
    return {**raw, **read_raw(tmp_path)}


@pytest.fixture
def plan(cli: Any) -> Callable[[Path], tuple[int, dict[str, Any]]]:
    """``uccx-compliance plan --facts FOLDER --format json`` in-process, for the end-to-end cases."""

    def run(folder: Path) -> tuple[int, dict[str, Any]]:
        result = cli("plan", "--facts", folder, "--baseline", SP1, "--format", "json")
        assert result.err == ""
        return result.code, json.loads(result.out)

    return run


def test_the_starting_point_is_all_compliant(judge: Judge, compliant_raw: RawFacts) -> None:
    code, report = judge(compliant_raw)
    assert (code, report["summary"]) == (0, {"compliant": TOTAL_CHECKS, "drift": 0, "unreadable": 0, "waived": 0})


def assert_only_these_unreadable(code: int, report: dict[str, Any], checks: set[str], reason: str) -> None:
    unreadable = report["unreadable"]
    assert {u["check"] for u in unreadable} == checks
    assert all(reason in u["reason"] for u in unreadable), unreadable
    # Unreadable is neither compliant nor drift, and the rest is still judged.
    assert report["changes"] == [] and report["findings"] == []
    assert not {c["check"] for c in report["compliant"]} & checks
    assert report["summary"] == {
        "compliant": TOTAL_CHECKS - len(checks - {"applies_to"}),
        "drift": 0,
        "unreadable": len(unreadable),
        "waived": 0,
    }
    assert code == 3


@pytest.mark.parametrize("name", sorted(READERS))
def test_missing_file_makes_only_its_checks_unreadable(name: str, judge: Judge, compliant_raw: RawFacts) -> None:
    raw = {stem: reading for stem, reading in compliant_raw.items() if f"{stem}.xml" != name}
    assert len(raw) == len(compliant_raw) - 1
    code, report = judge(raw)
    assert_only_these_unreadable(code, report, READERS[name], "not collected")


def test_missing_file_end_to_end(copy_of: Any, plan: Any) -> None:
    folder = copy_of(COMPLIANT)
    (folder / "GetImapSettings.xml").unlink()
    code, report = plan(folder)
    assert_only_these_unreadable(code, report, READERS["GetImapSettings.xml"], "not collected")
    assert {u["reason"] for u in report["unreadable"]} == {"GetImapSettings.xml: not collected"}


def truncated(path: Path) -> str:
    text = path.read_text(encoding="utf-8-sig")
    return text[: len(text) // 2]


def format_list(_path: Path) -> str:
    # What `Get-ImapSettings | Format-List > GetImapSettings.xml` leaves: text, not CLIXML.
    return "\nName                      : 1\nMaxConnectionsPerUser     : 2400\n"


def mailbox_export(_path: Path) -> str:
    return (COMPLIANT / "GetMailbox.xml").read_text(encoding="utf-8-sig")


DAMAGE = [
    pytest.param(truncated, "malformed CLIXML", id="truncated"),
    pytest.param(format_list, "not an Export-Clixml file", id="not-clixml"),
    pytest.param(lambda _p: "", "not an Export-Clixml file", id="empty-file"),
]


@pytest.mark.parametrize(("damage", "reason"), DAMAGE)
@pytest.mark.parametrize("name", ["GetImapSettings.xml", "GetThrottlingPolicy.xml", "GetItemProperty-EX01.xml"])
def test_malformed_file_names_the_file_and_only_its_checks_are_unreadable(
    name: str,
    damage: Callable[[Path], str],
    reason: str,
    judge: Judge,
    compliant_raw: RawFacts,
    tmp_path: Path,
) -> None:
    code, report = judge(with_file(compliant_raw, name, damage(COMPLIANT / name), tmp_path))
    assert_only_these_unreadable(code, report, READERS[name], reason)
    assert all(u["reason"].startswith(f"{name}: ") for u in report["unreadable"])


@pytest.mark.parametrize(
    ("name", "expected_type"),
    [("GetImapSettings.xml", "Imap4AdConfiguration"), ("GetReceiveConnector.xml", "ReceiveConnector")],
)
def test_wrong_object_type_names_the_file_and_the_types(
    name: str, expected_type: str, judge: Judge, compliant_raw: RawFacts, tmp_path: Path
) -> None:
    code, report = judge(with_file(compliant_raw, name, mailbox_export(COMPLIANT / name), tmp_path))
    assert_only_these_unreadable(code, report, READERS[name], f"{name}: expected ")
    reason = report["unreadable"][0]["reason"]
    assert expected_type in reason and "Management.Mailbox" in reason


def test_malformed_file_end_to_end(copy_of: Any, plan: Any) -> None:
    folder = copy_of(COMPLIANT)
    policies = folder / "GetThrottlingPolicy.xml"
    policies.write_text(truncated(policies), encoding="utf-8")
    code, report = plan(folder)
    assert_only_these_unreadable(
        code, report, READERS["GetThrottlingPolicy.xml"], "GetThrottlingPolicy.xml: malformed CLIXML"
    )


def test_malformed_file_on_an_organization_with_drift_still_exits_3(copy_of: Any, plan: Any) -> None:
    folder = copy_of(DEFAULTS)
    (folder / "GetImapSettings.xml").write_text(format_list(folder), encoding="utf-8")
    code, report = plan(folder)
    assert code == 3  # incomplete wins over drift: the audit cannot vouch for what it did not read
    assert {u["check"] for u in report["unreadable"]} == READERS["GetImapSettings.xml"]
    assert report["summary"]["drift"] > 0
    assert not [c for c in report["changes"] if c["check"].startswith("UCCX-IMAP")]


def test_deserialized_twice_type_names_are_accepted(copy_of: Any, plan: Any) -> None:
    # A file exported from a remote session says Deserialized.X; psrpcore adds one more prefix.
    folder = copy_of(COMPLIANT)
    for name in ("GetImapSettings.xml", "GetExchangeServer.xml", "GetThrottlingPolicy.xml"):
        path = folder / name
        text = path.read_text(encoding="utf-8-sig")
        assert "<T>Microsoft.Exchange." in text
        path.write_text(
            text.replace("<T>Microsoft.Exchange.", "<T>Deserialized.Microsoft.Exchange."), encoding="utf-8-sig"
        )
    [imap] = read_clixml(folder / "GetImapSettings.xml")
    assert imap.type_names[0] == "Microsoft.Exchange.Data.Directory.SystemConfiguration.Imap4AdConfiguration"
    code, report = plan(folder)
    assert (code, report["summary"]) == (0, {"compliant": TOTAL_CHECKS, "drift": 0, "unreadable": 0, "waived": 0})


def test_empty_folder_is_bad_input(tmp_path: Path, cli: Any) -> None:
    (tmp_path / "README.md").write_text("not a fact file", encoding="utf-8")
    result = cli("plan", "--facts", tmp_path, "--baseline", SP1)
    assert result.code == 1 and result.out == ""
    assert result.err.splitlines() == [
        f"uccx-compliance: error: {tmp_path}: no fact files found (expected GetExchangeServer.xml and the "
        "others; see `uccx-compliance collector-script`)"
    ]


def test_missing_folder_is_bad_input(tmp_path: Path, cli: Any) -> None:
    result = cli("plan", "--facts", tmp_path / "nope", "--baseline", SP1)
    assert result.code == 1 and result.out == ""
    assert result.err.splitlines() == [
        f"uccx-compliance: error: {tmp_path / 'nope'}: facts folder not found (expected a folder of "
        "Export-Clixml files)"
    ]


def test_read_folder_raises_input_error_for_a_file_given_as_folder() -> None:
    with pytest.raises(InputError, match="facts folder not found"):
        read(FactsFolder(COMPLIANT / "GetMailbox.xml"))


def test_per_server_files_are_found_by_server_name(copy_of: Any) -> None:
    folder = copy_of(COMPLIANT)
    (folder / "GetItemProperty-EX01.xml").rename(folder / "GetItemProperty-EX02.xml")
    facts = read(FactsFolder(folder))
    assert facts.servers_read(registry_value.KIND) == ["EX02"]
    assert facts.on(registry_value.KIND, "ex02").ok  # server names compare case-insensitively
    assert facts.on(registry_value.KIND, "EX01").error == "GetItemProperty-EX01.xml: not collected"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, second, tzinfo=datetime.timezone.utc)


@pytest.mark.parametrize(
    ("text", "when"),
    [
        ("\ufeffCollectedAtUtc: 2026-11-22T16:05:31Z\n", utc(2026, 11, 22, 16, 5, 31)),
        ("CollectedAtUtc: 2026-11-22 16:05\n", utc(2026, 11, 22, 16, 5)),
        ("CollectedAt: 2026-11-22T17:05:31+01:00\n", utc(2026, 11, 22, 16, 5, 31)),
        ("CollectedBy: LAB\\exadmin\n", None),
    ],
    ids=["iso-utc-with-bom", "space-no-seconds", "offset", "no-time"],  # impossible dates: test_collected_at.py
)
def test_collection_time(tmp_path: Path, text: str, when: datetime.datetime | None) -> None:
    (tmp_path / "collection.txt").write_text(text, encoding="utf-8")
    assert collected_at(tmp_path) == when


def test_no_collection_file_means_no_collection_time(tmp_path: Path) -> None:
    assert collected_at(tmp_path) is None


def _sparse(path: Path, size: int) -> None:
    """A file of ``size`` bytes that costs no disk: the reader must refuse it by its size."""
    with path.open("wb") as handle:
        handle.truncate(size)


def test_an_oversized_fact_file_is_unreadable_without_being_read(copy_of: Any, judge: Judge) -> None:
    folder = copy_of(COMPLIANT)
    _sparse(folder / "GetImapSettings.xml", MAX_STREAMED_FILE_BYTES + 1)
    code, report = judge(read_raw(folder))
    # The folder's budget for such files is the file bound too: either refuses it, by size, unread.
    assert_only_these_unreadable(code, report, READERS["GetImapSettings.xml"], "128 MiB")
    with pytest.raises(ValueError, match=r"^larger than the 128 MiB a fact file may be; not read$"):
        read_clixml(folder / "GetImapSettings.xml")


def test_a_folder_over_its_total_size_makes_the_remaining_files_unreadable(copy_of: Any) -> None:
    folder = copy_of(COMPLIANT)
    # Three files at the per-file limit use the folder's budget; what is read after them is refused.
    for name in ("GetADPermission.xml", "GetExchangeServer.xml", "GetImapSettings.xml"):
        _sparse(folder / name, MAX_FILE_BYTES)
    raw = read_raw(folder)
    over = {stem for stem, reading in raw.items() if reading.error and "together" in reading.error}
    assert over and "GetExchangeServer" not in over
    assert all(raw[stem].error for stem in over)


def test_the_files_over_16_mib_have_their_own_folder_budget(copy_of: Any) -> None:
    """Only the streaming reader reads them, so they count against 128 MiB together, not the 48 MiB
    psrpcore's files share: a file of 16 MiB still reads after them."""
    folder = copy_of(COMPLIANT)
    for name in ("GetADPermission.xml", "GetExchangeServer.xml"):
        _sparse(folder / name, MAX_FOLDER_STREAMED_BYTES // 2 + 1)
    _sparse(folder / "GetImapSettings.xml", MAX_FILE_BYTES)
    raw = read_raw(folder)
    errors = {stem: reading.error for stem, reading in raw.items() if reading.error}
    # Whichever is read first is read; the other is over the budget the first left.
    over = [stem for stem in ("GetADPermission", "GetExchangeServer") if "over 128 MiB together" in str(errors[stem])]
    assert len(over) == 1
    assert "fact files over 16 MiB are over 128 MiB together" in str(errors[over[0]])
    [read] = {"GetADPermission", "GetExchangeServer"} - set(over)
    assert errors[read] == f"{read}.xml: not an Export-Clixml file (no <Objs> root)"
    assert errors["GetImapSettings"] == "GetImapSettings.xml: not an Export-Clixml file (no <Objs> root)"


def test_an_exchange_server_file_with_no_server_is_unreadable_not_compliant(copy_of: Any, plan: Any) -> None:
    """Found by the hostile-fact-file property: an empty Get-ExchangeServer export made every
    per-server check vanish and the rest read as compliant (exit 0)."""
    folder = copy_of(COMPLIANT)
    empty = '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">\n</Objs>\n'
    (folder / "GetExchangeServer.xml").write_text(empty, encoding="utf-8")
    code, report = plan(folder)
    assert code == 3
    reasons = {u["reason"] for u in report["unreadable"]}
    assert "GetExchangeServer.xml: lists no Exchange server (an empty or filtered export?)" in reasons
    assert {"applies_to", "UCCX-STORE-001"} <= {u["check"] for u in report["unreadable"]}
