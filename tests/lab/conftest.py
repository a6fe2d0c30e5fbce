"""Helpers for the lab tests: every test starts its own Lab on port 0 and talks to it with pypsrp."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pypsrp.host import PSHost, PSHostUserInterface
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from compliance.lab import LAB_USER, Lab
from compliance.lab.server import LabServer

PASSWORD = "test-lab-password"


@pytest.fixture
def lab() -> Iterator[Lab]:
    with Lab(scenario="exchange2010-sp3-defaults", port=0, password=PASSWORD) as running:
        yield running


def wsman(lab: LabServer, path: str = "PowerShell/", password: str = PASSWORD, **kwargs: Any) -> WSMan:
    return WSMan(
        "127.0.0.1",
        port=lab.port,
        path=path,
        ssl=False,
        auth="ntlm",
        username=LAB_USER,
        password=password,
        encryption="auto",
        **kwargs,
    )


def host() -> PSHost:
    return PSHost(None, None, False, "uccx-compliance-tests", None, PSHostUserInterface(), "1.0")


def run(pool: RunspacePool, cmdlet: str, **parameters: Any) -> PowerShell:
    """Invoke one cmdlet with parameters (``WhatIf=None`` is a bare switch) and return the pipeline."""
    ps = PowerShell(pool)
    ps.add_cmdlet(cmdlet)
    for name, value in parameters.items():
        ps.add_parameter(name, value)
    ps.invoke()
    return ps


def error_messages(ps: PowerShell) -> list[str]:
    # pypsrp's ErrorRecord: str() is the exception message, .message the category line.
    return [str(record) for record in ps.streams.error]
