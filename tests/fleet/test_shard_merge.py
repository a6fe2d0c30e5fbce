"""--shard K/N splits an inventory by a stable hash; merge joins the shards' JSON reports into the
unsharded run's report, byte for byte, in every format; merge's input is validated like any."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.lab import Lab
from compliance.lab.inventory import PASSWORD_ENV
from compliance.pipeline import shard_of

pytestmark = pytest.mark.server

PASSWORD = "shard-lab-password"
SCENARIOS = ["exchange2010-sp3-defaults", "exchange2010-sp3-compliant", "exchange2019-defaults"] * 2


@pytest.fixture
def inventory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    labs = [Lab(scenario=s, password=PASSWORD).start() for s in SCENARIOS]
    try:
        targets = []
        for number, lab in enumerate(labs, start=1):
            baseline = "uccx-exchange2013" if "2019" in lab.scenario else "uccx-exchange2010-sp1"
            [target] = yaml.safe_load(lab.write_inventory(tmp_path / f"{number}.yaml", baseline).read_text())["targets"]
            targets.append({**target, "name": f"customer-{number:02d}"})
        path = tmp_path / "inventory.yaml"
        path.write_text(yaml.safe_dump({"apiVersion": "uccx-compliance/v1", "kind": "Inventory", "targets": targets}))
        yield path
    finally:
        for lab in labs:
            lab.stop()


def test_shards_partition_the_inventory_and_merge_equals_the_unsharded_run(
    inventory: Path, tmp_path: Path, cli: Any
) -> None:
    names = [t["name"] for t in yaml.safe_load(inventory.read_text())["targets"]]
    shards = []
    for k in (1, 2, 3):
        result = cli("plan", "--inventory", inventory, "--format", "json", "--shard", f"{k}/3", "--quiet")
        report = json.loads(result.out)
        shards.append([t["target"] for t in report["targets"]])
        (tmp_path / f"shard-{k}.json").write_text(result.out)
    assert sorted(n for shard in shards for n in shard) == sorted(names)  # each target exactly once
    assert all(shard_of(n, 3) == k for k, shard in enumerate(shards, start=1) for n in shard)
    parts = [tmp_path / f"shard-{k}.json" for k in (3, 1, 2)]  # any order of files
    for fmt in ("json", "text", "junit", "markdown"):
        whole = cli("plan", "--inventory", inventory, "--format", fmt, "--quiet")
        merged = cli("merge", *parts, "--inventory", inventory, "--format", fmt)
        assert merged.code == whole.code, fmt
        assert merged.out == whole.out, fmt


def test_overlapping_shards_and_saved_plans_are_refused(inventory: Path, tmp_path: Path, cli: Any) -> None:
    report = tmp_path / "all.json"
    report.write_text(cli("plan", "--inventory", inventory, "--format", "json", "--quiet").out)
    overlap = cli("merge", report, report)
    assert overlap.code == 1 and "shards must not overlap" in overlap.err
    saved = tmp_path / "saved.json"
    cli("plan", "--inventory", inventory, "--format", "json", "--out", saved, "--quiet")
    refused = cli("merge", saved)
    assert refused.code == 1 and "a saved plan (for apply), not a report" in refused.err


def test_an_edited_report_is_refused_at_its_line(inventory: Path, tmp_path: Path, cli: Any) -> None:
    report = json.loads(cli("plan", "--inventory", inventory, "--format", "json", "--quiet").out)
    report["targets"][1]["changes"] = [{**report["targets"][0]["changes"][0], "action": "delete-everything"}]
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(report, indent=2))
    result = cli("merge", path)
    assert result.code == 1
    line = result.err.strip().splitlines()[-1]
    assert f"{path}:" in line and "targets[1].changes[0].action: " in line
    position = line.split(f"{path}:", 1)[1].split(":")[:2]
    row = path.read_text().splitlines()[int(position[0]) - 1]
    assert '"action": "delete-everything"' in row  # the line named is the one edited


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=40), st.integers(min_value=1, max_value=64))
def test_shard_of_is_in_range_and_ignores_case(name: str, count: int) -> None:
    shard = shard_of(name, count)
    assert 1 <= shard <= count
    assert shard == shard_of(name.casefold(), count)


@settings(max_examples=80, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_as_a_report_are_one_line_exit_1(data: bytes) -> None:
    import tempfile

    from compliance.cli import main

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.json"
        path.write_bytes(data)
        assert main(["merge", str(path)]) == 1
