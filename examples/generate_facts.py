"""Write the example fact folders of a one-server Exchange 2010 SP3 organization.

Run ``python examples/generate_facts.py`` from the repository root. The output is byte-identical on
every run (fixed GUIDs, times and RefId order), so ``git diff`` after a rerun shows only intended
changes. The committed XML is what the tests read; this script is how it was written.

The files copy the shape of real ``Export-Clixml`` exports (``../shared/fixtures/css-exchange`` beside the repository):
UTF-8 with BOM, an ``Objs`` root, ``RefId`` on every ``Obj``, type-name lists written once as ``TN``
and reused as ``TNRef``, ``ToString``, ``Props`` for adapted properties and ``MS`` for note
properties. What differs from those 2013+ exports on purpose, and what is assumed, is listed in
each folder's README.md.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# --------------------------------------------------------------------------------------------
# A minimal CLIXML model and writer
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prim:
    """A primitive element (``S``, ``I32``, ``U32``, ``B``, ``G``, ``DT``, ``I64``, ``By``, ``Db``)."""

    tag: str
    name: str | None
    text: str


@dataclass(frozen=True)
class Nil:
    name: str


@dataclass(frozen=True)
class Ref:
    """``<Ref N=".." RefId=".." />``: a second name for an object written earlier (``Id``)."""

    name: str
    key: str


@dataclass
class Obj:
    name: str | None
    types: tuple[str, ...]
    to_string: str | None = None
    props: list[Node] = field(default_factory=list)
    ms: list[Node] = field(default_factory=list)
    lst: list[Node] | None = None
    enum_value: int | None = None
    key: str | None = None  # lets a later Ref point here


Node = Prim | Nil | Ref | Obj

NAMESPACE = "http://schemas.microsoft.com/powershell/2004/04"
_NEEDS_ESCAPE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]|_x[0-9A-Fa-f]{4}_")


def _encode(text: str) -> str:
    """XML text as PowerShell writes it: control characters and literal ``_xHHHH_`` encoded."""

    def one(match: re.Match[str]) -> str:
        found = match.group(0)
        if found.startswith("_x"):
            return "_x005F_" + found[1:]
        return f"_x{ord(found):04X}_"

    text = _NEEDS_ESCAPE.sub(one, text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(text: str) -> str:
    return _encode(text).replace('"', "&quot;")


class _Writer:
    """Renders nodes in document order, numbering objects and type-name lists as PowerShell does."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.next_obj = 0
        self.type_lists: dict[tuple[str, ...], int] = {}
        self.keys: dict[str, int] = {}

    def node(self, node: Node, depth: int) -> None:
        pad = "  " * depth
        name = "" if node.name is None else f' N="{_attr(node.name)}"'
        if isinstance(node, Prim):
            self.lines.append(f"{pad}<{node.tag}{name}>{_encode(node.text)}</{node.tag}>")
        elif isinstance(node, Nil):
            self.lines.append(f"{pad}<Nil{name} />")
        elif isinstance(node, Ref):
            self.lines.append(f'{pad}<Ref{name} RefId="{self.keys[node.key]}" />')
        else:
            self.obj(node, name, depth)

    def obj(self, obj: Obj, name: str, depth: int) -> None:
        pad, inner = "  " * depth, "  " * (depth + 1)
        ref_id = self.next_obj
        self.next_obj += 1
        if obj.key is not None:
            self.keys[obj.key] = ref_id
        self.lines.append(f'{pad}<Obj{name} RefId="{ref_id}">')
        if obj.types in self.type_lists:
            self.lines.append(f'{inner}<TNRef RefId="{self.type_lists[obj.types]}" />')
        else:
            self.type_lists[obj.types] = len(self.type_lists)
            self.lines.append(f'{inner}<TN RefId="{self.type_lists[obj.types]}">')
            self.lines.extend(f"{inner}  <T>{_encode(t)}</T>" for t in obj.types)
            self.lines.append(f"{inner}</TN>")
        if obj.to_string == "":
            self.lines.append(f"{inner}<ToString />")
        elif obj.to_string is not None:
            self.lines.append(f"{inner}<ToString>{_encode(obj.to_string)}</ToString>")
        if obj.enum_value is not None:
            self.lines.append(f"{inner}<I32>{obj.enum_value}</I32>")
        if obj.lst is not None:
            self.section("LST", obj.lst, depth + 1)
        if obj.props:
            self.section("Props", obj.props, depth + 1)
        if obj.ms:
            self.section("MS", obj.ms, depth + 1)
        self.lines.append(f"{pad}</Obj>")

    def section(self, tag: str, nodes: Sequence[Node], depth: int) -> None:
        pad = "  " * depth
        if not nodes:
            self.lines.append(f"{pad}<{tag} />")
            return
        self.lines.append(f"{pad}<{tag}>")
        for child in nodes:
            self.node(child, depth + 1)
        self.lines.append(f"{pad}</{tag}>")


def render(objects: Sequence[Obj]) -> bytes:
    """One ``Export-Clixml`` file: UTF-8 with BOM, LF line ends, no final newline (like the fixtures)."""
    if not objects:
        # Nothing came down the pipeline. PowerShell writes a full end tag here (Ansible's tests hold
        # the same string captured from real PowerShell), which psrpcore also needs.
        text = f'<Objs Version="1.1.0.1" xmlns="{NAMESPACE}"></Objs>'
    else:
        writer = _Writer()
        for obj in objects:
            writer.node(obj, 1)
        text = "\n".join([f'<Objs Version="1.1.0.1" xmlns="{NAMESPACE}">', *writer.lines, "</Objs>"])
    return "\ufeff".encode() + text.encode("utf-8")


# --------------------------------------------------------------------------------------------
# Primitive helpers
# --------------------------------------------------------------------------------------------


def s(name: str | None, text: str) -> Prim:
    return Prim("S", name, text)


def i32(name: str | None, value: int) -> Prim:
    return Prim("I32", name, str(value))


def u32(name: str, value: int | None) -> Prim | Nil:
    """A ``Nullable<UInt32>`` as Exchange 2010 throttling policies hold it: a number or ``$null``."""
    return Nil(name) if value is None else Prim("U32", name, str(value))


def b(name: str, value: bool) -> Prim:
    return Prim("B", name, "true" if value else "false")


def g(name: str, value: str) -> Prim:
    return Prim("G", name, value)


def dt(name: str, value: datetime.datetime) -> Prim:
    """A ``DateTime``: local time with its offset, or ``Z`` for UTC, fractions only when present."""
    if value.tzinfo is None:
        raise ValueError("give every example time a time zone")
    text = value.isoformat()
    if value.utcoffset() == datetime.timedelta(0) and name.endswith("UTC"):
        text = text.replace("+00:00", "Z")
    if value.microsecond:
        # .NET writes 7 fractional digits (100 ns ticks); Python has 6.
        head, _, tail = text.partition(".")
        text = f"{head}.{tail[:6]}0{tail[6:]}"
    return Prim("DT", name, text)


# --------------------------------------------------------------------------------------------
# Exchange 2010 types (assembly versions 14.0.0.0; .NET 3.5 means mscorlib 2.0.0.0)
# --------------------------------------------------------------------------------------------

