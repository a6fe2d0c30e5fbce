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


def inventory_document(lab: RunningLab, baseline: str, **target: Any) -> dict[str, Any]:
    """The inventory of the running lab; ``target`` replaces target fields (``auth``, ``keytab``...).

    A field given as None is left out (``password_env=None`` for a keytab-only target).
    """
    mailboxes = lab.state.of(MAILBOX_FILE)
    uccx_mailbox = str(prop(mailboxes[0], "Alias") or mailboxes[0].Name) if mailboxes else "uccx"
    hosts = lab.host_endpoints
    fields: dict[str, Any] = {
        "name": f"lab-{lab.scenario}",
        "exchange_endpoint": lab.exchange_endpoint,
        "auth": "ntlm",
        "username": LAB_USER,
        "password_env": PASSWORD_ENV,
        "ca_file": str(lab.ca_file) if lab.ca_file is not None else None,
        "baseline": baseline,
        "vars": {"uccx_mailbox": uccx_mailbox},
        "servers": [
            {"name": server.name, "roles": list(server.roles), "host_endpoint": hosts[server.name]}
            for server in lab.state.servers
        ],
    }
    fields.update(target)
    return {
        "apiVersion": "uccx-compliance/v1",
        "kind": "Inventory",
        "targets": [{name: value for name, value in fields.items() if value is not None}],
    }


def write_inventory(lab: RunningLab, path: Path, baseline: str, **target: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = inventory_document(lab, baseline, **target)
    text = yaml.safe_dump(document, sort_keys=False, default_flow_style=None)
    path.write_text(text, encoding="utf-8")
    return path
