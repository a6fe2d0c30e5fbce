"""Saved plans: checksum, the commands they carry, and one-line refusals of anything else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compliance.apply.saved_plan import KIND, canonical_checksum, read_saved_plan, write_saved_plan
from compliance.cli import main
from compliance.errors import InputError
from compliance.pipeline import plan_folder
from compliance.plan import Plan

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = """\
apiVersion: uccx-compliance/v1
kind: Inventory
targets:
  - name: site-a
    exchange_endpoint: http://ex01.lab.local/PowerShell/
    username: uccx-admin@LAB.LOCAL
    password_env: UCCX_TEST_UNUSED
    baseline: uccx-exchange2010-sp1
    servers:
      - {name: EX01, roles: [Mailbox, ClientAccess, HubTransport]}
"""


def offline_plan() -> Plan:
    plan = plan_folder(
        ROOT / "baselines/uccx-exchange2010-sp1.yaml", ROOT / "examples/facts/exchange2010-sp3-defaults", {}
    )
    plan.target = "site-a"
    return plan


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(INVENTORY, encoding="utf-8")
    path = tmp_path / "plan.json"
    write_saved_plan(path, [offline_plan()], inventory, {"agents": 100})
    return path


def test_round_trip(saved: Path) -> None:
    plan = read_saved_plan(saved)
    document = json.loads(saved.read_text(encoding="utf-8"))
    assert document["kind"] == KIND and document["format_version"] == 1
    assert document["checksum"] == canonical_checksum(document)
    assert document["targets"][0]["host_endpoints"] == {"EX01": "http://EX01:5985/wsman"}
    assert document["baseline"]["name"] == "uccx-exchange2010-sp1"
    assert plan.vars == {"agents": 100}
    [target] = plan.targets
    assert [c.check for c in target.changes] == [c["check"] for c in document["changes"]]
    imap = next(c for c in document["changes"] if c["check"] == "UCCX-IMAP-004")
    assert imap["current"] == 16
    assert imap["commands"] == [
        {
            "endpoint": "exchange",
            "cmdlet": "Set-ImapSettings",
            "parameters": {"Server": "EX01", "MaxConnectionsPerUser": 2400},
        }
    ]
    store = next(c for c in document["changes"] if c["check"] == "UCCX-STORE-001")
    assert store["commands"][0]["endpoint"] == "host:EX01"
    assert store["commands"][0]["cmdlet"] == "New-ItemProperty"


def test_an_edited_plan_is_refused(saved: Path) -> None:
    document = json.loads(saved.read_text(encoding="utf-8"))
    document["changes"][0]["desired"] = 99999
    saved.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(InputError, match="checksum mismatch: the plan was edited after it was written"):
        read_saved_plan(saved)


def test_reformatting_without_editing_is_accepted(saved: Path) -> None:
    document = json.loads(saved.read_text(encoding="utf-8"))
    saved.write_text(json.dumps(document, indent=7, sort_keys=True), encoding="utf-8")
    assert read_saved_plan(saved).checksum == document["checksum"]


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("junit", "an XML file (a JUnit report?), not a saved plan"),
        ("text", "not JSON (a text report?), so not a saved plan"),
        ("json", 'a JSON report, not a saved plan (it has no "kind")'),
    ],
)
def test_reports_are_refused_in_one_line(
    tmp_path: Path, fmt: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / f"report.{fmt}"
    code = main(
        [
            "plan",
            "--facts",
            str(ROOT / "examples/facts/exchange2010-sp3-defaults"),
            "--baseline",
            str(ROOT / "baselines/uccx-exchange2010-sp1.yaml"),
            "--format",
            fmt,
            "--out",
            str(report),
        ]
    )
    assert code == 2
    capsys.readouterr()

    assert main(["apply", str(report)]) == 1

    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0]


def test_a_missing_file_is_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["apply", str(tmp_path / "nope.json")]) == 1
    assert capsys.readouterr().err.strip() == f"uccx-compliance: error: {tmp_path / 'nope.json'}: no such file"


def test_an_edited_plan_is_refused_by_apply_in_one_line(saved: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved.write_text(saved.read_text(encoding="utf-8").replace('"desired": 2400', '"desired": 16', 1), encoding="utf-8")
    assert main(["apply", str(saved)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"uccx-compliance: error: {saved}: checksum mismatch: the plan was edited after it was written"]


def test_a_backup_is_not_a_plan(tmp_path: Path) -> None:
    other = tmp_path / "backup.json"
    other.write_text(json.dumps({"kind": "uccx-compliance/backup"}), encoding="utf-8")
    with pytest.raises(InputError, match="this is a uccx-compliance/backup file, not a saved plan"):
        read_saved_plan(other)


def test_an_offline_plan_cannot_be_saved_for_apply(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(INVENTORY, encoding="utf-8")
    plan = offline_plan()
    plan.target = None
    with pytest.raises(InputError, match="only a live plan"):
        write_saved_plan(tmp_path / "plan.json", [plan], inventory)


def test_a_lone_surrogate_in_a_plan_is_written_and_checked_never_a_crash(tmp_path: Path) -> None:
    """JSON can carry "\\ud800", UTF-8 cannot: the writer escapes it and the checksum still covers it."""
    import dataclasses

    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(INVENTORY, encoding="utf-8")
    plan = offline_plan()
    plan.changes[0] = dataclasses.replace(plan.changes[0], title="IMAP \ud800 limit")
    path = tmp_path / "plan.json"
    write_saved_plan(path, [plan], inventory, {})
    assert "\\ud800" in path.read_text(encoding="utf-8")
    assert read_saved_plan(path).targets[0].changes[0].title == "IMAP \ud800 limit"
    edited = path.read_text(encoding="utf-8").replace("\\ud800", "\\udfff")
    path.write_text(edited, encoding="utf-8")
    with pytest.raises(InputError, match="checksum mismatch"):
        read_saved_plan(path)
