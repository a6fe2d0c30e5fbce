"""The simulated organization: the objects of one fact folder, as the lab's cmdlets see them.

A fact folder (docs/fact-folder.md) holds one ``Export-Clixml`` file per cmdlet. The lab loads
every ``*.xml`` with psrpcore, strips the ``Deserialized.`` prefixes psrpcore and remote exports
add (so objects go out with their live type names and the client adds its own prefix, as with a
real server), and keeps the objects per file. Cmdlets read and change them in place under
``lock``; ``snapshot()`` turns the whole state into plain, comparable data for tests.

Many organizations of one scenario (``compliance.lab.fleet``) share the loaded objects until one
of them changes something: ``LabState.sharing(template)`` is a state of its own (lock, restarts,
service and registry times) that reads the template's objects, and ``unshare()`` loads its own
copy of the folder first. Loading costs about 0.2 s of CPU per organization (psrpcore's
deserialization), which a thousand read-only audits must not pay; ``copy.deepcopy`` and pickle
do not work on psrpcore objects (the type names are lost; the lab's enum classes are made on the
fly), so the copy is a fresh load.
"""

from __future__ import annotations

import datetime
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psrpcore.types import PSObject, deserialize_clixml

from compliance.errors import InputError
from compliance.kinds.exchange_server import ROLE_FLAGS
from compliance.lab.enums import as_enum, is_enum_like
from compliance.lab.properties import prop
from compliance.lab.values import set_property
from compliance.lab.wire import WireCache

EXCHANGE_SERVER_FILE = "GetExchangeServer"
IMAP_SETTINGS_FILE = "GetImapSettings"
RECEIVE_CONNECTOR_FILE = "GetReceiveConnector"
THROTTLING_POLICY_FILE = "GetThrottlingPolicy"
MAILBOX_FILE = "GetMailbox"
ORGANIZATION_FILE = "GetOrganizationConfig"
AD_PERMISSION_FILE = "GetADPermission"
_DESERIALIZED = "Deserialized."
# psrpcore wants a session cipher only for SecureString values; fact files and lab objects have none.
NO_CIPHER: Any = None
# Notes a PowerShell *client* adds to objects from a remote session; a server never sends them.
_CLIENT_NOTES = frozenset({"pscomputername", "runspaceid", "psshowcomputername"})


@dataclass(frozen=True)
class ServerInfo:
    """What the lab needs to know about one Exchange server."""

    name: str
    fqdn: str
    roles: tuple[str, ...]


SERVICE_START_FILE = "GetServiceStartTime"
REGISTRY_KEY_TIME_FILE = "GetRegistryKeyTime"


def _roles(server: Any) -> tuple[str, ...]:
    """2013+ servers print ServerRole "Mailbox" alone; the Is*Server flags say what else they run
    (tests/fixtures/real/E19-GetExchangeServer.xml), read as ``compliance.kinds.exchange_server`` does."""
    roles = [r.strip() for r in str(prop(server, "ServerRole") or "").split(",") if r.strip()]
    roles += [role for flag, role in ROLE_FLAGS.items() if prop(server, flag) is True and role not in roles]
    return tuple(roles)


