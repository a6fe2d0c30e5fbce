"""The shipped example fact folders read as real Export-Clixml files and hold the intended values.

Read with psrpcore directly (not the project's reader), so these tests pin the files themselves:
what a collector run on the described Exchange 2010 SP3 organization would have written. The last
tests tie the files to their source: examples/generate_facts.py and the data in examples/source/.
"""

from __future__ import annotations

import datetime
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
from psrpcore.types import deserialize_clixml

from compliance.facts.offline import read_clixml

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "facts"
DEFAULTS = EXAMPLES / "exchange2010-sp3-defaults"
COMPLIANT = EXAMPLES / "exchange2010-sp3-compliant"
FOLDERS = [DEFAULTS, COMPLIANT]
ORG_DN = "CN=LAB,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=lab,DC=local"
FILES = {
    "GetExchangeServer.xml",
    "GetImapSettings.xml",
    "GetReceiveConnector.xml",
    "GetThrottlingPolicy.xml",
    "GetMailbox.xml",
    "GetOrganizationConfig.xml",
    "GetADPermission.xml",
    "GetItemProperty-EX01.xml",
    "GetWinEvent-EX01.xml",
    "GetService-EX01.xml",
    "GetServiceStartTime-EX01.xml",
    "GetRegistryKeyTime-EX01.xml",
}
CHECKLIST_POLICY_SETTINGS = [
    "IMAPMaxConcurrency",
    "IMAPPercentTimeInAD",
    "IMAPPercentTimeInCAS",
    "IMAPPercentTimeInMailboxRPC",
    "RCAMaxConcurrency",
    "RCAPercentTimeInAD",
    "RCAPercentTimeInCAS",
    "RCAPercentTimeInMailboxRPC",
    "CPAMaxConcurrency",
    "CPAPercentTimeInCAS",
    "CPAPercentTimeInMailboxRPC",
    "MessageRateLimit",
    "RecipientRateLimit",
    "CPUStartPercent",
]


def read(folder: Path, name: str) -> list[Any]:
    no_cipher: Any = None  # fact files carry no SecureString
    objs: list[Any] = deserialize_clixml((folder / name).read_text(encoding="utf-8-sig"), no_cipher)
    return objs


def type_name(obj: Any) -> str:
    # psrpcore prefixes "Deserialized." once more; compare the real type name by suffix.
    return str(obj.PSTypeNames[0]).removeprefix("Deserialized.").removeprefix("Deserialized.")


def unlimited(value: Any) -> int | None:
    """An ``Unlimited<Int32>`` object as (Value or None for Unlimited), checking its shape."""
    assert type_name(value).startswith("Microsoft.Exchange.Data.Unlimited`1[[System.Int32, mscorlib, Version=2.0.0.0")
    if value.IsUnlimited:
        assert str(value) == "Unlimited"
        return None
    assert str(value) == str(value.Value)
    return int(value.Value)


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_every_file_is_a_bom_clixml_document_with_type_name_references(folder: Path) -> None:
    assert {p.name for p in folder.glob("*.xml")} == FILES
    for path in folder.glob("*.xml"):
        raw = path.read_bytes()
        assert raw.startswith(
            b'\xef\xbb\xbf<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"'
        )
        read(folder, path.name)  # parses
    receive = (folder / "GetReceiveConnector.xml").read_text(encoding="utf-8-sig")
    # The second connector reuses the first one's type list, as PowerShell writes it.
    assert receive.count("<T>Microsoft.Exchange.Data.Directory.SystemConfiguration.ReceiveConnector</T>") == 1
    assert '<TNRef RefId="0" />' in receive


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_server_and_organization(folder: Path) -> None:
    [server] = read(folder, "GetExchangeServer.xml")
    assert type_name(server) == "Microsoft.Exchange.Data.Directory.Management.ExchangeServer"
    assert (server.Name, server.Fqdn) == ("EX01", "EX01.lab.local")
    version = server.AdminDisplayVersion
    assert str(version) == "Version 14.3 (Build 123.4)"
    assert (version.Major, version.Minor, version.Build, version.Revision) == (14, 3, 123, 4)
    assert str(server.ServerRole) == "Mailbox, ClientAccess, HubTransport"
    assert server.IsMailboxServer and server.IsClientAccessServer and server.IsHubTransportServer
    assert server.Id is server.Identity  # <Ref N="Id"> points at the Identity object
    assert isinstance(server.WhenChangedUTC, datetime.datetime)
    [org] = read(folder, "GetOrganizationConfig.xml")
    assert (org.Name, org.DistinguishedName, str(org.Identity)) == ("LAB", ORG_DN, "LAB")


