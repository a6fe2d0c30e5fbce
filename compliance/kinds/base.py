"""What a resource kind is: one Exchange or Windows resource, declared in one place.

A kind (like a pyinfra fact, or an octoDNS record type) says everything the tool knows of one
resource: the cmdlet that reads it and its arguments, on which endpoint and for which servers;
the .NET type names it accepts; the parser into a typed value; the offline file stem and its
collector-script fragment; the lab cmdlets that serve it; and, for a kind apply can change
(``Changeable``), the forward command, the inverse for rollback, and how to observe the live
value for the stale and verify checks. ``compliance.kinds`` lists them all in one registry.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from compliance import parameters as known_parameters
from compliance.cmdlet import Command, CommandSpec, one_line
from compliance.errors import InputError
from compliance.facts.collection import CollectionRequest
from compliance.facts.model import Facts, Reading, Settings
from compliance.facts.psobject import PSObj
from compliance.facts.values import Setting, ad_object_name, has_role, normalize
from compliance.plan import Change, ChangeKind

T = TypeVar("T")

# Properties every Exchange object carries that are not settings anyone baselines, and the ones
# PowerShell's remoting client adds on receipt (an export from a remote session has them; objects
# read over PSRP by pypsrp do not), so live and offline facts compare equal.
NOT_SETTINGS = frozenset(
    {"identity", "name", "server", "distinguishedname", "guid", "id", "runspaceid", "pscomputername"}
    | {"psshowcomputername"}
)


class Endpoint(enum.Enum):
    """Where a kind is read: Exchange's management endpoint, or each server's own WinRM endpoint."""

    EXCHANGE = "exchange"  # http://<server>/PowerShell/, Microsoft.Exchange (NoLanguage)
    HOST = "host"  # http://<server>:5985/wsman, Microsoft.PowerShell


class FactError(ValueError):
    """An object did not have the shape its cmdlet returns."""


@dataclass(frozen=True)
class AuditedServer:
    """A server as audited: its roles (from Get-ExchangeServer when readable) and host endpoint."""

    name: str
    roles: frozenset[str]
    host_url: str

    def has_role(self, role: str) -> bool:
        return has_role(self.roles, role)


@dataclass(frozen=True)
class ReadContext:
    """What a kind may use to build its reads: the request, the servers, what was read before."""

    request: CollectionRequest
    now: datetime.datetime
    servers: tuple[AuditedServer, ...] = ()  # empty until Get-ExchangeServer was read
    earlier: Mapping[str, Reading[list[Any]]] | None = None  # the first round's raw facts

    def with_role(self, role: str) -> list[AuditedServer]:
        return [s for s in self.servers if s.has_role(role)]


@dataclass(frozen=True)
class Observed:
    """A live value (``None`` is "absent" or ``$null``), or why it could not be read."""

    value: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class ResourceKind(Generic[T]):
    """One resource kind. Subclasses set the class attributes and override ``parse`` and the reads."""

    stem: ClassVar[str]  # the offline file stem: GetImapSettings(.xml), GetItemProperty(-EX01.xml)
    cmdlet: ClassVar[str]  # the cmdlet that reads it: Get-ReceiveConnector
    endpoint: ClassVar[Endpoint] = Endpoint.EXCHANGE
    per_server: ClassVar[bool] = False  # one file per server, read on each server's host endpoint
    # Accepted .NET type names, matched by suffix (an export from a remote session adds
    # "Deserialized."). Empty: any object is accepted (PSCustomObject, event records).
    type_names: ClassVar[tuple[str, ...]] = ()
    # The type name by which output is tied to this kind's read in a batch ("Imap4AdConfiguration").
    output_type: ClassVar[str]
    follow_up_type: ClassVar[str] = ""  # the output type of ``follow_up``'s commands
    after_servers: ClassVar[bool] = False  # its reads need the server list (Get-ExchangeServer)
    companion: ClassVar[bool] = False  # host kinds: read only where another kind reads that server
    lab_cmdlets: ClassVar[tuple[str, ...]] = ()  # the lab cmdlets that serve and change it
    collector: ClassVar[str] = ""  # the collector script's PowerShell 2.0 fragment for this kind
    # Changeable kinds: each cmdlet the kind sends -> its known parameters (compliance.parameters,
    # from Microsoft's docs). A command built from a change names no other parameter.
    parameters: ClassVar[Mapping[str, frozenset[str]]] = {}
    # The parameters a baseline may name as a ``setting:`` of this kind (empty: it names none).
    settings: ClassVar[frozenset[str]] = frozenset()

    # --- commands built from a change ---------------------------------------------------------

    def command(self, endpoint: str, cmdlet: str, parameters: dict[str, Any]) -> CommandSpec:
        """A change's command, refused with an ``InputError`` unless every parameter name is a
        plain identifier that ``cmdlet`` is known to take: a name is sent (and written into a
        ps1) as code, so a saved plan or backup that was tampered with cannot choose one."""
        known = self.parameters.get(cmdlet)
        if known is None:
            raise InputError(f"refusing to send {cmdlet}: not a cmdlet {type(self).__name__} sends")
        for name in parameters:
            if not known_parameters.is_plain_identifier(name):
                raise InputError(f"refusing to send {cmdlet} with the parameter name {name!r}: not a plain identifier")
            if known_parameters.spelled(known, name) is None:
                raise InputError(f"refusing to send {cmdlet}: {known_parameters.unknown(cmdlet, known, name)}")
        return CommandSpec(endpoint, cmdlet, parameters)

    def setting_of(self, change: Change, cmdlet: str) -> str:
        """The change's setting as a parameter name: one of this kind's settable parameters."""
        name = change.setting or ""
        if known_parameters.spelled(self.settings, name) is None:
            message = known_parameters.unknown(cmdlet, self.settings, name)
            raise InputError(f"{about(change)}: refusing to send {cmdlet}: {message}")
        return name

    # --- live reads ---------------------------------------------------------------------------

    def reads(self, context: ReadContext) -> tuple[Command, ...] | Reading[list[Any]]:
        """Organization kinds: the commands to send, or a reading settled without a command."""
        return (Command(self.cmdlet),)

    def reads_on(self, context: ReadContext, server: AuditedServer) -> tuple[Command, ...]:
        """Per-server kinds: the commands for ``server`` (empty: nothing to read there)."""
        return ()

    def follow_up(self, context: ReadContext, server: AuditedServer, found: list[Any]) -> tuple[Command, ...]:
        """Per-server kinds that need a second round (ids from the first): its commands."""
        return ()

    # --- parsing ------------------------------------------------------------------------------

    def parse(self, objects: list[Any], server: str | None) -> T:
        raise NotImplementedError

    def accepted(self, raw: Iterable[Any]) -> list[PSObj]:
        """The complex objects of a read, checked against the accepted type names."""
        result = []
        for item in raw:
            if not isinstance(item, PSObj):
                raise FactError(f"expected objects, found {type(item).__name__} {str(item)[:40]!r}")
            if self.type_names and not any(is_type(item, name) for name in self.type_names):
                found = item.type_names[0] if item.type_names else "?"
                raise FactError(f"expected {self.type_names[0]} objects, found {found}")
            result.append(item)
        return result


class Changeable(Protocol):
    """A kind apply can change: what to send, how to undo it, how to read the value back."""

    @property
    def change_kinds(self) -> tuple[ChangeKind, ...]: ...

    @property
    def parameters(self) -> Mapping[str, frozenset[str]]: ...

    def forward(self, change: Change) -> CommandSpec: ...

    def inverse(self, change: Change, old: Any) -> CommandSpec | None: ...

    def observe(self, change: Change, facts: Facts) -> Observed: ...


def about(change: Change) -> str:
    """``CHECK on RESOURCE`` for an error message, on one line whatever a saved file put in them."""
    return one_line(f"{change.check} on {change.resource}")


def is_type(obj: PSObj, name: str) -> bool:
    """True when a type name of ``obj`` is ``name``, ends with ``.name``, or is ``name`` made generic."""
    return any(t == name or t.endswith("." + name) or t.startswith(name + "`") for t in obj.type_names)


def owns(output_type: str, value: Any) -> bool:
    """Whether an output object of a batch is of ``output_type`` (its most specific type name)."""
    if not isinstance(value, PSObj) or not value.type_names:
        return False
    first = value.type_names[0]
    return first == output_type or first.endswith(("." + output_type, "\\" + output_type))


def text(obj: PSObj, name: str, *, required: bool = True) -> str | None:
    """A property as text: an ADObjectId by its name, anything else by its ToString."""
    value = obj.get(name)
    if value is None or value == "":
        if required:
            raise FactError(f"{obj.type_names[0] if obj.type_names else 'object'} has no {name}")
        return None
    return ad_object_name(value) if isinstance(value, PSObj) and name != "Identity" else str(value)


def settings_of(obj: PSObj, *, null_means_unlimited: bool = False) -> Settings:
    """Every property of ``obj`` that is a setting, normalised once (``facts.values``)."""
    values: dict[str, Setting] = {}
    for name in obj.names():
        if name.casefold() in NOT_SETTINGS:
            continue
        values[name] = normalize(obj.get(name), null_means_unlimited=null_means_unlimited)
    return Settings(values)


def setting_value(settings: Settings, name: str, where: str) -> Observed:
    """One setting's live value as ``plan`` shows it, for the stale and verify checks."""
    if name not in settings:
        return Observed(error=f"{name} was not in what Exchange returned for {where}")
    return Observed(settings[name].shown)


def strings(raw: Any) -> tuple[str, ...]:
    """A multi-valued property (or a comma-separated ToString) as its items."""
    if raw is None:
        return ()
    if isinstance(raw, list):
        return tuple(str(item) for item in raw)
    if isinstance(raw, PSObj) and isinstance(raw.value, list):
        return tuple(str(item) for item in raw.value)
    return tuple(part.strip() for part in str(raw).split(",") if part.strip())
