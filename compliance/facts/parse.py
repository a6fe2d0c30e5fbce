"""Parsers: neutral PowerShell objects (``PSObj``) -> typed facts.

Like pyinfra's facts, each parser is small and named by what Exchange calls the thing. A parser
that meets an object it cannot understand raises ``FactError``; the caller turns that into an
unreadable ``Reading`` for that fact alone.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from compliance.facts.model import (
    AdPermissionEntry,
    EventRecord,
    ExchangeServer,
    ImapSettings,
    Mailbox,
    Organization,
    ReceiveConnector,
    RegistryKey,
    ServerVersion,
    ServiceState,
    Settings,
    ThrottlingPolicy,
)
from compliance.facts.psobject import PSObj
from compliance.facts.values import Setting, ad_object_name, normalize

T = TypeVar("T")

_VERSION_TEXT = re.compile(r"Version (\d+)\.(\d+) \(Build (\d+)\.(\d+)\)")
_ROLE_FLAGS = {
    "IsMailboxServer": "Mailbox",
    "IsClientAccessServer": "ClientAccess",
    "IsHubTransportServer": "HubTransport",
    "IsEdgeServer": "Edge",
}
# Properties every Exchange object carries that are not settings anyone baselines, and the ones
# PowerShell's remoting client adds on receipt (an export from a remote session has them; objects
# read over PSRP by pypsrp do not), so live and offline facts compare equal.
_NOT_SETTINGS = {
    "identity",
    "name",
    "server",
    "distinguishedname",
    "guid",
    "id",
    "runspaceid",
    "pscomputername",
    "psshowcomputername",
}


class FactError(ValueError):
    """An object did not have the shape its cmdlet returns."""


def objects(raw: Iterable[Any], type_prefix: str | None) -> list[PSObj]:
    """The complex objects in an export, checked against their expected type (matched by suffix)."""
    result = []
    for item in raw:
        if not isinstance(item, PSObj):
            raise FactError(f"expected objects, found {type(item).__name__} {str(item)[:40]!r}")
        if type_prefix and not item.is_type(type_prefix):
            raise FactError(f"expected {type_prefix} objects, found {item.type_names[0] if item.type_names else '?'}")
        result.append(item)
    return result


def _text(obj: PSObj, name: str, *, required: bool = True) -> str | None:
    value = obj.get(name)
    if value is None or value == "":
        if required:
            raise FactError(f"{obj.type_names[0] if obj.type_names else 'object'} has no {name}")
        return None
    return ad_object_name(value) if isinstance(value, PSObj) and name != "Identity" else str(value)


def _settings(obj: PSObj, *, null_means_unlimited: bool = False) -> Settings:
    values: dict[str, Setting] = {}
    for name in obj.names():
        if name.casefold() in _NOT_SETTINGS:
            continue
        values[name] = normalize(obj.get(name), null_means_unlimited=null_means_unlimited)
    return Settings(values)


def server_version(raw: Any) -> ServerVersion | None:
    if isinstance(raw, PSObj) and isinstance(raw.get("Major"), int):
        return ServerVersion(raw.get("Major"), raw.get("Minor", 0), raw.get("Build", 0), raw.get("Revision", 0))
    match = _VERSION_TEXT.search(str(raw)) if raw is not None else None
    if match:
        major, minor, build, revision = (int(g) for g in match.groups())
        return ServerVersion(major, minor, build, revision)
    return None


def exchange_servers(raw: Iterable[Any]) -> list[ExchangeServer]:
    servers = []
    for obj in objects(raw, "Microsoft.Exchange.Data.Directory.Management.ExchangeServer"):
        role_text = str(obj.get("ServerRole") or "")
        roles = {r.strip() for r in role_text.split(",") if r.strip() and r.strip() != "None"}
        roles |= {role for flag, role in _ROLE_FLAGS.items() if obj.get(flag) is True}
        servers.append(
            ExchangeServer(
                name=str(_text(obj, "Name")),
                fqdn=_text(obj, "Fqdn", required=False),
                version=server_version(obj.get("AdminDisplayVersion")),
                roles=frozenset(roles),
            )
        )
    return servers


def imap_settings(raw: Iterable[Any]) -> list[ImapSettings]:
    return [
        ImapSettings(server=str(_text(obj, "Server")), settings=_settings(obj))
        for obj in objects(raw, "Microsoft.Exchange.Data.Directory.SystemConfiguration.Imap4AdConfiguration")
    ]


def receive_connectors(raw: Iterable[Any]) -> list[ReceiveConnector]:
    connectors = []
    for obj in objects(raw, "Microsoft.Exchange.Data.Directory.SystemConfiguration.ReceiveConnector"):
        identity = str(_text(obj, "Identity"))
        server = _text(obj, "Server", required=False) or identity.split("\\", 1)[0]
        name = _text(obj, "Name", required=False) or identity.split("\\", 1)[-1]
        connectors.append(ReceiveConnector(identity, server, name, _settings(obj)))
    return connectors


def throttling_policies(raw: Iterable[Any]) -> list[ThrottlingPolicy]:
    policies = []
    for obj in objects(raw, "Microsoft.Exchange.Data.Directory.Management.ThrottlingPolicy"):
        # Exchange 2010 settings are Nullable<UInt32> and $null means "no limit". 2013+ policies
        # (recognisable by ThrottlingPolicyScope) say Unlimited instead, and there $null means
        # "not set here: inherit from the organization/global policy".
        is_2010 = not obj.has("ThrottlingPolicyScope")
        policies.append(
            ThrottlingPolicy(
                name=str(_text(obj, "Name")),
                is_default=obj.get("IsDefault") is True,
                settings=_settings(obj, null_means_unlimited=is_2010),
            )
        )
    return policies


def mailbox(raw: Iterable[Any]) -> Mailbox:
    found = objects(raw, "Microsoft.Exchange.Data.Directory.Management.Mailbox")
    if len(found) != 1:
        raise FactError(f"expected one mailbox, found {len(found)}")
    obj = found[0]
    return Mailbox(
        identity=str(_text(obj, "Identity")),
        alias=_text(obj, "Alias", required=False),
        name=_text(obj, "Name", required=False),
        distinguished_name=_text(obj, "DistinguishedName", required=False),
        throttling_policy=ad_object_name(obj.get("ThrottlingPolicy")),
    )


def organization(raw: Iterable[Any]) -> Organization:
    found = objects(raw, "Microsoft.Exchange.Data.Directory.Management.OrganizationConfig")
    if len(found) != 1:
        raise FactError(f"expected one organization, found {len(found)}")
    return Organization(name=str(_text(found[0], "Name")), distinguished_name=str(_text(found[0], "DistinguishedName")))


def _strings(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, list):
        return tuple(str(item) for item in raw)
    if isinstance(raw, PSObj) and isinstance(raw.value, list):
        return tuple(str(item) for item in raw.value)
    return tuple(part.strip() for part in str(raw).split(",") if part.strip())


def ad_permissions(raw: Iterable[Any]) -> list[AdPermissionEntry]:
    return [
        AdPermissionEntry(
            user=str(obj.get("User") or ""),
            identity=str(obj.get("Identity") or ""),
            extended_rights=_strings(obj.get("ExtendedRights")),
            access_rights=_strings(obj.get("AccessRights")),
            deny=obj.get("Deny") is True,
            inherited=obj.get("IsInherited") is True,
        )
        for obj in objects(raw, None)
    ]


def registry_path(ps_path: str) -> str:
    """``Microsoft.PowerShell.Core\\Registry::HKEY_LOCAL_MACHINE\\SYSTEM\\...`` -> ``HKLM\\SYSTEM\\...``."""
    path = ps_path.split("::", 1)[-1]
    for long, short in (("HKEY_LOCAL_MACHINE", "HKLM"), ("HKLM:", "HKLM")):
        if path.upper().startswith(long):
            path = short + path[len(long) :]
    return path.rstrip("\\")


def registry_keys(server: str, raw: Iterable[Any]) -> list[RegistryKey]:
    keys = []
    for obj in objects(raw, None):
        ps_path = obj.get("PSPath")
        if not isinstance(ps_path, str):
            raise FactError("registry object has no PSPath")
        values = {
            name: normalize(obj.get(name))
            for name in obj.names()
            if not name.startswith("PS") and name.casefold() not in _NOT_SETTINGS
        }
        keys.append(RegistryKey(server, registry_path(ps_path), Settings(values)))
    return keys


def events(server: str, raw: Iterable[Any]) -> list[EventRecord]:
    records = []
    for obj in objects(raw, None):
        event_id = obj.get("Id")
        if not isinstance(event_id, int):
            raise FactError("event record has no Id")
        when = obj.get("TimeCreated")
        records.append(
            EventRecord(
                server=server,
                event_id=event_id,
                provider=str(obj.get("ProviderName") or ""),
                time=when if isinstance(when, datetime.datetime) else None,
                message=str(obj.get("Message") or ""),
            )
        )
    return records


def services(server: str, raw: Iterable[Any]) -> list[ServiceState]:
    return [ServiceState(server, str(_text(obj, "Name")), str(obj.get("Status") or "")) for obj in objects(raw, None)]


def guarded(parse: Callable[[], T], where: str) -> tuple[T | None, str | None]:
    """Run a parser; a shape error becomes a reason naming ``where``."""
    try:
        return parse(), None
    except FactError as exc:
        return None, f"{where}: {exc}"
