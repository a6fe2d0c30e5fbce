"""Exchange 2013+ names live: the exchange2019-defaults scenario through plan, apply with restarts,
plan (clean) and rollback (drift again), against the lab over pypsrp (issue 11)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compliance.cli import main
from compliance.lab.server import Lab

PASSWORD = "e19-lab-password"
SCENARIO = "exchange2019-defaults"


def _plan(inventory: str, out: Path) -> tuple[int, dict[str, object]]:
    code = main(["plan", "--inventory", inventory, "--format", "json", "--out", str(out)])
    return code, json.loads(out.read_text())


def test_2019_plan_apply_restart_rollback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("UCCX_LAB_PASSWORD", PASSWORD)
    saved, backups, audit = tmp_path / "plan.json", tmp_path / "backups", tmp_path / "audit.log"
    logs = ["--backup-dir", str(backups), "--audit-log", str(audit), "--auto-approve"]
    with Lab(scenario=SCENARIO, port=0, password=PASSWORD) as lab:
        inventory = str(lab.write_inventory(tmp_path / "inventory.yaml", baseline="uccx-exchange2013"))
        original = lab.state.snapshot()
        started = dict(lab.state.service_started)

        code, _ = _plan(inventory, saved)
        assert code == 2
        assert main(["plan", "--inventory", inventory]) == 2
        text = capsys.readouterr().out
        assert "+ ImapMaxConcurrency: Unlimited" in text  # 2013+ names, not 2010's IMAPMaxConcurrency
        assert "IMAPMaxConcurrency" not in text
        assert "EX01\\Default Frontend EX01: selected because TransportRole FrontendTransport" in text
        assert "left out EX01\\Default EX01" in text
        assert "MSExchangeIMAP4BE on EX01" in text

        assert main(["apply", str(saved), "--inventory", inventory, "--restart-services", *logs]) == 0
        out = capsys.readouterr().out
        for service in ("MSExchangeIS", "MSExchangeIMAP4BE"):
            assert f"restarted {service} on EX01" in out
        assert lab.state.snapshot() != original
        moved = {key for key, when in lab.state.service_started.items() if started.get(key) != when}
        assert {service.lower() for _server, service in moved} >= {"msexchangeis", "msexchangeimap4be"}
        (backup,) = backups.glob("*.json")

        code, after = _plan(inventory, tmp_path / "after.json")
        assert code == 0, after
        policy = [p for p in lab.state.of("GetThrottlingPolicy") if str(p.Name) == "UCCX"]
        assert len(policy) == 1
        assert str(policy[0].ImapMaxConcurrency) == "Unlimited"
        assert str(policy[0].ThrottlingPolicyScope) == "Regular"

        assert main(["rollback", str(backup), "--inventory", inventory, *logs]) == 0
        capsys.readouterr()
        assert not [p for p in lab.state.of("GetThrottlingPolicy") if str(p.Name) == "UCCX"]
        code, _ = _plan(inventory, tmp_path / "rolled-back.json")
        assert code == 2
