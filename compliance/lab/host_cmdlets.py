"""The cmdlets of each server's own endpoint (``Microsoft.PowerShell``): registry, services, events.

Objects come from the server's files in the fact folder: ``GetItemProperty-<SERVER>.xml`` (one
registry key as a PSCustomObject), ``GetService-<SERVER>.xml`` (optional) and
``GetWinEvent-<SERVER>.xml``. Registry writes keep the registry type: a DWORD is an Int32.
"""

from __future__ import annotations

import datetime
import re
import zlib
from collections.abc import Iterable
from typing import Any

from psrpcore.types import PSCustomObject, PSInt, PSInt64, PSNoteProperty, PSString, PSUInt

from compliance.kinds import registry_key_time
from compliance.lab import records, values
from compliance.lab.cmdlet_base import Cmdlet, CmdletCall, CmdletError, cmdlet
from compliance.lab.enums import enum_value
from compliance.lab.properties import find_property, prop

_PROVIDER_PREFIX = "microsoft.powershell.core\\registry::"
_HIVES = {"hklm:": "HKEY_LOCAL_MACHINE", "hkcu:": "HKEY_CURRENT_USER"}
_PS_PROPERTIES = ("PSPath", "PSParentPath", "PSChildName", "PSDrive", "PSProvider")
# Used when a scenario has no GetService-<SERVER>.xml: the services the checklist restarts.
_DEFAULT_SERVICES = {
    "msexchangeis": ("MSExchangeIS", "Microsoft Exchange Information Store"),
    "msexchangeimap4": ("MSExchangeIMAP4", "Microsoft Exchange IMAP4"),
    "msexchangetransport": ("MSExchangeTransport", "Microsoft Exchange Transport"),
}


def _server(call: CmdletCall) -> str:
    if call.server is None:
        raise CmdletError(records.command_not_found(call.name))
    return call.server


# --- registry ----------------------------------------------------------------------------------


def _key_path(path: Any) -> str:
    """``HKLM:\\SYSTEM\\...`` or a provider path -> ``HKEY_LOCAL_MACHINE\\SYSTEM\\...``."""
    text = str(path).strip()
    if text.lower().startswith(_PROVIDER_PREFIX):
        text = text[len(_PROVIDER_PREFIX) :]
    for drive, hive in _HIVES.items():
        if text.lower().startswith(drive):
            text = hive + text[len(drive) :]
    return text.rstrip("\\")


def _registry_key(call: CmdletCall, path: Any) -> Any | None:
    wanted = _key_path(path).lower()
    for key in call.state.of(f"GetItemProperty-{_server(call)}"):
        if _key_path(prop(key, "PSPath") or "").lower() == wanted:
            return key
    call.write_error(records.registry_path_not_found(str(path), call.name))
    return None


def _value_names(key: Any) -> list[str]:
    return [p.name for p in key.PSObject.extended_properties if p.name not in _PS_PROPERTIES]


def _key_view(key: Any, names: Iterable[str]) -> PSCustomObject:
    """What Get-ItemProperty -Name / New-ItemProperty output: the values asked for plus PS* notes."""
    view = PSCustomObject()
    for name in [*names, *_PS_PROPERTIES]:
        info = find_property(key, name)
        if info is not None:
            view.PSObject.extended_properties.append(PSNoteProperty(info.name, value=info.get_value(key)))
    return view


def _registry_value(call: CmdletCall, kind: Any, raw: Any) -> Any:
    """Convert a value to the .NET type PowerShell's registry provider returns for ``kind``."""
    kind_name = str(kind or "").lower()
    try:
        if kind_name == "dword" or (not kind_name and isinstance(raw, int) and not isinstance(raw, bool)):
            number = int(raw)
            if not -(2**31) <= number < 2**32:
                raise ValueError(f'Cannot convert value "{raw}" to type "System.Int32".')
            # A DWORD is read back as a signed Int32 (0xFFFFFFFF reads as -1).
            return PSInt(number - 2**32 if number >= 2**31 else number)
        if kind_name == "qword":
            return PSInt64(int(raw))
    except ValueError as exc:
        raise CmdletError(records.argument_transformation(call.name, "Value", str(exc))) from None
    return PSString(str(raw))


