"""Several targets in one inventory are audited one after another; the worst decides the exit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from compliance.cli import main
from compliance.lab.server import Lab

PASSWORD = "two-labs-password"


def test_two_targets_each_get_their_own_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("UCCX_LAB_PASSWORD", PASSWORD)
    with (
        Lab(scenario="exchange2010-sp3-compliant", port=0, password=PASSWORD) as clean,
        Lab(scenario="exchange2010-sp3-defaults", port=0, password=PASSWORD) as drifted,
    ):
        targets = []
        for lab in (clean, drifted):
            written = yaml.safe_load(lab.write_inventory(tmp_path / f"{lab.scenario}.yaml").read_text())
            targets += written["targets"]
        inventory = tmp_path / "inventory.yaml"
        inventory.write_text(
            yaml.safe_dump({"apiVersion": "uccx-compliance/v1", "kind": "Inventory", "targets": targets}),
            encoding="utf-8",
        )
        code = main(["plan", "--inventory", str(inventory), "--format", "json"])
        report = json.loads(capsys.readouterr().out)
        assert code == 2
        by_name = {t["target"]: t for t in report["targets"]}
        assert by_name["lab-exchange2010-sp3-compliant"]["exit_code"] == 0
        assert by_name["lab-exchange2010-sp3-defaults"]["exit_code"] == 2
        assert {c["target"] for c in report["changes"]} == {"lab-exchange2010-sp3-defaults"}

        assert main(["plan", "--inventory", str(inventory), "--target", "lab-exchange2010-sp3-compliant"]) == 0
        assert "Result: compliant (exit 0)" in capsys.readouterr().out
