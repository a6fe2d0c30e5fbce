"""Shared pieces for the remoting tests: a target built from an inventory written on the fly."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from compliance.inventory import Target, load_inventory

sys.path.insert(0, str(Path(__file__).parent))  # tests/remoting/wire.py

INVENTORY = """\
apiVersion: uccx-compliance/v1
kind: Inventory
targets:
  - name: t
    exchange_endpoint: {endpoint}
    auth: {auth}
    username: uccx-audit@lab.local
    password_env: UCCX_TEST_PASSWORD
    baseline: site.yaml
    timeouts: {{connection: 2, read: 4, operation: 2}}
    servers:
      - name: EX01
        roles: [Mailbox, ClientAccess, HubTransport]
        host_endpoint: {host}
"""


@pytest.fixture
def make_target(tmp_path: Path):  # type: ignore[no-untyped-def]
    def make(endpoint: str, host: str, auth: str = "negotiate") -> Target:
        (tmp_path / "site.yaml").write_text("# baseline\n", encoding="utf-8")
        path = tmp_path / "inventory.yaml"
        path.write_text(INVENTORY.format(endpoint=endpoint, host=host, auth=auth), encoding="utf-8")
        return load_inventory(path).targets[0]

    return make