def _target(key: Any, name: str) -> str:
    return f"Item: {_key_path(prop(key, 'PSPath'))} Property: {name}"


def get_item_property(call: CmdletCall) -> None:
    key = _registry_key(call, call.require("Path"))
    if key is None:
        return
    if "Name" not in call.params:
        call.write_output(key)
        return
    names = [str(n) for n in _as_list(call.params["Name"])]
    present = [n for n in names if find_property(key, n) is not None]
    for missing in (n for n in names if n not in present):
        call.write_error(records.registry_value_missing(missing, _key_path(prop(key, "PSPath")), call.name))
    if present:
        call.write_output(_key_view(key, present))


def new_item_property(call: CmdletCall) -> None:
    key = _registry_key(call, call.require("Path"))
    name = str(call.require("Name"))
    kind = call.params.get("PropertyType", call.params.get("Type"))
    value = _registry_value(call, kind, call.params.get("Value"))
    if key is None:
        return
    if find_property(key, name) is not None:
        call.write_error(records.registry_value_exists(call.name))
        return
    if call.should_process(_target(key, name), "New Property"):
        key.PSObject.extended_properties.append(PSNoteProperty(name, value=value))
        _written(call, key)
        call.write_output(_key_view(key, [name]))


def set_item_property(call: CmdletCall) -> None:
    key = _registry_key(call, call.require("Path"))
    name = str(call.require("Name"))
    if key is None:
        return
    existing = find_property(key, name)
    kind = call.params.get("Type")
    if kind is None and existing is not None:
        # Without -Type the registry keeps the value's kind: a DWORD stays a DWORD.
        kind = "DWord" if isinstance(existing.get_value(key), PSInt) else None
    value = _registry_value(call, kind, call.require("Value"))
    if not call.should_process(_target(key, name), "Set Property"):
        return
    if existing is not None:
        existing.set_value(value, key)
    else:
        key.PSObject.extended_properties.append(PSNoteProperty(name, value=value))
    _written(call, key)


def remove_item_property(call: CmdletCall) -> None:
    key = _registry_key(call, call.require("Path"))
    name = str(call.require("Name"))
    if key is None:
        return
    existing = find_property(key, name)
    if existing is None:
        call.write_error(records.registry_value_missing(name, _key_path(prop(key, "PSPath")), call.name))
        return
    if call.should_process(_target(key, name), "Remove Property"):
        key.PSObject.extended_properties.remove(existing)
        _written(call, key)


def _written(call: CmdletCall, key: Any) -> None:
    """Windows moves a key's last write time whenever one of its values is written or removed."""
    full = _key_path(prop(key, "PSPath"))  # HKEY_LOCAL_MACHINE\SYSTEM\...
    call.state.registry_key_written(_server(call), "HKLM" + full[len("HKEY_LOCAL_MACHINE") :])


# --- the registry key's last write time (compliance.kinds.registry_key_time) ----------------------


def add_type(call: CmdletCall) -> None:
    """Only uccx-compliance's own type is simulated: the lab compiles no C#."""
    if str(call.require("TypeDefinition")) != registry_key_time.SOURCE:
        raise CmdletError(records.argument_transformation(call.name, "TypeDefinition", "not simulated by the lab"))


def new_object(call: CmdletCall) -> None:
    if str(call.require("TypeName")) != registry_key_time.TYPE_NAME:
        raise CmdletError(records.argument_transformation(call.name, "TypeName", "not simulated by the lab"))
    [subkey] = [str(a) for a in _as_list(call.params.get("ArgumentList"))] or [""]
    path = f"HKLM\\{subkey}"
    when = call.state.registry_written.get((_server(call).lower(), path.lower()))
    written = None if when is None else when.strftime("%Y-%m-%dT%H:%M:%SZ")
    names = [registry_key_time.TYPE_NAME, "System.Object"]
    call.write_output(
        values.new_object(names, registry_key_time.TYPE_NAME, {"Path": path, "LastWriteTimeUtc": written})
    )


# --- services ----------------------------------------------------------------------------------