EXCHANGE_DATA = "Microsoft.Exchange.Data, Version=14.0.0.0, Culture=neutral, PublicKeyToken=31bf3856ad364e35"
MSCORLIB = "mscorlib, Version=2.0.0.0, Culture=neutral, PublicKeyToken=b77a5c561934e089"
ENUM_BASES = ("System.Enum", "System.ValueType", "System.Object")
AD_OBJECT_ID = (
    "Microsoft.Exchange.Data.Directory.ADObjectId",
    "Microsoft.Exchange.Data.ObjectId",
    "System.Object",
)
AD_BASES = (
    "Microsoft.Exchange.Data.Directory.ADObject",
    "Microsoft.Exchange.Data.Directory.ADRawEntry",
    "Microsoft.Exchange.Data.ConfigurableObject",
    "System.Object",
)
CONFIG_BASES = ("Microsoft.Exchange.Data.Directory.SystemConfiguration.ADConfigurationObject", *AD_BASES)
PRESENTATION_BASES = ("Microsoft.Exchange.Data.Directory.Management.ADPresentationObject", *AD_BASES)
UNLIMITED_INT32 = (
    f"Microsoft.Exchange.Data.Unlimited`1[[System.Int32, {MSCORLIB}]]",
    "System.ValueType",
    "System.Object",
)
MVP_STRING = (
    f"Microsoft.Exchange.Data.MultiValuedProperty`1[[System.String, {MSCORLIB}]]",
    "Microsoft.Exchange.Data.MultiValuedPropertyBase",
    "System.Object",
)
TIMESPAN = ("Microsoft.Exchange.Data.EnhancedTimeSpan", "System.ValueType", "System.Object")


def enum(name: str, type_name: str, text: str, value: int) -> Obj:
    return Obj(name, (type_name, *ENUM_BASES), to_string=text, enum_value=value)


def strings(name: str, items: Iterable[str]) -> Obj:
    return Obj(name, MVP_STRING, lst=[s(None, item) for item in items])


def unlimited(name: str, value: int | None) -> Obj:
    """``Unlimited<Int32>``: ``None`` is Unlimited (no ``Value`` property), as in the real exports."""
    if value is None:
        return Obj(name, UNLIMITED_INT32, to_string="Unlimited", props=[b("IsUnlimited", True)])
    return Obj(name, UNLIMITED_INT32, to_string=str(value), props=[b("IsUnlimited", False), i32("Value", value)])


def timespan(name: str, seconds: int) -> Obj:
    ticks = seconds * 10_000_000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return Obj(
        name,
        TIMESPAN,
        to_string=f"{hours:02d}:{minutes:02d}:{secs:02d}",
        props=[
            i32("Days", 0),
            i32("Hours", hours),
            i32("Milliseconds", 0),
            i32("Minutes", minutes),
            i32("Seconds", secs),
            Prim("I64", "Ticks", str(ticks)),
            Prim("Db", "TotalDays", repr(seconds / 86400)),
            Prim("Db", "TotalHours", repr(seconds / 3600)),
            Prim("Db", "TotalMilliseconds", str(seconds * 1000)),
            Prim("Db", "TotalMinutes", repr(seconds / 60)),
            Prim("Db", "TotalSeconds", str(seconds)),
            i32("Sign", 1),
        ],
    )


@dataclass(frozen=True)
class Org:
    """The example organization: names every file agrees on."""

    name: str = "LAB"
    domain: str = "lab.local"
    server: str = "EX01"
    dc: str = "DC01.lab.local"
    admin_group: str = "Exchange Administrative Group (FYDIBOHF23SPDLT)"
    computer_name: str = "ex01.lab.local"  # PSComputerName of the EMS session (lower case, as in exports)
    runspace_id: str = "3c1f7a52-9d0e-4b6a-8e21-5f4d2c7b9a10"

    @property
    def domain_dn(self) -> str:
        return ",".join(f"DC={part}" for part in self.domain.split("."))

    @property
    def org_dn(self) -> str:
        return f"CN={self.name},CN=Microsoft Exchange,CN=Services,CN=Configuration,{self.domain_dn}"

    @property
    def server_dn(self) -> str:
        return f"CN={self.server},CN=Servers,CN={self.admin_group},CN=Administrative Groups,{self.org_dn}"

    @property
    def legacy_dn_prefix(self) -> str:
        return f"/o={self.name}/ou={self.admin_group}"


ORG = Org()
SERVER_GUID = "6f3b9c1e-2a47-4d85-b0e3-91c7d4a2f518"
ORG_GUID = "0c8d2e61-5b3a-4f97-a1d4-7e2b9c6f0a35"
USERS_PARENT = f"{ORG.domain}/Users"


def ad_id(name: str, to_string: str, dn: str, guid: str, parent: str, key: str | None = None) -> Obj:
    """An ``ADObjectId``. Depth counts the RDNs below the root, as in the real exports."""
    return Obj(
        name,
        AD_OBJECT_ID,
        to_string=to_string,
        key=key,
        props=[
            b("IsDeleted", False),
            s("Rdn", dn.split(",", 1)[0]),
            s("Parent", parent),
            i32("Depth", dn.count(",")),
            s("DistinguishedName", dn),
            b("IsRelativeDn", False),
            s("DomainId", ORG.domain),
            g("ObjectGuid", guid),
            s("Name", dn.split(",", 1)[0][3:]),
        ],
    )


def schema_id(class_name: str, guid: str) -> Obj:
    dn = f"CN={class_name},CN=Schema,CN=Configuration,{ORG.domain_dn}"
    return ad_id(
        "ObjectCategory",
        f"{ORG.domain}/Configuration/Schema/{class_name}",
        dn,
        guid,
        f"{ORG.domain}/Configuration/Schema",
    )


def server_id(name: str = "Server") -> Obj:
    return ad_id(name, ORG.server, ORG.server_dn, SERVER_GUID, "Servers")


def exchange_version(major_minor: str = "0.1", build: str = "8.0.535.0") -> Obj:
    major, minor = major_minor.split(".")
    return Obj(
        "ExchangeVersion",
        ("Microsoft.Exchange.Data.ExchangeObjectVersion", "System.Object"),
        to_string=f"{major_minor} ({build})",
        props=[
            s("NextMajorVersion", "1.0 (0.0.0.0)"),
            s("NextMinorVersion", f"{major}.{int(minor) + 1} (0.0.0.0)"),
            Prim("By", "Major", major),
            Prim("By", "Minor", minor),
            s("ExchangeBuild", build),
        ],
    )


E2010_VERSION = ("0.10", "14.0.100.0")  # ExchangeVersion of objects created by Exchange 2010


