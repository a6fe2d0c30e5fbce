"""The inventory file that points uccx-compliance at a running lab (docs/lab.md)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import yaml

from compliance.lab.account import LAB_USER
from compliance.lab.properties import prop
from compliance.lab.state import MAILBOX_FILE, LabState

PASSWORD_ENV = "UCCX_LAB_PASSWORD"


class RunningLab(Protocol):
    """What the inventory needs of a running lab; ``compliance.lab.server.Lab`` is one."""

    @property
    def scenario(self) -> str: ...

    @property
    def state(self) -> LabState: ...

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
    return _document([target_fields(lab, baseline, **target)])


def target_fields(lab: RunningLab, baseline: str, **target: Any) -> dict[str, Any]:
    """One inventory target that reaches ``lab``; a field given as None is left out."""
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
    return {name: value for name, value in fields.items() if value is not None}


def _document(targets: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "uccx-compliance/v1", "kind": "Inventory", "targets": targets}


def write_inventory(lab: RunningLab, path: Path, baseline: str, **target: Any) -> Path:
    return _write(path, inventory_document(lab, baseline, **target))


class NamedLab(RunningLab, Protocol):
    """An organization of a fleet: a running lab with a name (``compliance.lab.organization``)."""

    @property
    def name(self) -> str: ...


def write_fleet_inventory(
    orgs: Sequence[NamedLab], path: Path, baseline: str, password_env: str | Callable[[str], str], **target: Any
) -> Path:
    """One target per organization, named as it; ``password_env`` is one variable, or one per name."""
    targets = [
        target_fields(
            org,
            baseline,
            name=org.name,
            password_env=password_env(org.name) if callable(password_env) else password_env,
            **target,
        )
        for org in orgs
    ]
    return _write(path, _document(targets))


def _write(path: Path, document: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # The C dumper when libyaml is there: a thousand targets take a second with the Python one.
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text = yaml.dump(document, Dumper=dumper, sort_keys=False, default_flow_style=None)
    path.write_text(text, encoding="utf-8")
    return path
