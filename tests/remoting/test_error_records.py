"""Error records from a real PSRP exchange with the lab become one line with the right hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from compliance.lab import cmdlets, organization
from compliance.lab.server import Lab
from compliance.remoting import errors
from compliance.remoting.collect import collect
from tests.remoting.test_lab_collection import NOW, lab_target

PASSWORD = "records-lab-password"


def test_a_cmdlet_the_endpoint_lacks_is_named_with_the_rbac_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An account without the RBAC role (or an older Exchange) has no Get-ImapSettings at all.
    without = {k: v for k, v in cmdlets.EXCHANGE_CMDLETS.items() if k != "get-imapsettings"}
    monkeypatch.setattr(organization, "EXCHANGE_CMDLETS", without)  # what each endpoint offers
    with Lab(scenario="exchange2010-sp3-defaults", port=0, password=PASSWORD) as lab:
        target, request = lab_target(lab, tmp_path)
        raw = collect(target, request, password=PASSWORD, now=NOW)
    error = raw["GetImapSettings"].error
    assert error is not None and error.startswith("Get-ImapSettings -Server EX01: cmdlet not found")
    assert errors.HINT_CMDLET in error and "is not recognized" in error
    others = {stem for stem, reading in raw.items() if not reading.ok}
    assert others == {"GetImapSettings"}


def test_a_script_is_refused_by_the_nolanguage_endpoint_in_one_line() -> None:
    from pypsrp.powershell import PowerShell, RunspacePool
    from pypsrp.wsman import WSMan

    with Lab(scenario="exchange2010-sp3-defaults", port=0, password=PASSWORD) as lab:
        wsman = WSMan(
            "127.0.0.1",
            port=lab.port,
            path="PowerShell/",
            ssl=False,
            auth="ntlm",
            username="uccx-audit@lab.local",
            password=PASSWORD,
            no_proxy=True,
        )
        with RunspacePool(wsman, configuration_name="Microsoft.Exchange") as pool:
            ps = PowerShell(pool)
            ps.add_script("Get-Mailbox | Set-Mailbox -ThrottlingPolicy $null")
            ps.invoke()
            [record] = ps.streams.error
    line = errors.describe_record(record, "script")
    assert line.startswith("script: refused by the NoLanguage endpoint")
    assert "no-language mode" in line and "\n" not in line