@dataclass(frozen=True)
class AdTail:
    """The properties every Exchange AD object ends with (Identity, Guid, When*, Id ...)."""

    identity: Obj
    guid: str
    category: tuple[str, str]  # schema class name, its GUID
    object_class: tuple[str, ...]
    changed: datetime.datetime
    created: datetime.datetime
    version: tuple[str, str] = ("0.1", "8.0.535.0")

    def nodes(self, dn: str, name: str, *, presentation: bool) -> list[Node]:
        identity = self.identity
        identity.key = "identity"
        utc = datetime.timezone.utc
        middle: list[Node] = [
            exchange_version(*self.version),
            s("Name", name),
            s("DistinguishedName", dn),
            identity,
            g("Guid", self.guid),
            schema_id(*self.category),
            Obj("ObjectClass", MVP_STRING, lst=[s(None, c) for c in self.object_class]),
            dt("WhenChanged", self.changed),
            dt("WhenCreated", self.created),
            dt("WhenChangedUTC", self.changed.astimezone(utc)),
            dt("WhenCreatedUTC", self.created.astimezone(utc)),
            Obj(
                "OrganizationId",
                ("Microsoft.Exchange.Data.Directory.OrganizationId", "System.Object"),
                to_string="",
                props=[Nil("OrganizationalUnit"), Nil("ConfigurationUnit")],
            ),
            Ref("Id", "identity"),
            s("OriginatingServer", ORG.dc),
            b("IsValid", True),
            enum("ObjectState", "Microsoft.Exchange.Data.ObjectState", "Unchanged", 1),
        ]
        return [s("AdminDisplayName", ""), *middle] if not presentation else middle


def session_members() -> list[Node]:
    """Note properties the EMS remote session adds to every Exchange object."""
    return [
        s("PSComputerName", ORG.computer_name),
        g("RunspaceId", ORG.runspace_id),
        b("PSShowComputerName", False),
    ]


LAB_TZ = datetime.timezone(datetime.timedelta(hours=1))


def when(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=LAB_TZ)


INSTALLED = when("2025-03-14T10:21:07")  # the org and server were installed then


# --------------------------------------------------------------------------------------------
# One builder per cmdlet
# --------------------------------------------------------------------------------------------


def exchange_server() -> list[Obj]:
    roles = enum(
        "ServerRole",
        "Microsoft.Exchange.Data.Directory.SystemConfiguration.ServerRole",
        "Mailbox, ClientAccess, HubTransport",
        2 | 4 | 32,
    )
    version = Obj(
        "AdminDisplayVersion",
        ("Microsoft.Exchange.Data.ServerVersion", "System.Object"),
        to_string="Version 14.3 (Build 123.4)",
        props=[
            i32("Major", 14),
            i32("Minor", 3),
            i32("Build", 123),
            i32("Revision", 4),
            Nil("FilePatchLevelDescription"),
        ],
    )
    site_dn = f"CN=Default-First-Site-Name,CN=Sites,CN=Configuration,{ORG.domain_dn}"
    tail = AdTail(
        server_id("Identity"),
        SERVER_GUID,
        ("ms-Exch-Exchange-Server", "1b2c3d4e-0001-4a5b-9c8d-7e6f5a4b3c2d"),
        ("top", "server", "msExchExchangeServer"),
        when("2026-10-02T14:05:12"),
        INSTALLED,
    )
    props: list[Node] = [
        s("Name", ORG.server),
        Obj(
            "DataPath",
            (
                "Microsoft.Exchange.Data.LocalLongFullPath",
                "Microsoft.Exchange.Data.LongPath",
                "System.Object",
            ),
            to_string=r"C:\Program Files\Microsoft\Exchange Server\V14\Mailbox",
            props=[
                s("PathName", r"C:\Program Files\Microsoft\Exchange Server\V14\Mailbox"),
                b("IsLocalFull", True),
                b("IsUnc", False),
                s("DriveName", "C:"),
            ],
        ),
        s("Domain", ORG.domain),
        enum("Edition", "Microsoft.Exchange.Data.ServerEditionType", "Standard", 1),
        s("ExchangeLegacyDN", f"{ORG.legacy_dn_prefix}/cn=Configuration/cn=Servers/cn={ORG.server}"),
        i32("ExchangeLegacyServerRole", 0),
        s("Fqdn", f"{ORG.server}.{ORG.domain}"),
        Nil("CustomerFeedbackEnabled"),
        Nil("InternetWebProxy"),
        b("IsHubTransportServer", True),
        b("IsClientAccessServer", True),
        b("IsExchange2007OrLater", True),
        b("IsEdgeServer", False),
        b("IsMailboxServer", True),
        b("IsE14OrLater", True),
        b("IsProvisionedServer", False),
        b("IsUnifiedMessagingServer", False),
        s("OrganizationalUnit", f"{ORG.domain}/{ORG.server}"),
        version,
        ad_id(
            "Site",
            f"{ORG.domain}/Configuration/Sites/Default-First-Site-Name",
            site_dn,
            "8e4a1c7d-3f2b-4a96-b5d0-2c9e7f1a6b43",
            f"{ORG.domain}/Configuration/Sites",
        ),
        roles,
        b("ErrorReportingEnabled", False),
        strings("StaticDomainControllers", []),
        strings("StaticGlobalCatalogs", []),
        s("StaticConfigDomainController", ""),
        strings("StaticExcludedDomainControllers", []),
        s("MonitoringGroup", ""),
        strings("CurrentDomainControllers", [ORG.dc]),
        strings("CurrentGlobalCatalogs", [ORG.dc]),
        s("CurrentConfigDomainController", ORG.dc),
        s("ProductID", "02064-110-8024478-75107"),
        b("IsExchangeTrialEdition", False),
        b("IsExpiredExchangeTrialEdition", False),
        timespan("RemainingTrialPeriod", 0),
        *tail.nodes(ORG.server_dn, ORG.server, presentation=True),
    ]
    return [
        Obj(
            None,
            ("Microsoft.Exchange.Data.Directory.Management.ExchangeServer", *PRESENTATION_BASES),
            to_string=ORG.server,
            props=props,
            ms=session_members(),
        )
    ]


IP_BINDING = "Microsoft.Exchange.Data.IPBinding"


def ip_bindings(name: str, port: int) -> Obj:
    mvp = (
        f"Microsoft.Exchange.Data.MultiValuedProperty`1[[{IP_BINDING}, {EXCHANGE_DATA}]]",
        "Microsoft.Exchange.Data.MultiValuedPropertyBase",
        "System.Object",
    )
    binding = (
        "Microsoft.Exchange.Data.IPBinding",
        "System.Net.IPEndPoint",
        "System.Net.EndPoint",
        "System.Object",
    )

    def one(address: str, family: str, shown: str) -> Obj:
        # IPv4 addresses carry the numeric Address, IPv6 ones a ScopeId (as in the real exports).
        numeric = Prim("I64", "Address", "0") if family == "InterNetwork" else None
        scope = None if numeric else Prim("I64", "ScopeId", "0")
        flags = [b(f, False) for f in ("IsIPv6Multicast", "IsIPv6LinkLocal", "IsIPv6SiteLocal")]
        members = [n for n in (numeric, s("AddressFamily", family), scope) if n is not None]
        addr = Obj(
            "Address",
            ("System.Net.IPAddress", "System.Object"),
            to_string=address,
            props=[*members, *flags],
            ms=[s("IPAddressToString", address)],
        )
        return Obj(None, binding, to_string=shown, props=[i32("Port", port), s("AddressFamily", family), addr])

    return Obj(
        name,
        mvp,
        lst=[one("0.0.0.0", "InterNetwork", f"0.0.0.0:{port}"), one("::", "InterNetworkV6", f"[::]:{port}")],
    )


