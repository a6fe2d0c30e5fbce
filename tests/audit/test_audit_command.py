"""``uccx-compliance audit``: several reports in one run, the lock, quiet output, inputs checked first."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from compliance.audit import holding_lock
from compliance.lab import Lab
from compliance.lab.inventory import PASSWORD_ENV

pytestmark = pytest.mark.server

PASSWORD = "audit-lab-password"


@pytest.fixture
def lab(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    with Lab(password=PASSWORD) as running:
        yield running


def test_one_audit_writes_every_report_asked_and_exits_as_plan(lab: Lab, tmp_path: Path, cli: Any) -> None:
    inventory = lab.write_inventory(tmp_path / "inventory.yaml")
    out = tmp_path / "out"
    result = cli(
        "audit",
        "--inventory",
        inventory,
        "--report",
        f"json={out / 'plan.json'}",
        "--report",
        f"junit={out / 'junit.xml'}",
        "--report",
        f"markdown={out / 'summary.md'}",
    )
    assert result.code == 2, result.err  # drift: the lab is at factory defaults
    plan = json.loads((out / "plan.json").read_text())
    assert plan["summary"]["drift"] == 22 and plan["exit_code"] == 2
    assert ET.parse(out / "junit.xml").getroot().tag == "testsuites"
    assert "MaxConnectionsPerUser" in (out / "summary.md").read_text()
    # Not a terminal (pytest captures stdout): one line for the log, no report text.
    [line] = result.out.splitlines()
    assert line.startswith("audit ") and "22 drift" in line and line.endswith("result: drift (exit 2)")
    assert result.err == ""


def test_quiet_prints_nothing_on_success(tmp_path: Path, cli: Any) -> None:
    folder = Path(__file__).resolve().parents[2] / "examples" / "facts" / "exchange2010-sp3-compliant"
    report = tmp_path / "plan.json"
    result = cli(
        "audit", "--facts", folder, "--baseline", "uccx-exchange2010-sp1", "--report", f"json={report}", "--quiet"
    )
    assert (result.code, result.out, result.err) == (0, "", "")
    assert json.loads(report.read_text())["exit_code"] == 0


def test_a_second_audit_while_the_first_holds_the_lock_exits_6_and_touches_nothing(
    lab: Lab, tmp_path: Path, cli: Any
) -> None:
    inventory = lab.write_inventory(tmp_path / "inventory.yaml")
    lock = tmp_path / "audit.lock"
    report = tmp_path / "plan.json"
    with holding_lock(lock):  # the first audit, still running
        result = cli("audit", "--inventory", inventory, "--lock", lock, "--report", f"json={report}")
    assert result.code == 6
    assert "another audit is running (pid " in result.err and f"lock {lock}" in result.err
    assert lab.requests == {} and not report.exists()
    # Released: the next one runs.
    assert cli("audit", "--inventory", inventory, "--lock", lock, "--report", f"json={report}").code == 2


def test_a_lock_left_by_a_killed_run_does_not_block(lab: Lab, tmp_path: Path, cli: Any) -> None:
    lock = tmp_path / "audit.lock"
    lock.write_text("pid 999999 since 2026-01-01T00:00:00+00:00")  # the file stays; no one holds it
    inventory = lab.write_inventory(tmp_path / "inventory.yaml")
    assert cli("audit", "--inventory", inventory, "--lock", lock, "--quiet").code == 2


@pytest.mark.parametrize(
    ("reports", "message"),
    [
        (["html"], "expected FORMAT=PATH"),
        (["bogus=x.txt"], "unknown format 'bogus'"),
        (["ps1=x.ps1"], "unknown format 'ps1'"),
        (["json=a.json", "junit=a.json"], "the json report is written to that file too"),
    ],
)
def test_bad_reports_are_refused_before_anything_is_sent(
    lab: Lab, tmp_path: Path, cli: Any, reports: list[str], message: str
) -> None:
    inventory = lab.write_inventory(tmp_path / "inventory.yaml")
    argv: list[Any] = ["audit", "--inventory", inventory]
    for spec in reports:
        argv += ["--report", spec]
    result = cli(*argv)
    assert result.code == 1 and message in result.err
    assert lab.requests == {}