class LabState:
    """Objects per fact file name (``GetReceiveConnector``, ``GetItemProperty-EX01`` ...)."""

    def __init__(self, objects: dict[str, list[Any]], source: Path | None = None) -> None:
        self.objects = objects
        self.source = source
        self.lock = threading.RLock()
        # Restart-Service calls as (server, service name): what a plan's restarts really did.
        self.service_restarts: list[tuple[str, str]] = []
        # When each (server, service) process started: the lab's start, until Restart-Service.
        self.started_at = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        self.service_started: dict[tuple[str, str], datetime.datetime] = {}
        # After Restart-Service a service reports "Start Pending" (no process) this many seconds,
        # as a real one does while it starts; apply must wait for Running (tests set it).
        self.restart_takes = datetime.timedelta(0)
        self.service_pending_until: dict[tuple[str, str], datetime.datetime] = {}
        # False: Restart-Service succeeds but the process keeps its start (a restart that did not
        # happen, which apply must report as failed).
        self.restart_moves_start = True
        self.service_started.update(self._scenario_starts())
        # When each (server, HKLM\subkey) was last written: the scenario's GetRegistryKeyTime file,
        # then New-/Set-/Remove-ItemProperty. A key the scenario does not date has no known time.
        self.registry_written: dict[tuple[str, str], datetime.datetime] = self._scenario_key_times()
        self._shared = False  # True: ``objects`` are a template's, read only until ``unshare()``
        self._event_shift = datetime.timedelta(0)  # what shift_event_times moved the events by
        # While shared: the template's serialized outputs (compliance.lab.wire), one for all sharers.
        self.wire: WireCache | None = None
        self._wire_of_sharers: WireCache | None = None

    @classmethod
    def sharing(cls, template: LabState) -> LabState:
        """A state of its own that reads ``template``'s objects until its first change (module docstring)."""
        if template.source is None:
            raise ValueError("only a state loaded from a folder can be shared (unshare() reloads it)")
        state = cls(template.objects, template.source)
        state.started_at = template.started_at
        state.service_started = dict(template.service_started)
        state.registry_written = dict(template.registry_written)
        state._event_shift = template._event_shift
        state._shared = True
        if template._wire_of_sharers is None:
            template._wire_of_sharers = WireCache(template.objects)
        state.wire = template._wire_of_sharers
        return state

    @property
    def shared(self) -> bool:
        return self._shared

    def unshare(self) -> None:
        """Load this state's own objects before its first change; nothing to do if it has them."""
        with self.lock:
            if not self._shared:
                return
            assert self.source is not None  # sharing() refuses a state without a folder
            own = LabState.from_folder(self.source)
            own._shift_events(self._event_shift)
            self.objects = own.objects
            self._shared = False
            self.wire = None  # its own objects change: serialized as they are sent

    def _per_server(self, stem: str) -> Iterator[tuple[str, list[Any]]]:
        """(server in lower case, objects) of each ``<stem>-<SERVER>`` file of the scenario."""
        for name, items in self.objects.items():
            if name.startswith(stem + "-"):
                yield name[len(stem) + 1 :].lower(), items

    def _scenario_key_times(self) -> dict[tuple[str, str], datetime.datetime]:
        from compliance.kinds.registry_key_time import key_time

        times: dict[tuple[str, str], datetime.datetime] = {}
        for server, items in self._per_server(REGISTRY_KEY_TIME_FILE):
            for item in items:
                when = key_time(prop(item, "LastWriteTimeUtc"))
                if when is not None:
                    times[(server, str(prop(item, "Path")).lower())] = when
        return times

    def registry_key_written(self, server: str, path: str) -> None:
        r"""A value of ``path`` (``HKLM\SYSTEM\...``) on ``server`` was just written."""
        moment = datetime.datetime.now(datetime.timezone.utc)
        with self.lock:
            self.registry_written[(server.lower(), path.lower())] = moment

    def _scenario_starts(self) -> dict[tuple[str, str], datetime.datetime]:
        """The services' start times a scenario folder records (``GetServiceStartTime-<SERVER>``:
        Win32_Service joined to Win32_Process by ProcessId), so the lab's processes started when the
        scenario's did; a scenario without that file starts them with the lab."""
        from compliance.kinds.service_start import dmtf_time

        starts: dict[tuple[str, str], datetime.datetime] = {}
        for server, items in self._per_server(SERVICE_START_FILE):
            created = {
                prop(o, "ProcessId"): prop(o, "CreationDate") for o in items if prop(o, "CreationDate") is not None
            }
            for service in (o for o in items if prop(o, "CreationDate") is None and prop(o, "Name")):
                when = created.get(prop(service, "ProcessId"))
                if isinstance(when, str):
                    starts[(server, str(prop(service, "Name")).lower())] = dmtf_time(when)
        return starts

    @classmethod
    def from_folder(cls, path: str | Path) -> LabState:
        folder = Path(path)
        if not folder.is_dir():
            raise InputError(f"{folder}: not a fact folder (no such directory)")
        objects: dict[str, list[Any]] = {}
        for file in sorted(folder.glob("*.xml")):
            try:
                loaded = deserialize_clixml(file.read_text(encoding="utf-8-sig"), NO_CIPHER)
            except Exception as exc:  # psrpcore raises plain ValueError/ParseError/KeyError alike
                raise InputError(f"{file}: not a CLIXML export ({exc})") from None
            items = loaded if isinstance(loaded, list) else [loaded]
            objects[file.stem] = [strip_deserialized(item) for item in items]
        if EXCHANGE_SERVER_FILE not in objects:
            raise InputError(f"{folder}: no {EXCHANGE_SERVER_FILE}.xml, so no servers to simulate")
        return cls(objects, folder)

    def shift_event_times(self, delta: datetime.timedelta) -> None:
        """Move every event's TimeCreated by ``delta``.

        The scenarios' events were logged days before their collection time; ``lab serve`` and
        ``demo`` move them so they fall as recently before *now* as they fell before the collection,
        and the lookback window finds the same events whatever today's date is.
        """
        with self.lock:
            self.unshare()  # the events are objects: moving them is a change
            # The services started as long before now as they did before the collection, too.
            self.service_started = {key: when + delta for key, when in self.service_started.items()}
            self._shift_events(delta)
            self._event_shift += delta

    def _shift_events(self, delta: datetime.timedelta) -> None:
        for stem, items in self.objects.items():
            if not stem.startswith("GetWinEvent-"):
                continue
            for event in items:
                when = prop(event, "TimeCreated")
                if isinstance(when, datetime.datetime):
                    set_property(event, "TimeCreated", when + delta)

    def of(self, file_stem: str) -> list[Any]:
        """The objects of one fact file; an empty list if the folder did not have it."""
        return self.objects.setdefault(file_stem, [])

    @property
    def servers(self) -> list[ServerInfo]:
        return [
            ServerInfo(
                name=str(server.Name),
                fqdn=str(prop(server, "Fqdn") or server.Name),
                roles=_roles(server),
            )
            for server in self.of(EXCHANGE_SERVER_FILE)
        ]

    @property
    def organization(self) -> Any:
        found = self.of(ORGANIZATION_FILE)
        return found[0] if found else None

    @property
    def domain_controller(self) -> str:
        """The DC named in Exchange's "couldn't be found on '<DC>'" errors: DC01.<AD domain>."""
        dn = str(prop(self.organization, "DistinguishedName") or "DC=lab,DC=local")
        domain = ".".join(re.findall(r"DC=([^,]+)", dn, flags=re.IGNORECASE)) or "lab.local"
        return f"DC01.{domain}"

    def snapshot(self) -> dict[str, list[Any]]:
        """Plain data of every object: type names, ToString, typed property values."""
        with self.lock:
            return {stem: [plain(item) for item in items] for stem, items in sorted(self.objects.items())}