@dataclass(frozen=True)
class ImapLimits:
    max_command_size: int
    max_connection_from_single_ip: int
    max_connections: int
    max_connections_per_user: int


def connection_settings(name: str, items: Sequence[str]) -> Obj:
    mvp = (
        "Microsoft.Exchange.Data.MultiValuedProperty`1[[Microsoft.Exchange.Data.ProtocolConnectionSettings, "
        f"{EXCHANGE_DATA}]]",
        "Microsoft.Exchange.Data.MultiValuedPropertyBase",
        "System.Object",
    )
    return Obj(name, mvp, lst=[s(None, item) for item in items])


def imap_settings(limits: ImapLimits, changed: datetime.datetime) -> list[Obj]:
    dn = f"CN=1,CN=IMAP4,CN=Protocols,{ORG.server_dn}"
    identity = ad_id("Identity", f"{ORG.server}\\1", dn, "4d7e2a90-6c15-4b38-a2f1-9e0d3b8c5a67", "IMAP4")
    tail = AdTail(
        identity,
        "4d7e2a90-6c15-4b38-a2f1-9e0d3b8c5a67",
        ("ms-Exch-Protocol-Cfg-IMAP-Server", "9a0b1c2d-0002-4e3f-8a7b-6c5d4e3f2a1b"),
        ("top", "protocolCfg", "protocolCfgIMAP", "protocolCfgIMAPServer"),
        changed,
        INSTALLED,
    )
    ns = "Microsoft.Exchange.Data.Directory.SystemConfiguration"
    props: list[Node] = [
        s("ProtocolName", "IMAP4"),
        s("Name", "1"),
        i32("MaxCommandSize", limits.max_command_size),
        b("ShowHiddenFoldersEnabled", False),
        ip_bindings("UnencryptedOrTLSBindings", 143),
        ip_bindings("SSLBindings", 993),
        connection_settings(
            "InternalConnectionSettings",
            [f"{ORG.server}.{ORG.domain}:993:SSL", f"{ORG.server}.{ORG.domain}:143:TLS"],
        ),
        connection_settings("ExternalConnectionSettings", []),
        s("X509CertificateName", f"{ORG.server}"),
        s("Banner", "The Microsoft Exchange IMAP4 service is ready."),
        enum("LoginType", f"{ns}.LoginOptions", "SecureLogin", 2),
        timespan("AuthenticatedConnectionTimeout", 1800),
        timespan("PreAuthenticatedConnectionTimeout", 60),
        i32("MaxConnections", limits.max_connections),
        i32("MaxConnectionFromSingleIP", limits.max_connection_from_single_ip),
        i32("MaxConnectionsPerUser", limits.max_connections_per_user),
        enum("MessageRetrievalMimeFormat", f"{ns}.MimeTextFormat", "BestBodyFormat", 4),
        i32("ProxyTargetPort", 143),
        enum("CalendarItemRetrievalOption", f"{ns}.CalendarItemRetrievalOptions", "iCalendar", 0),
        Nil("OwaServerUrl"),
        b("EnableExactRFC822Size", False),
        b("LiveIdBasicAuthReplacement", False),
        b("SuppressReadReceipt", False),
        b("ProtocolLogEnabled", False),
        b("EnforceCertificateErrors", False),
        s("LogFileLocation", r"C:\Program Files\Microsoft\Exchange Server\V14\Logging\Imap4"),
        enum("LogFileRollOverSettings", f"{ns}.LogFileRollOver", "Daily", 2),
        Obj(
            "LogPerFileSizeQuota",
            (
                "Microsoft.Exchange.Data.Unlimited`1[[Microsoft.Exchange.Data.ByteQuantifiedSize, "
                + EXCHANGE_DATA
                + "]]",
                "System.ValueType",
                "System.Object",
            ),
            to_string="0 B (0 bytes)",
            props=[
                b("IsUnlimited", False),
                Obj(
                    "Value",
                    ("Microsoft.Exchange.Data.ByteQuantifiedSize", "System.ValueType", "System.Object"),
                    to_string="0 B (0 bytes)",
                ),
            ],
        ),
        enum("ExtendedProtectionPolicy", f"{ns}.ExtendedProtectionTokenCheckingMode", "None", 0),
        b("EnableGSSAPIAndNTLMAuth", True),
        server_id(),
        *tail.nodes(dn, "1", presentation=False),
    ]
    return [
        Obj(
            None,
            (
                f"{ns}.Imap4AdConfiguration",
                f"{ns}.PopImapAdConfiguration",
                f"{ns}.ADEmailTransport",
                *CONFIG_BASES,
            ),
            to_string="1",
            props=props,
            ms=session_members(),
        )
    ]


@dataclass(frozen=True)
class ConnectorLimits:
    max_inbound_connection: int | None
    max_inbound_connection_per_source: int | None
    max_inbound_connection_percentage_per_source: int
    message_rate_limit: int | None


@dataclass(frozen=True)
class Connector:
    name: str
    guid: str
    port: int
    auth: tuple[str, int]
    permission_groups: tuple[str, int]
    limits: ConnectorLimits


def receive_connectors(connectors: Sequence[Connector], changed: datetime.datetime) -> list[Obj]:
    ns = "Microsoft.Exchange.Data.Directory.SystemConfiguration"
    out: list[Obj] = []
    for conn in connectors:
        dn = f"CN={conn.name},CN=SMTP Receive Connectors,CN=Protocols,{ORG.server_dn}"
        identity = ad_id("Identity", f"{ORG.server}\\{conn.name}", dn, conn.guid, "SMTP Receive Connectors")
        tail = AdTail(
            identity,
            conn.guid,
            ("ms-Exch-Smtp-Receive-Connector", "c0f2b7a0-008e-49ea-84bf-93c90522f208"),
            ("top", "msExchSmtpReceiveConnector"),
            changed,
            INSTALLED,
        )
        lim = conn.limits
        props: list[Node] = [
            enum("AuthMechanism", f"{ns}.AuthMechanisms", *conn.auth),
            s("Banner", ""),
            b("BinaryMimeEnabled", True),
            ip_bindings("Bindings", conn.port),
            b("ChunkingEnabled", True),
            Nil("DefaultDomain"),
            b("DeliveryStatusNotificationEnabled", True),
            b("EightBitMimeEnabled", True),
            b("DomainSecureEnabled", False),
            b("EnhancedStatusCodesEnabled", True),
            b("LongAddressesEnabled", False),
            b("OrarEnabled", False),
            b("SuppressXAnonymousTls", False),
            Obj(
                "Fqdn",
                ("Microsoft.Exchange.Data.Fqdn", "Microsoft.Exchange.Data.SmtpDomain", "System.Object"),
                to_string=f"{ORG.server}.{ORG.domain}",
                props=[s("Domain", f"{ORG.server}.{ORG.domain}")],
            ),
            s("Comment", ""),
            b("Enabled", True),
            timespan("ConnectionTimeout", 600),
            timespan("ConnectionInactivityTimeout", 300),
            unlimited("MessageRateLimit", lim.message_rate_limit),
            enum("MessageRateSource", f"{ns}.MessageRateSourceFlags", "IPAddress", 1),
            unlimited("MaxInboundConnection", lim.max_inbound_connection),
            unlimited("MaxInboundConnectionPerSource", lim.max_inbound_connection_per_source),
            i32("MaxInboundConnectionPercentagePerSource", lim.max_inbound_connection_percentage_per_source),
            i32("MaxHopCount", 60),
            i32("MaxLocalHopCount", 8),
            i32("MaxLogonFailures", 3),
            unlimited("MaxProtocolErrors", 5),
            i32("MaxRecipientsPerMessage", 200),
            enum("PermissionGroups", "Microsoft.Exchange.Data.PermissionGroups", *conn.permission_groups),
            b("PipeliningEnabled", True),
            enum("ProtocolLoggingLevel", "Microsoft.Exchange.Data.ProtocolLoggingLevel", "None", 0),
            b("RequireEHLODomain", False),
            b("RequireTLS", False),
            b("EnableAuthGSSAPI", False),
            enum("ExtendedProtectionPolicy", f"{ns}.ExtendedProtectionPolicySetting", "None", 0),
            b("LiveCredentialEnabled", False),
            server_id(),
            enum("SizeEnabled", "Microsoft.Exchange.Data.SizeMode", "Enabled", 1),
            timespan("TarpitInterval", 5),
            timespan("MaxAcknowledgementDelay", 30),
            *tail.nodes(dn, conn.name, presentation=False),
        ]
        out.append(
            Obj(
                None,
                (f"{ns}.ReceiveConnector", *CONFIG_BASES),
                to_string=f"{ORG.server}\\{conn.name}",
                props=props,
                ms=session_members(),
            )
        )
    return out


