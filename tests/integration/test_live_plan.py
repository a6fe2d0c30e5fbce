"""The full live audit through pypsrp's real client against the lab equals the offline plan.

The lab serves the example facts folders over WS-Management/PSRP, once with NTLM and message
encryption over HTTP, once with Kerberos (a real KDC, a keytab) over HTTPS; the live plan and the
offline plan of the same scenario must say the same thing, so the two transports' plans are equal.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compliance import pipeline, resources
from compliance.baseline import load_baseline
from compliance.cli import main
from compliance.facts import offline
from compliance.inventory import load_inventory
from compliance.lab.server import Lab
from compliance.reporters.json import plan_dict
from tests.transports import LabTransport

PASSWORD = "lab-Pa55-integration"
SCENARIOS = {"exchange2010-sp3-defaults": 2, "exchange2010-sp3-compliant": 0}
BASELINE = resources.shipped_baseline("uccx-exchange2010-sp1")


def comparable(plan_json: dict[str, object]) -> dict[str, object]:
    """Everything but where the facts came from."""
    drop = {"source", "target"}
    out = {k: v for k, v in plan_json.items() if k not in drop}
    for key in ("changes", "findings", "unreadable", "compliant"):
        out[key] = [{k: v for k, v in item.items() if k != "target"} for item in plan_json[key]]  # type: ignore[attr-defined]
    return out


@pytest.mark.parametrize(("scenario", "exit_code"), SCENARIOS.items())
def test_live_plan_equals_offline_plan(
    scenario: str, exit_code: int, lab_transport: LabTransport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = resources.scenario_dir(scenario)
    collected_at = offline.collected_at(folder)
    assert collected_at is not None
    offline_plan = pipeline.plan(load_baseline(BASELINE), pipeline.read(pipeline.FactsFolder(folder)))
    monkeypatch.setenv("UCCX_LAB_PASSWORD", PASSWORD)
    with Lab(scenario=scenario, port=0, password=PASSWORD, **lab_transport.lab_options) as lab:
        inventory = load_inventory(lab.write_inventory(tmp_path / "inventory.yaml", **lab_transport.inventory_fields))
        [target] = inventory.targets
        loaded = load_baseline(target.baseline_path, target.vars)
        source = pipeline.live(target, loaded, password=target.password(), now=collected_at)
        live_plan = pipeline.plan(loaded, pipeline.read(source), target=target.name)
        endpoint = lab.exchange_endpoint
        logons = dict(lab.logons)
    assert logons == ({"kerberos": 2} if lab_transport.kerberos else {"ntlm": 2})  # Exchange + host endpoint
    assert live_plan.source == endpoint
    assert int(live_plan.exit_code) == exit_code == int(offline_plan.exit_code)
    assert comparable(plan_dict(live_plan)) == comparable(plan_dict(offline_plan))


def test_plan_inventory_cli_reports_targets_in_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("UCCX_LAB_PASSWORD", PASSWORD)
    with Lab(scenario="exchange2010-sp3-compliant", port=0, password=PASSWORD) as lab:
        inventory = lab.write_inventory(tmp_path / "inventory.yaml")
        code = main(["plan", "--inventory", str(inventory), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [t["target"] for t in report["targets"]] == ["lab-exchange2010-sp3-compliant"]
    assert report["summary"]["drift"] == 0 and report["summary"]["unreadable"] == 0
    assert report["summary"]["compliant"] > 20


def test_unreachable_target_is_incomplete_never_compliant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("UCCX_LAB_PASSWORD", PASSWORD)
    with Lab(scenario="exchange2010-sp3-compliant", port=0, password=PASSWORD) as lab:
        inventory = lab.write_inventory(tmp_path / "inventory.yaml")
    # The lab has stopped: its port now refuses connections.
    code = main(["plan", "--inventory", str(inventory), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 3
    assert report["summary"]["compliant"] == 0 and report["summary"]["drift"] == 0
    assert report["unreadable"] and all("refused" in u["reason"] for u in report["unreadable"])


def test_demo_audits_the_lab_live(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo"])
    captured = capsys.readouterr()
    assert code == 2
    assert "http://127.0.0.1:" in captured.err and "/PowerShell/" in captured.err
    assert "~ MaxConnectionsPerUser: 16 -> at least 2400" in captured.out
    assert "Result: drift (exit 2)" in captured.out
