"""A coexistence organization (a 2010 and a 2016 server, mid-migration) under --baseline auto: each
server is judged by its version's shipped baseline, the organization's objects once, by the newest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compliance import output, pipeline
from compliance.baseline import load_baseline
from compliance.cli import main
from compliance.errors import InputError
from tests.factfolders import coexistence_folder, version_folder

ORGANIZATION_CHECKS = ("UCCX-THR-", "UCCX-MBX-", "UCCX-AD-")


def test_each_server_gets_its_versions_baseline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = coexistence_folder(tmp_path, "exchange2010-sp3-defaults", "EX02", (15, 1, 2507, 6))
    code = main(["plan", "--facts", str(folder), "--baseline", "auto", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 3  # the folder has no IMAP settings of EX02: unreadable, never compliant
    parts = {t["baseline"]["name"]: t for t in report["targets"]}
    assert list(parts) == ["uccx-exchange2010-sp1", "uccx-exchange2013"]  # oldest first
    old, new = parts["uccx-exchange2010-sp1"], parts["uccx-exchange2013"]
    # Server settings stay with their server's baseline.
    assert {c["server"] for c in old["changes"] if c["server"]} == {"EX01"}
    assert {c["server"] for c in new["changes"] if c["server"]} == {"EX02"}
    assert {c["resource"] for c in old["changes"] if c["kind"] == "imap"} == {"IMAP settings on EX01"}
    assert {u["resource"] for u in new["unreadable"]} == {"IMAP settings on EX02"}
    assert old["unreadable"] == []
    # The organization's objects are judged once, by the newest version (2013+ names and Unlimited).
    judged = [r["check"] for key in ("changes", "findings", "unreadable", "compliant") for r in old[key]]
    assert not [c for c in judged if c.startswith(ORGANIZATION_CHECKS)]
    new_changes = {c["check"]: c for c in new["changes"]}
    assert new_changes["UCCX-MBX-001"]["resource"] == "mailbox uccx"
    assert any(c.startswith("UCCX-THR-") for c in new_changes)
    assert all("judged by uccx-exchange2013" in " ".join(p["notes"]) for p in parts.values())


def test_a_coexistence_plan_is_not_saved_for_apply(tmp_path: Path) -> None:
    # apply applies one baseline per target, so two plans of one target are refused before writing.
    folder = coexistence_folder(tmp_path, "exchange2010-sp3-compliant", "EX02", (15, 2, 2562, 17))
    facts = pipeline.read(pipeline.FactsFolder(folder))
    plans = pipeline.plan_by_version(facts, lambda path: load_baseline(path, {}), target="coexisting")
    assert [p.baseline for p in plans] == ["uccx-exchange2010-sp1", "uccx-exchange2013"]
    with pytest.raises(InputError, match=r"^target coexisting: a coexistence plan .* cannot be saved for apply"):
        output.save_plan(plans, tmp_path / "plan.json", tmp_path / "inventory.yaml")
    assert not (tmp_path / "plan.json").exists()


def test_auto_on_one_version_is_that_versions_baseline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = "examples/facts/exchange2010-sp3-compliant"
    assert main(["plan", "--facts", folder, "--baseline", "auto", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["baseline"]["name"] == "uccx-exchange2010-sp1" and report["notes"] == []


def test_auto_refuses_a_version_no_shipped_baseline_covers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = version_folder(tmp_path, "exchange2010-sp3-compliant", (8, 3, 83, 6))  # Exchange 2007
    assert main(["plan", "--facts", str(folder), "--baseline", "auto"]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line == (
        "uccx-compliance: error: EX01 runs Exchange 8.3.83.6 (Exchange 8.3); no shipped baseline applies to it; "
        "give --baseline FILE"
    )