# Every 2010 SP1+ setting in Get-ThrottlingPolicy order; a dict maps it to its value (None is $null).
THROTTLING_SETTINGS = (
    "AnonymousMaxConcurrency",
    "AnonymousPercentTimeInAD",
    "AnonymousPercentTimeInCAS",
    "AnonymousPercentTimeInMailboxRPC",
    "EASMaxConcurrency",
    "EASPercentTimeInAD",
    "EASPercentTimeInCAS",
    "EASPercentTimeInMailboxRPC",
    "EASMaxDevices",
    "EASMaxDeviceDeletesPerMonth",
    "EWSMaxConcurrency",
    "EWSPercentTimeInAD",
    "EWSPercentTimeInCAS",
    "EWSPercentTimeInMailboxRPC",
    "EWSMaxSubscriptions",
    "EWSFastSearchTimeoutInSeconds",
    "EWSFindCountLimit",
    "IMAPMaxConcurrency",
    "IMAPPercentTimeInAD",
    "IMAPPercentTimeInCAS",
    "IMAPPercentTimeInMailboxRPC",
    "OWAMaxConcurrency",
    "OWAPercentTimeInAD",
    "OWAPercentTimeInCAS",
    "OWAPercentTimeInMailboxRPC",
    "POPMaxConcurrency",
    "POPPercentTimeInAD",
    "POPPercentTimeInCAS",
    "POPPercentTimeInMailboxRPC",
    "PowerShellMaxConcurrency",
    "PowerShellMaxTenantConcurrency",
    "PowerShellMaxCmdlets",
    "PowerShellMaxCmdletsTimePeriod",
    "ExchangeMaxCmdlets",
    "PowerShellMaxCmdletQueueDepth",
    "PowerShellMaxDestructiveCmdlets",
    "PowerShellMaxDestructiveCmdletsTimePeriod",
    "RCAMaxConcurrency",
    "RCAPercentTimeInAD",
    "RCAPercentTimeInCAS",
    "RCAPercentTimeInMailboxRPC",
    "CPAMaxConcurrency",
    "CPAPercentTimeInCAS",
    "CPAPercentTimeInMailboxRPC",
    "MessageRateLimit",
    "RecipientRateLimit",
    "ForwardeeLimit",
    "CPUStartPercent",
)

# The 2010 SP1+ default policy. Sources and assumptions are listed in the folder README.
DEFAULT_POLICY_VALUES: dict[str, int | None] = {
    "AnonymousMaxConcurrency": 1,
    "EASMaxConcurrency": 10,
    "EASMaxDevices": 10,
    "EWSMaxConcurrency": 10,
    "EWSPercentTimeInAD": 50,
    "EWSPercentTimeInCAS": 90,
    "EWSPercentTimeInMailboxRPC": 60,
    "EWSMaxSubscriptions": 5000,
    "EWSFastSearchTimeoutInSeconds": 60,
    "EWSFindCountLimit": 1000,
    "IMAPMaxConcurrency": 20,
    "OWAMaxConcurrency": 5,
    "OWAPercentTimeInAD": 30,
    "OWAPercentTimeInCAS": 150,
    "OWAPercentTimeInMailboxRPC": 150,
    "POPMaxConcurrency": 20,
    "PowerShellMaxConcurrency": 18,
    "RCAMaxConcurrency": 20,
    "RCAPercentTimeInAD": 5,
    "RCAPercentTimeInCAS": 205,
    "RCAPercentTimeInMailboxRPC": 200,
    "CPAMaxConcurrency": 20,
    "CPAPercentTimeInCAS": 205,
    "CPAPercentTimeInMailboxRPC": 200,
    "CPUStartPercent": 75,
}
UCCX_POLICY_VALUES: dict[str, int | None] = {}  # every setting $null: no limit for the UCCX mailbox


@dataclass(frozen=True)
class Policy:
    name: str
    guid: str
    is_default: bool
    values: dict[str, int | None]
    created: datetime.datetime


DEFAULT_POLICY = Policy(
    "DefaultThrottlingPolicy_5d1e2f8a-7c3b-4e9a-9f21-6b8d0c4a3e57",
    "a4c2e8f1-3b5d-4a7e-9c1f-2d6b8e0a4f93",
    True,
    DEFAULT_POLICY_VALUES,
    INSTALLED,
)
UCCX_POLICY = Policy(
    "UCCX", "e7b3d1a9-5f2c-4e8b-a6d0-1c9f3b7e5a24", False, UCCX_POLICY_VALUES, when("2026-11-23T09:40:18")
)


def policy_dn(name: str) -> str:
    return f"CN={name},CN=Global Settings,{ORG.org_dn}"


def throttling_policies(policies: Sequence[Policy]) -> list[Obj]:
    out: list[Obj] = []
    for policy in policies:
        dn = policy_dn(policy.name)
        identity = ad_id("Identity", policy.name, dn, policy.guid, "Global Settings")
        tail = AdTail(
            identity,
            policy.guid,
            ("ms-Exch-Throttling-Policy", "5e3f7a1b-0003-4c2d-8e9f-0a1b2c3d4e5f"),
            ("top", "msExchGenericPolicy", "msExchThrottlingPolicy"),
            policy.created,
            policy.created,
            E2010_VERSION,
        )
        settings = [u32(name, policy.values.get(name)) for name in THROTTLING_SETTINGS]
        props: list[Node] = [
            b("IsDefault", policy.is_default),
            *settings,
            *tail.nodes(dn, policy.name, presentation=True),
        ]
        out.append(
            Obj(
                None,
                ("Microsoft.Exchange.Data.Directory.Management.ThrottlingPolicy", *PRESENTATION_BASES),
                to_string=policy.name,
                props=props,
                ms=session_members(),
            )
        )
    return out