def test_defaults_imap_connectors_and_policy() -> None:
    [imap] = read(DEFAULTS, "GetImapSettings.xml")
    assert type_name(imap) == "Microsoft.Exchange.Data.Directory.SystemConfiguration.Imap4AdConfiguration"
    assert (str(imap.Server), str(imap.Identity), imap.ProtocolName) == ("EX01", "EX01\\1", "IMAP4")
    limits = (
        imap.MaxCommandSize,
        imap.MaxConnectionFromSingleIP,
        imap.MaxConnections,
        imap.MaxConnectionsPerUser,
    )
    assert limits == (10240, 2000, 2000, 16)

    connectors = {str(c.Identity): c for c in read(DEFAULTS, "GetReceiveConnector.xml")}
    assert set(connectors) == {"EX01\\Default EX01", "EX01\\Client EX01"}
    for conn in connectors.values():
        assert unlimited(conn.MaxInboundConnection) == 5000
        assert unlimited(conn.MaxInboundConnectionPerSource) == 20
        assert conn.MaxInboundConnectionPercentagePerSource == 2
    assert unlimited(connectors["EX01\\Default EX01"].MessageRateLimit) is None
    assert unlimited(connectors["EX01\\Client EX01"].MessageRateLimit) == 5

    [policy] = read(DEFAULTS, "GetThrottlingPolicy.xml")
    assert type_name(policy) == "Microsoft.Exchange.Data.Directory.SystemConfiguration.ThrottlingPolicy"
    assert policy.Name.startswith("DefaultThrottlingPolicy_5d1e2f8a-") and policy.IsDefault is True
    expected = {
        "IMAPMaxConcurrency": 20,
        "RCAMaxConcurrency": 20,
        "RCAPercentTimeInAD": 5,
        "RCAPercentTimeInCAS": 205,
        "RCAPercentTimeInMailboxRPC": 200,
        "CPAMaxConcurrency": 20,
        "CPAPercentTimeInCAS": 205,
        "CPAPercentTimeInMailboxRPC": 200,
        "CPUStartPercent": 75,
        "MessageRateLimit": None,
        "RecipientRateLimit": None,
    }
    assert {name: getattr(policy, name) for name in expected} == expected
    assert isinstance(policy.IMAPMaxConcurrency, int)  # Nullable<UInt32>: a number ...
    assert policy.IMAPPercentTimeInAD is None  # ... or None for $null


def test_defaults_mailbox_permission_registry_and_events() -> None:
    [mailbox] = read(DEFAULTS, "GetMailbox.xml")
    assert type_name(mailbox) == "Microsoft.Exchange.Data.Directory.Management.Mailbox"
    assert (mailbox.Alias, mailbox.DisplayName, str(mailbox.PrimarySmtpAddress)) == (
        "uccx",
        "UCCX Email",
        "uccx@lab.local",
    )
    assert mailbox.DistinguishedName == "CN=UCCX Email,CN=Users,DC=lab,DC=local"
    assert mailbox.ThrottlingPolicy is None

    assert read(DEFAULTS, "GetADPermission.xml") == []

    [key] = read(DEFAULTS, "GetItemProperty-EX01.xml")
    assert type_name(key) == "System.Management.Automation.PSCustomObject"
    assert key.PSChildName == "ParametersSystem" and key.PSComputerName == "EX01"
    assert "Maximum Allowed Service Sessions Per User" not in {p.name for p in key.PSObject.extended_properties}

    events = read(DEFAULTS, "GetWinEvent-EX01.xml")
    assert all(type_name(e) == "System.Diagnostics.Eventing.Reader.EventLogRecord" for e in events)
    session = [e for e in events if e.Id == 9646]
    assert [e.TimeCreated.date().isoformat() for e in session] == ["2026-11-20", "2026-11-21", "2026-11-22"]
    assert all(isinstance(e.TimeCreated, datetime.datetime) and e.ProviderName == "MSExchangeIS" for e in session)
    assert all(
        'cn=uccx" ' in e.Message and 'exceeded the maximum of 16 objects of type "session"' in e.Message
        for e in session
    )
    [transport] = [e for e in events if e.Id == 1021]
    assert transport.ProviderName == "MSExchangeTransport" and transport.LevelDisplayName == "Warning"

    services = {s.Name: str(s.Status) for s in read(DEFAULTS, "GetService-EX01.xml")}
    assert services == {"MSExchangeIS": "Running", "MSExchangeIMAP4": "Running"}


