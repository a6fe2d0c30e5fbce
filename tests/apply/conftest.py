"""Fixtures for apply tests: a running lab and a workspace (inventory, backups, audit log) beside it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from compliance.apply.state import STATE_DIR_ENV
from compliance.lab import Lab
from compliance.lab.inventory import PASSWORD_ENV
from tests.apply.applyhelpers import BASELINE, PASSWORD, Workspace


@pytest.fixture
def lab() -> Iterator[Lab]:
    with Lab(scenario="exchange2010-sp3-defaults", port=0, password=PASSWORD) as running:
        yield running


@pytest.fixture
def workspace(lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    # apply writes its change times beside the audit log; plan reads them from here: the same place.
    monkeypatch.setenv(STATE_DIR_ENV, str(tmp_path / "state"))
    inventory = lab.write_inventory(tmp_path / "inventory.yaml", baseline=BASELINE)
    return Workspace(lab, tmp_path, inventory)
