"""Changes through the lab: state really changes, keeps its .NET types, and -WhatIf changes nothing."""

from __future__ import annotations

import pytest
from pypsrp.powershell import RunspacePool

from compliance.lab import Lab
from tests.lab.conftest import error_messages, host, run, wsman

pytestmark = pytest.mark.server


def _imap(lab: Lab) -> dict[str, object]:
    props: dict[str, object] = lab.state.snapshot()["GetImapSettings"][0]["props"]
    return props


def test_set_imap_settings_changes_the_state_and_a_later_get_sees_it(lab: Lab) -> None:
    with RunspacePool(wsman(lab), configuration_name="Microsoft.Exchange", host=host()) as pool:
        changed = run(pool, "Set-ImapSettings", Server="EX01", MaxConnectionsPerUser=2400, MaxConnections="2400")
        after = run(pool, "Get-ImapSettings", Server="EX01").output[0]
    assert not changed.had_errors and changed.streams.error == []
    assert after.adapted_properties["MaxConnectionsPerUser"] == 2400
    assert after.adapted_properties["MaxConnections"] == 2400
    assert _imap(lab)["MaxConnections"] == {
        "kind": "PSInt",
        "types": ["System.Int32", "System.ValueType", "System.Object"],
        "to_string": None,
        "props": {},
        "extended": {},
        "value": 2400,
    }


def test_whatif_writes_the_what_if_line_to_the_host_ui_and_changes_nothing(lab: Lab) -> None:
    before = lab.state.snapshot()
    ui_host = host()
    with RunspacePool(wsman(lab), configuration_name="Microsoft.Exchange", host=ui_host) as pool:
        ps = run(pool, "Set-ImapSettings", Server="EX01", MaxConnectionsPerUser=2400, WhatIf=None)
    assert ui_host.ui is not None
    assert ui_host.ui.stdout == ['What if: Performing operation "Set-ImapSettings" on Target "EX01".\r\n']
    assert ps.output == [] and ps.streams.error == []
    assert lab.state.snapshot() == before


def test_receive_connector_limit_becomes_an_unlimited_object(lab: Lab) -> None:
    with RunspacePool(wsman(lab), configuration_name="Microsoft.Exchange", host=host()) as pool:
        run(
            pool,
            "Set-ReceiveConnector",
            Identity="EX01\\Default EX01",
            MessageRateLimit=250,
            MaxInboundConnectionPerSource="Unlimited",
            MaxInboundConnectionPercentagePerSource=5,
        )
        connector = run(pool, "Get-ReceiveConnector", Identity="EX01\\Default EX01").output[0]
    rate = connector.adapted_properties["MessageRateLimit"]
    assert (str(rate), rate.adapted_properties["IsUnlimited"], rate.adapted_properties["Value"]) == (
        "250",
        False,
        250,
    )
    assert rate.types[0].startswith("Microsoft.Exchange.Data.Unlimited`1")
    per_source = connector.adapted_properties["MaxInboundConnectionPerSource"]
    assert (str(per_source), per_source.adapted_properties["IsUnlimited"]) == ("Unlimited", True)
    assert connector.adapted_properties["MaxInboundConnectionPercentagePerSource"] == 5


def test_throttling_policy_lifecycle_keeps_uint32_and_nil(lab: Lab) -> None:
    with RunspacePool(wsman(lab), configuration_name="Microsoft.Exchange", host=host()) as pool:
        created = run(pool, "New-ThrottlingPolicy", Name="UCCX", IMAPMaxConcurrency=20)
        run(pool, "Set-ThrottlingPolicy", Identity="UCCX", IMAPMaxConcurrency=None, RCAMaxConcurrency=None)
        run(pool, "Set-Mailbox", Identity="uccx", ThrottlingPolicy="UCCX")
        mailbox = run(pool, "Get-Mailbox", Identity="uccx").output[0]
    assert created.streams.error == [] and str(created.output[0]) == "UCCX"
    policy = next(p for p in lab.state.snapshot()["GetThrottlingPolicy"] if p["props"]["Name"]["value"] == "UCCX")
    assert policy["props"]["IMAPMaxConcurrency"] is None
    assert policy["props"]["IsDefault"]["value"] is True or policy["props"]["IsDefault"]["value"] == 0
    assert str(mailbox.adapted_properties["ThrottlingPolicy"]) == "UCCX"


def test_new_policy_setting_is_a_uint32(lab: Lab) -> None:
    with RunspacePool(wsman(lab), configuration_name="Microsoft.Exchange", host=host()) as pool:
        run(pool, "New-ThrottlingPolicy", Name="UCCX", RecipientRateLimit=20)
    policy = next(p for p in lab.state.snapshot()["GetThrottlingPolicy"] if p["props"]["Name"]["value"] == "UCCX")
    assert policy["props"]["RecipientRateLimit"]["kind"] == "PSUInt"
    assert policy["props"]["RecipientRateLimit"]["value"] == 20


def test_add_and_remove_ad_permission_restores_the_original_state(lab: Lab) -> None:
    before = lab.state.snapshot()
    org_dn = "CN=LAB,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=lab,DC=local"
    right = "View Information Store status"
    with RunspacePool(wsman(lab), configuration_name="Microsoft.Exchange", host=host()) as pool:
        added = run(pool, "Add-ADPermission", Identity=org_dn, User="uccx", ExtendedRights=right)
        listed = run(pool, "Get-ADPermission", Identity=org_dn, User="uccx").output
        run(pool, "Remove-ADPermission", Identity=org_dn, User="uccx", ExtendedRights=right)
    assert added.streams.error == []
    assert [str(a.adapted_properties["User"]) for a in listed] == ["LAB\\uccx"]
    assert lab.state.snapshot() == before


def test_rollback_of_a_setting_restores_the_snapshot_exactly(lab: Lab) -> None:
    before = lab.state.snapshot()
    with RunspacePool(wsman(lab), configuration_name="Microsoft.Exchange", host=host()) as pool:
        old = run(pool, "Get-ImapSettings", Server="EX01").output[0].adapted_properties["MaxConnectionsPerUser"]
        run(pool, "Set-ImapSettings", Server="EX01", MaxConnectionsPerUser=2400)
        assert lab.state.snapshot() != before
        run(pool, "Set-ImapSettings", Server="EX01", MaxConnectionsPerUser=old)
    assert lab.state.snapshot() == before


def test_a_bad_value_is_refused_and_changes_nothing(lab: Lab) -> None:
    before = lab.state.snapshot()
    with RunspacePool(wsman(lab), configuration_name="Microsoft.Exchange", host=host()) as pool:
        ps = run(pool, "Set-ImapSettings", Server="EX01", MaxConnections="lots")
    assert ps.had_errors
    assert error_messages(ps) == [
        "Cannot process argument transformation on parameter 'MaxConnections'. "
        'Cannot convert value "lots" to type "System.Int32".'
    ]
    assert lab.state.snapshot() == before