MAILBOX_DN = f"CN=UCCX Email,CN=Users,{ORG.domain_dn}"
MAILBOX_GUID = "2b9e4f71-8a3c-4d5e-b1f0-6c7a9d2e3f48"
DATABASE = ("Mailbox Database 1043268715", "9f1e3a7c-2d5b-4c86-a0e9-7b3d1f5c8a62")


def smtp_address(name: str, address: str) -> Obj:
    local, _, domain = address.partition("@")
    return Obj(
        name,
        ("Microsoft.Exchange.Data.SmtpAddress", "System.ValueType", "System.Object"),
        to_string=address,
        props=[
            i32("Length", len(address)),
            s("Local", local),
            s("Domain", domain),
            s("Address", address),
            b("IsValidAddress", True),
        ],
    )


PROXY_ADDRESS = f"Microsoft.Exchange.Data.ProxyAddress, {EXCHANGE_DATA}"


def mailbox(policy: Policy | None, changed: datetime.datetime) -> list[Obj]:
    alias, address = "uccx", f"uccx@{ORG.domain}"
    db_dn = f"CN={DATABASE[0]},CN=Databases,CN={ORG.admin_group},CN=Administrative Groups,{ORG.org_dn}"
    proxy_collection = (
        "Microsoft.Exchange.Data.ProxyAddressCollection",
        f"Microsoft.Exchange.Data.ProxyAddressBaseCollection`1[[{PROXY_ADDRESS}]]",
        f"Microsoft.Exchange.Data.MultiValuedProperty`1[[{PROXY_ADDRESS}]]",
        "Microsoft.Exchange.Data.MultiValuedPropertyBase",
        "System.Object",
    )
    proxy = Obj(
        None,
        (
            "Microsoft.Exchange.Data.SmtpProxyAddress",
            "Microsoft.Exchange.Data.ProxyAddress",
            "Microsoft.Exchange.Data.ProxyAddressBase",
            "System.Object",
        ),
        to_string=f"SMTP:{address}",
        props=[
            s("SmtpAddress", address),
            s("AddressString", address),
            s("ProxyAddressString", f"SMTP:{address}"),
            s("Prefix", "SMTP"),
            b("IsPrimaryAddress", True),
            s("PrefixString", "SMTP"),
        ],
    )
    throttling: Node = (
        Nil("ThrottlingPolicy")
        if policy is None
        else ad_id("ThrottlingPolicy", policy.name, policy_dn(policy.name), policy.guid, "Global Settings")
    )
    unlimited_size = (
        "Microsoft.Exchange.Data.Unlimited`1[[Microsoft.Exchange.Data.ByteQuantifiedSize, " + EXCHANGE_DATA + "]]",
        "System.ValueType",
        "System.Object",
    )
    ns = "Microsoft.Exchange.Data.Directory.Recipient"
    identity = ad_id("Identity", f"{USERS_PARENT}/UCCX Email", MAILBOX_DN, MAILBOX_GUID, USERS_PARENT)
    tail = AdTail(
        identity,
        MAILBOX_GUID,
        ("Person", "7c1d2e3f-0004-4a5b-8c9d-0e1f2a3b4c5d"),
        ("top", "person", "organizationalPerson", "user"),
        changed,
        when("2025-04-02T11:48:30"),
        E2010_VERSION,
    )
    props: list[Node] = [
        ad_id("Database", DATABASE[0], db_dn, DATABASE[1], "Databases"),
        b("DeliverToMailboxAndForward", False),
        b("UseDatabaseQuotaDefaults", True),
        Obj("ProhibitSendQuota", unlimited_size, to_string="unlimited", props=[b("IsUnlimited", True)]),
        Obj("ProhibitSendReceiveQuota", unlimited_size, to_string="unlimited", props=[b("IsUnlimited", True)]),
        Obj("IssueWarningQuota", unlimited_size, to_string="unlimited", props=[b("IsUnlimited", True)]),
        s("ServerLegacyDN", f"{ORG.legacy_dn_prefix}/cn=Configuration/cn=Servers/cn={ORG.server}"),
        s("ServerName", ORG.server.lower()),
        throttling,
        b("IsMailboxEnabled", True),
        b("IsResource", False),
        b("IsShared", False),
        s("SamAccountName", alias),
        s("UserPrincipalName", address),
        s("Alias", alias),
        s("DisplayName", "UCCX Email"),
        Obj("EmailAddresses", proxy_collection, lst=[proxy]),
        b("HiddenFromAddressListsEnabled", False),
        s("LegacyExchangeDN", f"{ORG.legacy_dn_prefix}/cn=Recipients/cn={alias}"),
        smtp_address("PrimarySmtpAddress", address),
        enum("RecipientType", f"{ns}.RecipientType", "UserMailbox", 7),
        Obj(
            "RecipientTypeDetails",
            (f"{ns}.RecipientTypeDetails", *ENUM_BASES),
            to_string="UserMailbox",
            enum_value=1,
        ),
        smtp_address("WindowsEmailAddress", address),
        s("OrganizationalUnit", USERS_PARENT),
        *tail.nodes(MAILBOX_DN, "UCCX Email", presentation=True),
    ]
    mailbox_types = (
        "Microsoft.Exchange.Data.Directory.Management.Mailbox",
        "Microsoft.Exchange.Data.Directory.Management.MailEnabledOrgPerson",
        "Microsoft.Exchange.Data.Directory.Management.MailEnabledRecipient",
        *PRESENTATION_BASES,
    )
    return [Obj(None, mailbox_types, to_string="UCCX Email", props=props, ms=session_members())]


def organization_config() -> list[Obj]:
    identity = ad_id("Identity", ORG.name, ORG.org_dn, ORG_GUID, "Microsoft Exchange")
    tail = AdTail(
        identity,
        ORG_GUID,
        ("ms-Exch-Organization-Container", "cd2e5d0f-3ddb-4297-b1de-71793b46eba8"),
        ("top", "container", "msExchOrganizationContainer"),
        when("2026-06-18T16:02:44"),
        INSTALLED,
        E2010_VERSION,
    )
    props: list[Node] = [
        Obj(
            "OrganizationId",
            ("Microsoft.Exchange.Data.Directory.OrganizationId", "System.Object"),
            to_string="",
            props=[Nil("OrganizationalUnit"), Nil("ConfigurationUnit")],
        ),
        s("Name", ORG.name),
        i32("ObjectVersion", 13236),
        Nil("DefaultPublicFolderAgeLimit"),
        b("MailTipsAllTipsEnabled", True),
        b("MailTipsExternalRecipientsTipsEnabled", False),
        b("MailTipsGroupMetricsEnabled", True),
        Prim("U32", "MailTipsLargeAudienceThreshold", "25"),
        b("MailTipsMailboxSourcedTipsEnabled", True),
        b("ReadTrackingEnabled", False),
        b("IsMixedMode", False),
        b("PublicFoldersEnabled", True),
        s("LegacyExchangeDN", f"/o={ORG.name}"),
        *tail.nodes(ORG.org_dn, ORG.name, presentation=True),
    ]
    return [
        Obj(
            None,
            ("Microsoft.Exchange.Data.Directory.Management.OrganizationConfig", *PRESENTATION_BASES),
            to_string=ORG.name,
            props=props,
            ms=session_members(),
        )
    ]


