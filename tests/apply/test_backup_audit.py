"""The backup (never overwritten, statuses rewritten whole) and the audit log (one JSON object a line)."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from compliance.apply.auditlog import AuditLog, AuditResult
from compliance.apply.backup import BackupEntry, backup_name, read_backup, save, write_new_backup
from compliance.apply.saved_plan import SavedTarget
from compliance.plan import Action, Change, ChangeKind

TARGET = SavedTarget(
    "site a/b",
    "http://ex01/PowerShell/",
    {"EX01": "http://ex01:5985/wsman"},
    "inv.yaml",
    {"name": "b", "path": "b.yaml", "sha256": "0" * 64},
)
CHANGE = Change(
    check="UCCX-IMAP-004",
    title="t",
    severity="critical",
    resource="IMAP settings on EX01",
    identity="EX01",
    setting="MaxConnectionsPerUser",
    current=16,
    desired=2400,
    requirement="at least 2400",
    action=Action.UPDATE,
    server="EX01",
    requires_restart=("MSExchangeIMAP4",),
    kind=ChangeKind.IMAP,
)
WHEN = datetime.datetime(2025, 5, 1, 12, 30, 5, tzinfo=datetime.timezone.utc)


def write(directory: Path) -> Path:
    return write_new_backup(
        directory,
        TARGET,
        baseline_path="b.yaml",
        variables={"agents": 300},
        plan={"path": "plan.json", "checksum": "sha256:x"},
        entries=[BackupEntry(change=CHANGE, old=16, new=2400)],
        now=WHEN,
    ).path


def test_backup_name_has_target_and_utc_time() -> None:
    assert backup_name("site a/b", WHEN) == "site_a_b-20250501T123005Z.json"


def test_backup_round_trip_and_status_update(tmp_path: Path) -> None:
    path = write(tmp_path)
    backup = read_backup(path)
    assert backup.entries[0].old == 16 and backup.entries[0].status == "planned"
    assert backup.entries[0].change == CHANGE
    assert backup.vars == {"agents": 300}

    backup.entries[0].status = "applied"
    save(backup)

    assert read_backup(path).entries[0].status == "applied"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


def test_a_second_backup_in_the_same_second_gets_its_own_file(tmp_path: Path) -> None:
    first, second = write(tmp_path), write(tmp_path)
    assert first != second and first.exists() and second.exists()


def test_audit_lines_are_json_objects_with_every_field(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.log", "apply", "uccx-admin@LAB.LOCAL")
    log.record("site-a", CHANGE, old=16, new=2400, result=AuditResult.APPLIED)
    log.record("site-a", CHANGE, old=16, new=2400, result=AuditResult.FAILED, message="Set-ImapSettings: denied")

    lines = (tmp_path / "audit.log").read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines]
    assert len(entries) == 2
    first = entries[0]
    assert set(first) == {
        "time",
        "run",
        "command",
        "operator",
        "target",
        "check",
        "resource",
        "setting",
        "old",
        "new",
        "result",
        "message",
    }
    assert first["operator"]["remote"] == "uccx-admin@LAB.LOCAL" and first["operator"]["local"]
    assert datetime.datetime.fromisoformat(first["time"]).utcoffset() == datetime.timedelta(0)
    assert (first["check"], first["setting"], first["old"], first["new"]) == (
        "UCCX-IMAP-004",
        "MaxConnectionsPerUser",
        16,
        2400,
    )
    assert entries[1]["result"] == "failed" and entries[1]["run"] == first["run"]
