"""The admin's workflow through the command line, against the lab over pypsrp:
plan --out PLAN.json, apply --dry-run, apply, plan again (clean), apply the old plan (stale),
rollback; once with NTLM over HTTP and once with Kerberos (keytab, real KDC) over HTTPS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compliance.cli import main
from compliance.lab.server import Lab
from tests.transports import LabTransport

PASSWORD = "chain-lab-password"


def test_plan_apply_replan_is_clean_and_rollback_restores(
    lab_transport: LabTransport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("UCCX_LAB_PASSWORD", PASSWORD)
    saved, backups, audit = tmp_path / "plan.json", tmp_path / "backups", tmp_path / "audit.log"
    with Lab(scenario="exchange2010-sp3-defaults", port=0, password=PASSWORD, **lab_transport.lab_options) as lab:
        inventory = str(lab.write_inventory(tmp_path / "inventory.yaml", **lab_transport.inventory_fields))
        original = lab.state.snapshot()
        assert main(["plan", "--inventory", inventory, "--format", "json", "--out", str(saved)]) == 2
        assert json.loads(saved.read_text())["kind"] == "uccx-compliance/plan"

        assert main(["apply", str(saved), "--inventory", inventory, "--dry-run", "--audit-log", str(audit)]) == 0
        assert "What if:" in capsys.readouterr().out
        assert lab.state.snapshot() == original

        logs = ["--backup-dir", str(backups), "--audit-log", str(audit)]
        assert main(["apply", str(saved), "--inventory", inventory, "--restart-services", *logs]) == 0
        assert "restarted MSExchangeIS on EX01" in capsys.readouterr().out
        assert lab.state.snapshot() != original
        assert len(list(backups.glob("*.json"))) == 1

        # Restarted, so in effect; events logged before the fix do not keep the gate red: clean.
        assert main(["plan", "--inventory", inventory]) == 0
        assert "Result: compliant (exit 0)" in capsys.readouterr().out

        # The saved plan was computed from values that are gone now.
        assert main(["apply", str(saved), "--inventory", inventory, "--audit-log", str(audit)]) == 1
        assert "plan is stale" in capsys.readouterr().err

        [backup] = backups.glob("*.json")
        assert main(["rollback", str(backup), "--inventory", inventory, "--auto-approve", *logs]) == 0
        assert lab.state.snapshot() == original
        mechanisms = set(lab.logons)
    assert mechanisms == ({"kerberos"} if lab_transport.kerberos else {"ntlm"})
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert {line["result"] for line in lines} >= {"what-if", "applied"}
    assert PASSWORD not in audit.read_text()