def _service_object(name: str, display_name: str) -> Any:
    status = enum_value(
        ["System.ServiceProcess.ServiceControllerStatus", "System.Enum", "System.ValueType", "System.Object"],
        "Running",
        4,
    )
    return values.new_object(
        [
            "System.ServiceProcess.ServiceController",
            "System.ComponentModel.Component",
            "System.MarshalByRefObject",
            "System.Object",
        ],
        "System.ServiceProcess.ServiceController",
        {
            "Name": name,
            "ServiceName": name,
            "DisplayName": display_name,
            "Status": status,
            "MachineName": ".",
        },
    )


def _services(call: CmdletCall) -> list[Any]:
    stem = f"GetService-{_server(call)}"
    if stem in call.state.objects:
        return call.state.of(stem)
    return [_service_object(name, display) for name, display in _DEFAULT_SERVICES.values()]


def _named_services(call: CmdletCall) -> list[Any]:
    services = _services(call)
    found = []
    for name in _as_list(call.require("Name")):
        matches = [
            s
            for s in services
            if str(name).lower() in {str(prop(s, "Name")).lower(), str(prop(s, "DisplayName")).lower()}
        ]
        if not matches:
            call.write_error(records.service_not_found(str(name), call.name))
        found.extend(matches)
    return found


def get_service(call: CmdletCall) -> None:
    for service in _named_services(call):
        call.write_output(service)


def restart_service(call: CmdletCall) -> None:
    for service in _named_services(call):
        name = str(prop(service, "Name"))
        if call.should_process(f"{prop(service, 'DisplayName')} ({name})"):
            call.state.service_restarts.append((_server(call), name))
            if not call.state.restart_moves_start:
                continue
            # Full precision, as WMI's CreationDate has: a restart within the second of a change
            # must still start after it.
            now = datetime.datetime.now(datetime.timezone.utc)
            key = (_server(call).lower(), name.lower())
            call.state.service_started[key] = now + call.state.restart_takes
            call.state.service_pending_until[key] = now + call.state.restart_takes


def _service_state(call: CmdletCall, server: str, name: str, status: str) -> str:
    """Win32_Service's State: "Start Pending" until a restart's start time, else the service's status."""
    until = call.state.service_pending_until.get((server.lower(), name.lower()))
    if until is not None and datetime.datetime.now(datetime.timezone.utc) < until:
        return "Start Pending"
    return "Running" if status.lower() == "running" else "Stopped"


# --- WMI: service processes and their start times ----------------------------------------------

_WMI_TYPES = (
    "System.Management.ManagementObject#root\\cimv2\\{cls}",
    "System.Management.ManagementObject#root\\cimv2\\{base}",
    "System.Management.ManagementObject",
    "System.Management.ManagementBaseObject",
    "System.ComponentModel.Component",
    "System.MarshalByRefObject",
    "System.Object",
)
_WMI_BASE = {"Win32_Service": "Win32_BaseService", "Win32_Process": "CIM_Process"}
_WQL_TERM = re.compile(r"\s*(\w+)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(\d+))\s*", re.IGNORECASE)


def _wql_terms(call: CmdletCall, text: str) -> list[tuple[str, str]]:
    """``Name='A' OR ProcessId=12``: the only WQL filters the tool sends, as (field, value) pairs."""
    terms = []
    for part in re.split(r"\s+OR\s+", text.strip(), flags=re.IGNORECASE):
        match = _WQL_TERM.fullmatch(part)
        if match is None:
            raise CmdletError(records.argument_transformation(call.name, "Filter", f'Invalid query "{text}"'))
        value = match.group(2) if match.group(2) is not None else match.group(3)
        terms.append((match.group(1).lower(), re.sub(r"\\(.)", r"\1", value)))
    return terms


def _process_id(server: str, service: str) -> int:
    """A stable, plausible process id per server and service (Windows ids are multiples of 4)."""
    return 1000 + 4 * (zlib.crc32(f"{server}/{service}".lower().encode()) % 5000)


def _dmtf(moment: datetime.datetime) -> str:
    """WMI's time text as Get-WmiObject writes it: local time here is UTC (+000)."""
    utc = moment.astimezone(datetime.timezone.utc)
    return utc.strftime("%Y%m%d%H%M%S.") + f"{utc.microsecond:06d}+000"


def _wmi_object(cls: str, to_string: str, properties: dict[str, Any]) -> Any:
    names = [t.format(cls=cls, base=_WMI_BASE[cls]) for t in _WMI_TYPES]
    return values.new_object(names, to_string, {"__CLASS": cls, **properties})


