"""The inventory file that points uccx-compliance at a running lab (docs/lab.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import yaml

from compliance.lab.account import LAB_USER
from compliance.lab.properties import prop
from compliance.lab.state import MAILBOX_FILE, LabState

PASSWORD_ENV = "UCCX_LAB_PASSWORD"


class RunningLab(Protocol):
    """What the inventory needs of a running lab; ``compliance.lab.server.Lab`` is one."""

    scenario: str
    state: LabState

    @property
    def exchange_endpoint(self) -> str: ...

    @property
    def host_endpoints(self) -> dict[str, str]: ...

    @property
    def ca_file(self) -> Path | None: ...


def inventory_document(lab: RunningLab, baseline: str) -> dict[str, Any]:
    mailboxes = lab.state.of(MAILBOX_FILE)
    uccx_mailbox = str(prop(mailboxes[0], "Alias") or mailboxes[0].Name) if mailboxes else "uccx"
    hosts = lab.host_endpoints
    return {
        "apiVersion": "uccx-compliance/v1",
        "kind": "Inventory",
        "targets": [
            {
                "name": f"lab-{lab.scenario}",
                "exchange_endpoint": lab.exchange_endpoint,
                "auth": "ntlm",
                "username": LAB_USER,
                "password_env": PASSWORD_ENV,
                **({"ca_file": str(lab.ca_file)} if lab.ca_file is not None else {}),
                "baseline": baseline,
                "vars": {"uccx_mailbox": uccx_mailbox},
                "servers": [
                    {"name": server.name, "roles": list(server.roles), "host_endpoint": hosts[server.name]}
                    for server in lab.state.servers
                ],
            }
        ],
    }


def write_inventory(lab: RunningLab, path: Path, baseline: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(inventory_document(lab, baseline), sort_keys=False, default_flow_style=None)
    path.write_text(text, encoding="utf-8")
    return path