def ad_permissions(granted: bool) -> list[Obj]:
    if not granted:
        return []
    rights_enum = ("System.DirectoryServices.ActiveDirectoryRights", *ENUM_BASES)
    extended = (
        "Microsoft.Exchange.Data.MultiValuedProperty`1[[Microsoft.Exchange.Management.RecipientTasks."
        "ExtendedRightIdParameter, Microsoft.Exchange.Management, Version=14.0.0.0, Culture=neutral, "
        "PublicKeyToken=31bf3856ad364e35]]",
        "Microsoft.Exchange.Data.MultiValuedPropertyBase",
        "System.Object",
    )
    user = f"{ORG.name}\\uccx"
    props: list[Node] = [
        Obj(
            "AccessRights",
            ("System.DirectoryServices.ActiveDirectoryRights[]", "System.Array", "System.Object"),
            lst=[Obj(None, rights_enum, to_string="ExtendedRight", enum_value=256)],
        ),
        Obj("ExtendedRights", extended, lst=[s(None, "View Information Store status")]),
        Nil("ChildObjectTypes"),
        Nil("InheritedObjectType"),
        Nil("Properties"),
        b("Deny", False),
        enum("InheritanceType", "System.DirectoryServices.ActiveDirectorySecurityInheritance", "All", 1),
        Obj(
            "User",
            (
                "Microsoft.Exchange.Configuration.Tasks.SecurityPrincipalIdParameter",
                "Microsoft.Exchange.Configuration.Tasks.ADIdParameter",
                "System.Object",
            ),
            to_string=user,
            props=[s("RawIdentity", user)],
        ),
        ad_id("Identity", ORG.org_dn, ORG.org_dn, ORG_GUID, "Microsoft Exchange"),
        b("IsInherited", False),
        b("IsValid", True),
        enum("ObjectState", "Microsoft.Exchange.Data.ObjectState", "Unchanged", 1),
    ]
    types = (
        "Microsoft.Exchange.Management.RecipientTasks.ADAcePresentationObject",
        "Microsoft.Exchange.Management.RecipientTasks.AcePresentationObject",
        "Microsoft.Exchange.Data.ConfigurableObject",
        "System.Object",
    )
    return [Obj(None, types, to_string=user, props=props, ms=session_members())]


# Per-server reads go through Invoke-Command, so PowerShell remoting deserializes them before
# Export-Clixml writes them: every type name carries "Deserialized.", nested objects beyond the
# remoting depth (1) arrive as their ToString, and Invoke-Command adds PSComputerName & co.
DESERIALIZED_OBJECT = "Deserialized.System.Object"
INVOKE_RUNSPACE_ID = "b8e2c4a6-1f3d-4b5e-9a7c-0d2f4e6a8c13"


def invoke_members() -> list[Node]:
    return [
        s("PSComputerName", ORG.server),
        g("RunspaceId", INVOKE_RUNSPACE_ID),
        b("PSShowComputerName", True),
    ]


def store_registry(service_sessions: int | None) -> list[Obj]:
    key = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\MSExchangeIS"
    provider = r"Microsoft.PowerShell.Core\Registry::"
    values: list[Node] = [s("Working Directory", r"C:\Program Files\Microsoft\Exchange Server\V14\Mailbox\MDBTEMP")]
    if service_sessions is not None:
        values.append(i32("Maximum Allowed Service Sessions Per User", service_sessions))
    members: list[Node] = [
        *values,
        s("PSPath", f"{provider}{key}\\ParametersSystem"),
        s("PSParentPath", f"{provider}{key}"),
        s("PSChildName", "ParametersSystem"),
        s("PSDrive", "HKLM"),
        s("PSProvider", r"Microsoft.PowerShell.Core\Registry"),
        *invoke_members(),
    ]
    text = "@{" + "; ".join(f"{m.name}={m.text}" for m in members[:-3] if isinstance(m, Prim)) + "}"
    return [
        Obj(
            None,
            ("Deserialized.System.Management.Automation.PSCustomObject", DESERIALIZED_OBJECT),
            to_string=text,
            ms=members,
        )
    ]


@dataclass(frozen=True)
class Event:
    provider: str
    event_id: int
    level: tuple[str, int]  # LevelDisplayName, Level
    task: str
    record_id: int
    time: datetime.datetime
    message: str


def session_limit_event(record_id: int, time: datetime.datetime) -> Event:
    message = (
        f'Mapi session "{ORG.legacy_dn_prefix}/cn=Recipients/cn=uccx" with client type "MoMT" '
        'exceeded the maximum of 16 objects of type "session".'
    )
    return Event("MSExchangeIS", 9646, ("Error", 2), "General", record_id, time, message)


DEFAULT_EVENTS = (
    session_limit_event(48211, when("2026-11-20T09:12:44.531628")),
    session_limit_event(48377, when("2026-11-21T14:03:09.204117")),
    Event(
        "MSExchangeTransport",
        1021,
        ("Warning", 3),
        "SmtpReceive",
        48402,
        when("2026-11-21T16:47:51.880352"),
        f'Receive connector "Default {ORG.server}" rejected an incoming connection from IP address '
        "10.0.20.15. "
        "The maximum number of connections per source (20) for this connector has been reached by this "
        "source IP address.",
    ),
    session_limit_event(48519, when("2026-11-22T08:30:26.117904")),
)


def win_events(events: Sequence[Event]) -> list[Obj]:
    types = (
        "Deserialized.System.Diagnostics.Eventing.Reader.EventLogRecord",
        "Deserialized.System.Diagnostics.Eventing.Reader.EventRecord",
        DESERIALIZED_OBJECT,
    )
    out: list[Obj] = []
    for event in events:
        props: list[Node] = [
            i32("Id", event.event_id),
            Nil("Version"),
            i32("Qualifiers", 49156 if event.level[1] == 2 else 32772),
            Prim("By", "Level", str(event.level[1])),
            i32("Task", 1 if event.task == "General" else 12),
            Nil("Opcode"),
            Prim("I64", "Keywords", "36028797018963968"),
            Prim("I64", "RecordId", str(event.record_id)),
            s("ProviderName", event.provider),
            Nil("ProviderId"),
            s("LogName", "Application"),
            Nil("ProcessId"),
            Nil("ThreadId"),
            s("MachineName", f"{ORG.server}.{ORG.domain}"),
            Nil("UserId"),
            dt("TimeCreated", event.time),
            Nil("ActivityId"),
            Nil("RelatedActivityId"),
            s("ContainerLog", "Application"),
            s("MatchedQueryIds", "System.Int32[]"),
            s("Bookmark", "System.Diagnostics.Eventing.Reader.EventBookmark"),
            s("LevelDisplayName", event.level[0]),
            Nil("OpcodeDisplayName"),
            s("TaskDisplayName", event.task),
            s("KeywordsDisplayNames", "System.Collections.ObjectModel.ReadOnlyCollection`1[System.String]"),
            s(
                "Properties",
                "System.Collections.Generic.List`1[System.Diagnostics.Eventing.Reader.EventProperty]",
            ),
            s("Message", event.message),
        ]
        out.append(
            Obj(
                None,
                types,
                to_string="System.Diagnostics.Eventing.Reader.EventLogRecord",
                props=props,
                ms=invoke_members(),
            )
        )
    return out


