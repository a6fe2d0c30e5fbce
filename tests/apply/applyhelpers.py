"""Helpers for apply tests: a lab workspace (inventory, plan, CLI in-process), out-of-band changes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compliance.apply.saved_plan import write_saved_plan
from compliance.cli import main
from compliance.lab import Lab
from compliance.pipeline import plan_inventory

PASSWORD = "apply-test-password"
BASELINE = "uccx-exchange2010-sp1"


@dataclass
class Workspace:
    lab: Lab
    root: Path
    inventory: Path

    @property
    def plan_path(self) -> Path:
        return self.root / "plan.json"

    @property
    def backups(self) -> Path:
        return self.root / "backups"

    @property
    def audit(self) -> Path:
        return self.root / "audit.log"

    def save_plan(self) -> Path:
        write_saved_plan(self.plan_path, plan_inventory(self.inventory, {}), self.inventory, {})
        return self.plan_path

    def cli(self, *argv: str) -> int:
        """Run apply/rollback in-process with this workspace's backup dir and audit log, naming its
        inventory as an admin must (unless the test names one itself)."""
        inventory = [] if "--inventory" in argv else ["--inventory", str(self.inventory)]
        return main([*argv, *inventory, "--backup-dir", str(self.backups), "--audit-log", str(self.audit)])

    def audit_lines(self) -> list[dict[str, Any]]:
        import json

        if not self.audit.exists():
            return []
        return [json.loads(line) for line in self.audit.read_text(encoding="utf-8").splitlines()]


def run_cmdlet(lab: Lab, cmdlet: str, **parameters: Any) -> None:
    """Change the lab out of band, through pypsrp, as another admin would."""
    from pypsrp.powershell import PowerShell, RunspacePool
    from pypsrp.wsman import WSMan

    from compliance.lab import LAB_USER

    secure = lab.exchange_endpoint.startswith("https://")
    # pypsrp passes this to requests' ``verify``, which takes a CA bundle's path too.
    verify: Any = str(lab.ca_file) if secure and lab.ca_file else True
    wsman = WSMan(
        "127.0.0.1",
        port=lab.port,
        path="PowerShell/",
        ssl=secure,
        cert_validation=verify,
        auth="ntlm",
        username=LAB_USER,
        password=PASSWORD,
        encryption="auto",
    )
    with RunspacePool(wsman, configuration_name="Microsoft.Exchange") as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet(cmdlet)
        for name, value in parameters.items():
            ps.add_parameter(name, value)
        ps.invoke()
        assert not ps.streams.error, [str(e) for e in ps.streams.error]