def get_wmi_object(call: CmdletCall) -> None:
    server = _server(call)
    cls = str(call.require("Class"))
    terms = _wql_terms(call, str(call.params["Filter"])) if "Filter" in call.params else []
    running = [
        (str(prop(s, "Name")), str(prop(s, "Status") or "Running")) for s in _services(call)
    ]  # ServiceControllers of this server
    if cls.lower() == "win32_service":
        wanted = {v.lower() for f, v in terms if f == "name"}
        for name, status in running:
            if wanted and name.lower() not in wanted:
                continue
            state = _service_state(call, server, name, status)
            pid = _process_id(server, name) if state == "Running" else 0
            to_string = f'\\\\{server}\\root\\cimv2:Win32_Service.Name="{name}"'
            call.write_output(
                _wmi_object("Win32_Service", to_string, {"Name": name, "State": state, "ProcessId": PSUInt(pid)})
            )
        return
    if cls.lower() == "win32_process":
        wanted_ids = {int(v) for f, v in terms if f == "processid"}
        for name, status in running:
            pid = _process_id(server, name)
            if _service_state(call, server, name, status) != "Running" or (wanted_ids and pid not in wanted_ids):
                continue
            started = call.state.service_started.get((server.lower(), name.lower()), call.state.started_at)
            properties = {"ProcessId": PSUInt(pid), "Name": f"{name}.exe", "CreationDate": _dmtf(started)}
            call.write_output(_wmi_object("Win32_Process", f"{name}.exe", properties))
        return
    raise CmdletError(records.argument_transformation(call.name, "Class", f'Invalid class "{cls}"'))


# --- event log ---------------------------------------------------------------------------------


def _utc(moment: Any) -> datetime.datetime:
    value = moment if isinstance(moment, datetime.datetime) else datetime.datetime.fromisoformat(str(moment))
    return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)


def _event_matches(event: Any, filters: dict[str, Any]) -> bool:
    for key, wanted in filters.items():
        if key == "starttime" and _utc(prop(event, "TimeCreated")) < _utc(wanted):
            return False
        if key == "endtime" and _utc(prop(event, "TimeCreated")) > _utc(wanted):
            return False
        if key in ("logname", "providername", "id"):
            field = {"logname": "LogName", "providername": "ProviderName", "id": "Id"}[key]
            allowed = {str(w).lower() for w in _as_list(wanted)}
            if str(prop(event, field)).lower() not in allowed:
                return False
    return True


def get_win_event(call: CmdletCall) -> None:
    table = call.require("FilterHashtable")
    if not isinstance(table, dict):
        raise CmdletError(records.argument_transformation(call.name, "FilterHashtable", "Expected a hashtable."))
    filters = {str(k).lower(): v for k, v in table.items()}
    events = [e for e in call.state.of(f"GetWinEvent-{_server(call)}") if _event_matches(e, filters)]
    if not events:
        call.write_error(records.no_events_found())
        return
    for event in sorted(events, key=lambda e: _utc(prop(e, "TimeCreated")), reverse=True):
        call.write_output(event)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


HOST_CMDLETS: dict[str, Cmdlet] = {
    "get-itemproperty": cmdlet(get_item_property, "Path", "Name", pipeline_parameter="Path"),
    "new-itemproperty": cmdlet(
        new_item_property, "Path", "Name", "PropertyType", "Type", "Value", "Force", pipeline_parameter="Path"
    ),
    "set-itemproperty": cmdlet(set_item_property, "Path", "Name", "Value", "Type", "Force", pipeline_parameter="Path"),
    "remove-itemproperty": cmdlet(remove_item_property, "Path", "Name", "Force", pipeline_parameter="Path"),
    "get-service": cmdlet(get_service, "Name", pipeline_parameter="Name"),
    "restart-service": cmdlet(restart_service, "Name", "Force", pipeline_parameter="Name"),
    "get-winevent": cmdlet(get_win_event, "FilterHashtable", "MaxEvents", "ComputerName"),
    "get-wmiobject": cmdlet(get_wmi_object, "Class", "Filter", "ComputerName", "Namespace"),
    "add-type": cmdlet(add_type, "TypeDefinition"),
    "new-object": cmdlet(new_object, "TypeName", "ArgumentList"),
}
