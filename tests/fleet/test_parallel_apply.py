"""apply --parallel across targets: each target keeps its own backup and verification, a failure
stops the targets not yet begun and never touches another's rollback, lines stay per target."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from compliance.apply.saved_plan import write_saved_plan
from compliance.lab import Lab
from compliance.lab.faults import CmdletFailure
from compliance.lab.inventory import PASSWORD_ENV
from compliance.pipeline import plan_inventory

pytestmark = pytest.mark.server

PASSWORD = "parallel-apply-password"


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[list[Lab], Path]]:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    labs = [Lab(password=PASSWORD).start() for _ in range(3)]
    try:
        targets = []
        for number, lab in enumerate(labs, start=1):
            [target] = yaml.safe_load(lab.write_inventory(tmp_path / f"{number}.yaml").read_text())["targets"]
            targets.append({**target, "name": f"org-{number}"})
        inventory = tmp_path / "inventory.yaml"
        inventory.write_text(
            yaml.safe_dump({"apiVersion": "uccx-compliance/v1", "kind": "Inventory", "targets": targets})
        )
        yield labs, inventory
    finally:
        for lab in labs:
            lab.stop()


def apply(cli: Any, tmp_path: Path, inventory: Path, *extra: str) -> Any:
    plan = tmp_path / "plan.json"
    write_saved_plan(plan, plan_inventory(inventory, {}), inventory, {})
    logs = ["--backup-dir", str(tmp_path / "backups"), "--audit-log", str(tmp_path / "audit.log")]
    return cli("apply", plan, "--inventory", inventory, "--format", "json", *logs, *extra)


def test_parallel_apply_changes_every_target_as_serial_does(
    fleet: tuple[list[Lab], Path], tmp_path: Path, cli: Any
) -> None:
    labs, inventory = fleet
    result = apply(cli, tmp_path, inventory, "--parallel", "3")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert [t["target"] for t in report["targets"]] == ["org-1", "org-2", "org-3"]
    assert len(list((tmp_path / "backups").glob("*.json"))) == 3
    snapshots = [lab.state.snapshot() for lab in labs]
    assert snapshots[0] == snapshots[1] == snapshots[2]
    # Each target's progress lines stay together, in the plan's order.
    owners = [line.split(":", 1)[0] for line in result.err.splitlines() if line.startswith("target org-")]
    assert owners == sorted(owners)


def test_a_failing_target_keeps_its_backup_and_the_others_rollback_safety(
    fleet: tuple[list[Lab], Path], tmp_path: Path, cli: Any
) -> None:
    labs, inventory = fleet
    originals = [lab.state.snapshot() for lab in labs]
    labs[1].faults.failing_cmdlets = {"Set-ReceiveConnector": CmdletFailure("injected fault", at_call=1)}
    result = apply(cli, tmp_path, inventory, "--parallel", "3")
    assert result.code == 1
    assert "org-2" in result.err.strip().splitlines()[-1]  # the one line names the target that failed
    backups = sorted((tmp_path / "backups").glob("*.json"))
    assert len(backups) == 3  # all three began at once; each has its own backup
    labs[1].faults.failing_cmdlets = {}
    for backup in backups:
        assert (
            cli(
                "rollback",
                backup,
                "--inventory",
                inventory,
                "--auto-approve",
                "--backup-dir",
                str(tmp_path / "b2"),
                "--audit-log",
                str(tmp_path / "audit.log"),
            ).code
            == 0
        )
    assert [lab.state.snapshot() for lab in labs] == originals