def services() -> list[Obj]:
    out: list[Obj] = []
    for name, display in (
        ("MSExchangeIMAP4", "Microsoft Exchange IMAP4"),
        ("MSExchangeIS", "Microsoft Exchange Information Store"),
    ):
        props: list[Node] = [
            s("Name", name),
            s("RequiredServices", "System.ServiceProcess.ServiceController[]"),
            b("CanPauseAndContinue", False),
            b("CanShutdown", True),
            b("CanStop", True),
            s("DisplayName", display),
            s("DependentServices", "System.ServiceProcess.ServiceController[]"),
            s("MachineName", "."),
            s("ServiceName", name),
            s("ServicesDependedOn", "System.ServiceProcess.ServiceController[]"),
            s("ServiceHandle", "SafeServiceHandle"),
            Obj(
                "Status",
                (
                    "Deserialized.System.ServiceProcess.ServiceControllerStatus",
                    "Deserialized.System.Enum",
                    "Deserialized.System.ValueType",
                    DESERIALIZED_OBJECT,
                ),
                to_string="Running",
                enum_value=4,
            ),
            Obj(
                "ServiceType",
                (
                    "Deserialized.System.ServiceProcess.ServiceType",
                    "Deserialized.System.Enum",
                    "Deserialized.System.ValueType",
                    DESERIALIZED_OBJECT,
                ),
                to_string="Win32OwnProcess",
                enum_value=16,
            ),
            Nil("Site"),
            Nil("Container"),
        ]
        out.append(
            Obj(
                None,
                (
                    "Deserialized.System.ServiceProcess.ServiceController",
                    "Deserialized.System.ComponentModel.Component",
                    "Deserialized.System.MarshalByRefObject",
                    DESERIALIZED_OBJECT,
                ),
                to_string="System.ServiceProcess.ServiceController",
                props=props,
                ms=invoke_members(),
            )
        )
    return out


# --------------------------------------------------------------------------------------------
# The two scenarios
# --------------------------------------------------------------------------------------------

SMTP_AUTH = ("Tls, Integrated, BasicAuth, BasicAuthRequireTLS, ExchangeServer", 31)
CLIENT_AUTH = ("Tls, Integrated, BasicAuth, BasicAuthRequireTLS", 15)
DEFAULT_GROUPS = ("ExchangeUsers, ExchangeServers, ExchangeLegacyServers", 14)
CLIENT_GROUPS = ("ExchangeUsers", 2)
DEFAULT_CONNECTOR_GUID = "75d6aeb5-1c4a-4c58-ab2c-0e7f3b9a1d26"
CLIENT_CONNECTOR_GUID = "3a9f6c2e-8d1b-47e0-b5a3-c4e8f2d0b917"


def connectors(default: ConnectorLimits, client: ConnectorLimits) -> list[Connector]:
    return [
        Connector(f"Default {ORG.server}", DEFAULT_CONNECTOR_GUID, 25, SMTP_AUTH, DEFAULT_GROUPS, default),
        Connector(f"Client {ORG.server}", CLIENT_CONNECTOR_GUID, 587, CLIENT_AUTH, CLIENT_GROUPS, client),
    ]


def collection_info(collected: datetime.datetime) -> bytes:
    lines = [
        f"CollectedAtUtc: {collected.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}",
        "EventLookbackDays: 7",
        f"CollectedBy: {ORG.name}\\exadmin",
        "CollectorVersion: 1.0.0",
        f"Servers: {ORG.server}",
    ]
    # As the collector's Out-File -Encoding UTF8 writes it on Windows PowerShell: BOM, CRLF.
    return "\ufeff".encode() + ("\r\n".join(lines) + "\r\n").encode("utf-8")


def defaults_folder() -> dict[str, bytes]:
    smtp = ConnectorLimits(5000, 20, 2, None)
    client = ConnectorLimits(5000, 20, 2, 5)
    return {
        "GetExchangeServer.xml": render(exchange_server()),
        "GetImapSettings.xml": render(imap_settings(ImapLimits(10240, 2000, 2000, 16), INSTALLED)),
        "GetReceiveConnector.xml": render(receive_connectors(connectors(smtp, client), INSTALLED)),
        "GetThrottlingPolicy.xml": render(throttling_policies([DEFAULT_POLICY])),
        "GetMailbox.xml": render(mailbox(None, when("2025-04-02T11:48:31"))),
        "GetOrganizationConfig.xml": render(organization_config()),
        "GetADPermission.xml": render(ad_permissions(granted=False)),
        f"GetItemProperty-{ORG.server}.xml": render(store_registry(None)),
        f"GetWinEvent-{ORG.server}.xml": render(win_events(DEFAULT_EVENTS)),
        f"GetService-{ORG.server}.xml": render(services()),
        "collection.txt": collection_info(when("2026-11-22T17:05:31")),
    }


def compliant_folder() -> dict[str, bytes]:
    applied = when("2026-11-23T09:41:02")
    checklist = ConnectorLimits(5000, 250, 5, 250)
    return {
        "GetExchangeServer.xml": render(exchange_server()),
        "GetImapSettings.xml": render(imap_settings(ImapLimits(10240, 2000, 2400, 2400), applied)),
        "GetReceiveConnector.xml": render(receive_connectors(connectors(checklist, checklist), applied)),
        "GetThrottlingPolicy.xml": render(throttling_policies([DEFAULT_POLICY, UCCX_POLICY])),
        "GetMailbox.xml": render(mailbox(UCCX_POLICY, when("2026-11-23T09:40:55"))),
        "GetOrganizationConfig.xml": render(organization_config()),
        "GetADPermission.xml": render(ad_permissions(granted=True)),
        f"GetItemProperty-{ORG.server}.xml": render(store_registry(512)),
        f"GetWinEvent-{ORG.server}.xml": render(win_events([])),
        f"GetService-{ORG.server}.xml": render(services()),
        "collection.txt": collection_info(when("2026-11-24T10:15:48")),
    }


FOLDERS = {
    "exchange2010-sp3-defaults": defaults_folder,
    "exchange2010-sp3-compliant": compliant_folder,
}


def main() -> None:
    root = Path(__file__).resolve().parent / "facts"
    for folder, build in FOLDERS.items():
        target = root / folder
        target.mkdir(exist_ok=True)
        for name, content in build().items():
            (target / name).write_bytes(content)
        print(f"wrote {target.relative_to(root.parent.parent)}")


if __name__ == "__main__":
    main()