def test_compliant_values_match_the_checklist() -> None:
    [imap] = read(COMPLIANT, "GetImapSettings.xml")
    limits = (
        imap.MaxCommandSize,
        imap.MaxConnectionFromSingleIP,
        imap.MaxConnections,
        imap.MaxConnectionsPerUser,
    )
    assert limits == (10240, 2000, 2400, 2400)

    connectors = read(COMPLIANT, "GetReceiveConnector.xml")
    assert len(connectors) == 2
    for conn in connectors:
        assert unlimited(conn.MaxInboundConnection) == 5000
        assert unlimited(conn.MessageRateLimit) == 250
        assert unlimited(conn.MaxInboundConnectionPerSource) == 250
        assert conn.MaxInboundConnectionPercentagePerSource == 5

    policies = {p.Name: p for p in read(COMPLIANT, "GetThrottlingPolicy.xml")}
    uccx = policies["UCCX"]
    assert uccx.IsDefault is False
    assert {name: getattr(uccx, name) for name in CHECKLIST_POLICY_SETTINGS} == dict.fromkeys(CHECKLIST_POLICY_SETTINGS)
    [default] = [p for p in policies.values() if p.IsDefault]
    assert default.RCAMaxConcurrency == 20  # the default policy itself is left alone

    [mailbox] = read(COMPLIANT, "GetMailbox.xml")
    assert type_name(mailbox.ThrottlingPolicy) == "Microsoft.Exchange.Data.Directory.ADObjectId"
    assert str(mailbox.ThrottlingPolicy) == "UCCX"

    [ace] = read(COMPLIANT, "GetADPermission.xml")
    assert type_name(ace) == "Microsoft.Exchange.Management.RecipientTasks.ADAcePresentationObject"
    assert (str(ace.User), ace.Deny, str(ace.Identity)) == ("LAB\\uccx", False, ORG_DN)
    assert list(ace.ExtendedRights) == ["ms-Exch-Store-Visible"]  # the AD name, as Get-ADPermission shows it
    assert [str(r) for r in ace.AccessRights] == ["ExtendedRight"]

    [key] = read(COMPLIANT, "GetItemProperty-EX01.xml")
    sessions = getattr(key, "Maximum Allowed Service Sessions Per User")
    assert sessions == 512 and type(sessions).__name__ == "PSInt"  # a DWORD arrives as I32

    assert read(COMPLIANT, "GetWinEvent-EX01.xml") == []


def test_collection_info_names_time_and_lookback() -> None:
    for folder in FOLDERS:
        text = (folder / "collection.txt").read_bytes()
        assert text.startswith(b"\xef\xbb\xbfCollectedAtUtc: 2026-11-2")
        assert b"\r\nEventLookbackDays: 7\r\n" in text


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("generate_examples", EXAMPLES.parent / "generate_facts.py")
    assert spec is not None and spec.loader is not None
    generate = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = generate  # dataclasses resolve their module through sys.modules
    try:
        spec.loader.exec_module(generate)
    finally:
        del sys.modules[spec.name]
    return generate


def test_generator_reproduces_the_committed_files(tmp_path: Path) -> None:
    """examples/generate_facts.py is deterministic, so the committed files are exactly what it writes."""
    written = _generator().write(tmp_path)
    committed = sorted(p.relative_to(EXAMPLES) for p in EXAMPLES.glob("*/*") if p.suffix in {".xml", ".txt"})
    assert sorted(p.relative_to(tmp_path) for p in written) == committed
    for name in committed:
        assert (tmp_path / name).read_bytes() == (EXAMPLES / name).read_bytes(), (
            f"{name} differs; rerun generate_facts.py"
        )


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_generated_objects_read_back_equal(folder: Path) -> None:
    """What the generator builds from examples/source/ is what the project's reader gets from the file."""
    outputs = [o for o in _generator().build(folder.name) if o.objects is not None]
    assert {o.name for o in outputs} == FILES
    for output in outputs:
        assert read_clixml(folder / output.name) == output.objects, output.name


def test_exchange_files_keep_their_type_names_and_shape() -> None:
    """EMS objects carry no Deserialized. prefix, the Invoke-Command ones one; widths, MS and Ref are kept."""
    server = (DEFAULTS / "GetExchangeServer.xml").read_text(encoding="utf-8-sig")
    assert "<T>Microsoft.Exchange.Data.Directory.Management.ExchangeServer</T>" in server
    assert "Deserialized." not in server
    assert '<Ref N="Id" RefId="' in server and '<By N="Minor">1</By>' in server and "<MS>" in server
    assert server.count('\n      <S N="Name">EX01</S>') == 1  # each property once (the AD tail repeats none)
    service = (DEFAULTS / "GetService-EX01.xml").read_text(encoding="utf-8-sig")
    assert "<T>Deserialized.System.ServiceProcess.ServiceController</T>" in service
    assert "Deserialized.Deserialized." not in service
    policy = (DEFAULTS / "GetThrottlingPolicy.xml").read_text(encoding="utf-8-sig")
    assert '<U32 N="IMAPMaxConcurrency">20</U32>' in policy and '<Nil N="IMAPPercentTimeInAD" />' in policy
    assert "\r" not in server  # kept with LF line ends, as the real exports beside the repository