def strip_deserialized(value: Any) -> Any:
    """Undo what a remote client adds, recursively: every leading ``Deserialized.`` of the type
    names and the PSComputerName/RunspaceId/PSShowComputerName notes. Enum values become
    ``compliance.lab.enums`` instances so they go out with their type names and ToString."""
    for item in _walk(value):
        ps = item.PSObject
        ps.type_names = [_strip(name) for name in ps.type_names]
        ps.extended_properties[:] = [p for p in ps.extended_properties if p.name.lower() not in _CLIENT_NOTES]
    for item in _walk(value):
        for info in [*item.PSObject.adapted_properties, *item.PSObject.extended_properties]:
            if is_enum_like(info.get_value(item)):
                info.set_value(as_enum(info.get_value(item)), item)
        if isinstance(item, list):
            item[:] = [as_enum(element) for element in item]
    return as_enum(value)


def _strip(name: str) -> str:
    while name.startswith(_DESERIALIZED):
        name = name[len(_DESERIALIZED) :]
    return name


def _walk(value: Any) -> list[Any]:
    """Every psrpcore object reachable from ``value`` (properties, list items, dict entries)."""
    found: list[Any] = []
    stack = [value]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        ps = getattr(item, "PSObject", None)
        if ps is not None:
            found.append(item)
            stack.extend(info.get_value(item) for info in [*ps.adapted_properties, *ps.extended_properties])
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return found


def plain(value: Any) -> Any:
    """Comparable plain data for one value; the .NET type is kept so I32 20 != U32 20 != "20"."""
    if value is None:
        return None
    ps = getattr(value, "PSObject", None)
    data: dict[str, Any] = {"kind": type(value).__name__}
    if ps is not None:
        data["types"] = list(ps.type_names)
        data["to_string"] = ps.to_string if ps._to_string is not None else None
        data["props"] = {info.name: plain(info.get_value(value)) for info in ps.adapted_properties}
        data["extended"] = {info.name: plain(info.get_value(value)) for info in ps.extended_properties}
    if isinstance(value, dict):
        data["items"] = [[plain(k), plain(v)] for k, v in value.items()]
    elif isinstance(value, (list, tuple)):
        data["items"] = [plain(v) for v in value]
    elif isinstance(value, (str, int, float, bytes, datetime.datetime, datetime.timedelta)):
        data["value"] = value if not isinstance(value, bytes) else value.hex()
    elif not isinstance(value, PSObject) and ps is None:
        data["value"] = repr(value)
    return data
