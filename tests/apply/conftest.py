"""Fixtures for apply tests: a running lab and a workspace (inventory, backups, audit log) beside it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from compliance.apply.state import STATE_DIR_ENV
from compliance.lab import Lab
from compliance.lab.inventory import PASSWORD_ENV
from tests.apply.applyhelpers import BASELINE, PASSWORD, Workspace
from tests.transports import LabTransport


@pytest.fixture
def lab(lab_transport: LabTransport) -> Iterator[Lab]:
    """The lab, reached with NTLM over HTTP and, in a second run of each test, Kerberos over HTTPS."""
    with Lab(scenario="exchange2010-sp3-defaults", port=0, password=PASSWORD, **lab_transport.lab_options) as running:
        yield running
        if lab_transport.kerberos and running.requests:
            # Not an NTLM fallback: the tool's own sessions logged on with Kerberos (run_cmdlet's
            # out-of-band changes use NTLM, as another admin's session would).
            assert running.logons["kerberos"] > 0, running.logons


@pytest.fixture
def workspace(lab: Lab, lab_transport: LabTransport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    # apply writes its change times beside the audit log; plan reads them from here: the same place.
    monkeypatch.setenv(STATE_DIR_ENV, str(tmp_path / "state"))
    inventory = lab.write_inventory(tmp_path / "inventory.yaml", baseline=BASELINE, **lab_transport.inventory_fields)
    return Workspace(lab, tmp_path, inventory)
