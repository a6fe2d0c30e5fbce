"""Several targets in one inventory are audited one after another; the worst decides the exit, and
one target's failure (another Exchange version, an unreachable endpoint) stays that target's."""

from __future__ import annotations

import json
import socket
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from compliance.apply.saved_plan import read_saved_plan
from compliance.cli import main
from compliance.lab.server import Lab
from tests.factfolders import version_folder

PASSWORD = "two-labs-password"
WRONG = "EX01 runs Exchange 15.2.1118.7 (2019); baseline uccx-exchange2010-sp1 applies to >=14.1,<15"


def _inventory(tmp_path: Path, labs: list[Lab], extra: tuple[dict[str, Any], ...] = ()) -> Path:
    targets = []
    for lab in labs:
        written = yaml.safe_load(lab.write_inventory(tmp_path / f"{lab.scenario}.yaml").read_text())
        targets += written["targets"]
    inventory = tmp_path / "inventory.yaml"
    document = {"apiVersion": "uccx-compliance/v1", "kind": "Inventory", "targets": [*targets, *extra]}
    inventory.write_text(yaml.safe_dump(document), encoding="utf-8")
    return inventory


def test_two_targets_each_get_their_own_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("UCCX_LAB_PASSWORD", PASSWORD)
    with (
        Lab(scenario="exchange2010-sp3-compliant", port=0, password=PASSWORD) as clean,
        Lab(scenario="exchange2010-sp3-defaults", port=0, password=PASSWORD) as drifted,
    ):
        inventory = _inventory(tmp_path, [clean, drifted])
        code = main(["plan", "--inventory", str(inventory), "--format", "json"])
        report = json.loads(capsys.readouterr().out)
        assert code == 2
        by_name = {t["target"]: t for t in report["targets"]}
        assert by_name["lab-exchange2010-sp3-compliant"]["exit_code"] == 0
        assert by_name["lab-exchange2010-sp3-defaults"]["exit_code"] == 2
        assert {c["target"] for c in report["changes"]} == {"lab-exchange2010-sp3-defaults"}

        assert main(["plan", "--inventory", str(inventory), "--target", "lab-exchange2010-sp3-compliant"]) == 0
        assert "Result: compliant (exit 0)" in capsys.readouterr().out


def test_one_target_of_another_version_is_that_targets_error_and_every_report_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("UCCX_LAB_PASSWORD", PASSWORD)
    wrong_folder = version_folder(tmp_path, "exchange2010-sp3-compliant", (15, 2, 1118, 7))
    with (
        Lab(scenario="exchange2010-sp3-compliant", port=0, password=PASSWORD) as clean,
        Lab(scenario=wrong_folder, port=0, password=PASSWORD) as wrong,
        Lab(scenario="exchange2010-sp3-defaults", port=0, password=PASSWORD) as drifted,
    ):
        inventory = _inventory(tmp_path, [clean, wrong, drifted])
        wrong_name = f"lab-{wrong.scenario}"
        out = {fmt: tmp_path / f"report.{fmt}" for fmt in ("text", "json", "junit", "markdown", "ps1")}
        for fmt, path in out.items():
            assert main(["plan", "--inventory", str(inventory), "--format", fmt, "--out", str(path)]) == 1, fmt
        err = capsys.readouterr().err
        assert f"not planned: target {wrong_name}: {WRONG}; use --baseline uccx-exchange2013" in err

    text = out["text"].read_text(encoding="utf-8")
    assert f"target {wrong_name}: NOT PLANNED" in text
    assert "target lab-exchange2010-sp3-compliant: baseline uccx-exchange2010-sp1" in text
    assert "target lab-exchange2010-sp3-defaults: baseline uccx-exchange2010-sp1" in text
    assert text.endswith("Result: error (exit 1)\n")

    saved = json.loads(out["json"].read_text(encoding="utf-8"))  # the saved plan (--format json --out)
    assert saved["exit_code"] == 1
    assert saved["not_planned"] == [wrong_name]
    assert [t["name"] for t in saved["targets"]] == ["lab-exchange2010-sp3-compliant", "lab-exchange2010-sp3-defaults"]
    [error] = [u for u in saved["unreadable"] if u["target"] == wrong_name]
    assert error["check"] == "not-planned" and WRONG in error["reason"]
    assert {c["target"] for c in saved["changes"]} == {"lab-exchange2010-sp3-defaults"}
    # apply reads it (checksum sealed again) and can reach only the two planned targets.
    plan = read_saved_plan(out["json"])
    assert [t.target.name for t in plan.targets] == ["lab-exchange2010-sp3-compliant", "lab-exchange2010-sp3-defaults"]

    suites = {s.get("name"): s for s in ET.fromstring(out["junit"].read_text(encoding="utf-8"))}
    [error_element] = suites[wrong_name].iter("error")
    assert suites[wrong_name].get("errors") == "1" and WRONG in (error_element.get("message") or "")
    assert int(suites["lab-exchange2010-sp3-defaults"].get("failures") or 0) > 0
    assert f"## {wrong_name}" in out["markdown"].read_text(encoding="utf-8")
    assert "**Not planned**" in out["markdown"].read_text(encoding="utf-8")
    script = out["ps1"].read_text(encoding="utf-8")
    assert f"# Could not be read, so not planned: not-planned target {wrong_name}: " in script
    assert "Set-ImapSettings" in script  # the drifted target's changes are still there


def _refused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again: connecting is refused


def test_an_unreachable_target_is_incomplete_and_the_others_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("UCCX_LAB_PASSWORD", PASSWORD)
    with Lab(scenario="exchange2010-sp3-compliant", port=0, password=PASSWORD) as clean:
        written = yaml.safe_load(clean.write_inventory(tmp_path / "one.yaml").read_text())["targets"][0]
        port = _refused_port()
        gone = {**written, "name": "gone", "exchange_endpoint": f"http://127.0.0.1:{port}/PowerShell/", "servers": []}
        gone["timeouts"] = {"connection": 2, "read": 5, "operation": 3}
        inventory = _inventory(tmp_path, [clean], (gone,))
        code = main(["plan", "--inventory", str(inventory), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 3
    by_name = {t["target"]: t for t in report["targets"]}
    assert by_name["lab-exchange2010-sp3-compliant"]["exit_code"] == 0
    gone_plan = by_name["gone"]
    # Planned, with every check unreadable for the one reason: the refused connection, on this target.
    assert gone_plan["exit_code"] == 3 and gone_plan["summary"]["compliant"] == 0
    assert gone_plan["unreadable"] and all(
        u["target"] == "gone" and f"connection refused by 127.0.0.1:{port}" in u["reason"]
        for u in gone_plan["unreadable"]
    )


def test_baseline_auto_live_picks_each_targets_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("UCCX_LAB_PASSWORD", PASSWORD)
    with Lab(scenario="exchange2010-sp3-compliant", port=0, password=PASSWORD) as clean:
        inventory = _inventory(tmp_path, [clean])
        code = main(["plan", "--inventory", str(inventory), "--baseline", "uccx-exchange2013", "--format", "json"])
        assert code == 1 and "use --baseline uccx-exchange2010-sp1" in capsys.readouterr().err
        code = main(["plan", "--inventory", str(inventory), "--baseline", "auto", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    [plan] = report["targets"]
    assert plan["baseline"]["name"] == "uccx-exchange2010-sp1" and plan["summary"]["unreadable"] == 0
