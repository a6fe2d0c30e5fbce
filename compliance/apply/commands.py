"""Each planned ``Change`` as structured cmdlets, grouped into ordered steps, and their inverses.

A command is a cmdlet name and its parameters (``Set-ImapSettings -Server EX01
-MaxConnections 2400``), never script text: the Exchange endpoint is NoLanguage, and values
travel as typed PSRP arguments, so a mailbox named ``x'; Remove-Mailbox`` stays one argument.

Order is what keeps a half-applied run safe. A throttling policy is created, then set (one
``Set-ThrottlingPolicy`` with every setting), and only then assigned to the mailbox; a step that
needs an object an earlier step creates names that step in ``depends_on``. Everything else is
independent and follows the plan's own order (octoDNS-style: deterministic, reviewable).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from compliance.errors import ApplyError
from compliance.plan import Action, Change, ChangeKind

EXCHANGE = "exchange"
HOST_PREFIX = "host:"


def host_endpoint(server: str) -> str:
    """The endpoint name of a server's own WinRM endpoint (``Microsoft.PowerShell``)."""
    return f"{HOST_PREFIX}{server}"


# What a change changes is decided by the check that made it (``Change.kind``).
Kind = ChangeKind


_RANK = {kind: rank for rank, kind in enumerate(Kind)}


def kind_of(change: Change) -> Kind:
    """The change's kind, as the check that made it recorded it."""
    if change.kind is None:
        raise ApplyError(
            f"{change.check} on {change.resource}: no remediation cmdlet is known for this change "
            "(it says nothing of what it changes)"
        )
    return change.kind


@dataclass(frozen=True)
class CommandSpec:
    """One cmdlet to send: where, which, and its parameters in the order they are added."""

    endpoint: str  # "exchange" or "host:<SERVER>"
    cmdlet: str
    parameters: dict[str, Any] = field(default_factory=dict, hash=False)

    @property
    def server(self) -> str | None:
        return self.endpoint[len(HOST_PREFIX) :] if self.endpoint.startswith(HOST_PREFIX) else None

    def to_dict(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "cmdlet": self.cmdlet, "parameters": dict(self.parameters)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CommandSpec:
        return cls(str(data["endpoint"]), str(data["cmdlet"]), dict(data.get("parameters") or {}))

    def __str__(self) -> str:
        from compliance.apply.ps1 import argument

        # A bool is a switch: PowerShell writes its value after a colon (-Confirm:$false).
        shown = " ".join(
            f"-{name}:{argument(value)}" if isinstance(value, bool) else f"-{name} {argument(value)}"
            for name, value in self.parameters.items()
        )
        where = f"[{self.server}] " if self.server else ""
        return f"{where}{self.cmdlet} {shown}".rstrip()


@dataclass(frozen=True)
class Step:
    """Commands sent together for one or more changes (``changes`` index the plan's list)."""

    number: int
    kind: Kind
    changes: tuple[int, ...]
    commands: tuple[CommandSpec, ...]
    depends_on: tuple[int, ...] = ()  # steps whose failure means this one is not attempted
    creates: bool = False  # the step creates an object that later steps name
    # The step names an object an earlier step creates: with -WhatIf that object never exists,
    # so a dry run cannot send this step (it would only fail with "couldn't be found").
    needs_created: bool = False


def registry_drive_path(path: str) -> str:
    """``HKLM\\SYSTEM\\...`` as baselines write it -> ``HKLM:\\SYSTEM\\...``, a PowerShell drive path."""
    hive, sep, rest = path.partition("\\")
    return f"HKLM:\\{rest}" if hive.upper() == "HKLM" and sep else path


def registry_type(value: Any) -> str:
    """The registry value kind for a desired value: numbers are DWORDs (the checklist's value is)."""
    return "DWord" if isinstance(value, int) and not isinstance(value, bool) else "String"


def ad_user(change: Change) -> str:
    """The principal an AD permission change grants the right to."""
    if not change.principal:
        raise ApplyError(f"{change.check}: the change does not say which user to grant {change.desired!r}")
    return change.principal


def forward_command(change: Change) -> CommandSpec:
    """The one cmdlet that makes a single change (throttling settings are merged by ``build_steps``)."""
    kind = kind_of(change)
    setting = change.setting or ""
    if kind is Kind.IMAP:
        return CommandSpec(EXCHANGE, "Set-ImapSettings", {"Server": change.identity, setting: change.desired})
    if kind is Kind.RECEIVE_CONNECTOR:
        return CommandSpec(EXCHANGE, "Set-ReceiveConnector", {"Identity": change.identity, setting: change.desired})
    if kind is Kind.THROTTLING_POLICY:
        return CommandSpec(EXCHANGE, "New-ThrottlingPolicy", {"Name": change.identity})
    if kind is Kind.THROTTLING_SETTING:
        return CommandSpec(EXCHANGE, "Set-ThrottlingPolicy", {"Identity": change.identity, setting: change.desired})
    if kind is Kind.MAILBOX_POLICY:
        return CommandSpec(EXCHANGE, "Set-Mailbox", {"Identity": change.identity, "ThrottlingPolicy": change.desired})
    if kind is Kind.AD_PERMISSION:
        return CommandSpec(
            EXCHANGE,
            "Add-ADPermission",
            {"Identity": change.identity, "User": ad_user(change), "ExtendedRights": change.desired},
        )
    return _registry_command(change)


def _registry_command(change: Change) -> CommandSpec:
    if change.server is None:
        raise ApplyError(f"{change.check} on {change.resource}: the change names no server to write the registry of")
    path = registry_drive_path(change.identity)
    value_type = registry_type(change.desired)
    if change.action is Action.CREATE:
        return CommandSpec(
            host_endpoint(change.server),
            "New-ItemProperty",
            {"Path": path, "Name": change.setting, "PropertyType": value_type, "Value": change.desired},
        )
    return CommandSpec(
        host_endpoint(change.server),
        "Set-ItemProperty",
        {"Path": path, "Name": change.setting, "Value": change.desired, "Type": value_type},
    )


def _merged_set(identity: str, changes: Iterable[Change]) -> CommandSpec:
    parameters: dict[str, Any] = {"Identity": identity}
    for change in changes:
        parameters[change.setting or ""] = change.desired
    return CommandSpec(EXCHANGE, "Set-ThrottlingPolicy", parameters)


def build_steps(changes: Sequence[Change]) -> list[Step]:
    """The changes as ordered steps. Raises ``ApplyError`` for a change no cmdlet can make."""
    indexed = sorted(enumerate(changes), key=lambda pair: (_RANK[kind_of(pair[1])], pair[0]))
    steps: list[Step] = []
    creating: dict[str, int] = {}  # policy name (casefolded) -> step number of New-ThrottlingPolicy
    setting: dict[str, int] = {}  # policy name (casefolded) -> step number of Set-ThrottlingPolicy
    policy_settings: dict[str, list[int]] = {}
    for index, change in indexed:
        if kind_of(change) is Kind.THROTTLING_SETTING:
            policy_settings.setdefault(change.identity.casefold(), []).append(index)
    for index, change in indexed:
        kind = kind_of(change)
        number = len(steps) + 1
        key = change.identity.casefold()
        if kind is Kind.THROTTLING_POLICY:
            creating[key] = number
            steps.append(Step(number, kind, (index,), (forward_command(change),), creates=True))
        elif kind is Kind.THROTTLING_SETTING:
            if key in setting:
                continue  # merged into the policy's one Set-ThrottlingPolicy
            members = tuple(policy_settings[key])
            setting[key] = number
            after: tuple[int, ...] = (creating[key],) if key in creating else ()
            steps.append(
                Step(
                    number,
                    kind,
                    members,
                    (_merged_set(change.identity, (changes[i] for i in members)),),
                    after,
                    needs_created=key in creating,
                )
            )
        elif kind is Kind.MAILBOX_POLICY:
            policy = str(change.desired).casefold()
            after = tuple(n for n in (creating.get(policy), setting.get(policy)) if n is not None)
            steps.append(
                Step(
                    number,
                    kind,
                    (index,),
                    (forward_command(change),),
                    after,
                    needs_created=policy in creating,
                )
            )
        else:
            steps.append(Step(number, kind, (index,), (forward_command(change),)))
    return steps


def inverse_command(change: Change, old: Any) -> CommandSpec | None:
    """The cmdlet that puts ``old`` back; None where removing a created parent undoes it."""
    kind = kind_of(change)
    setting = change.setting or ""
    if kind is Kind.IMAP:
        return CommandSpec(EXCHANGE, "Set-ImapSettings", {"Server": change.identity, setting: old})
    if kind is Kind.RECEIVE_CONNECTOR:
        return CommandSpec(EXCHANGE, "Set-ReceiveConnector", {"Identity": change.identity, setting: old})
    if kind is Kind.THROTTLING_POLICY:
        return CommandSpec(EXCHANGE, "Remove-ThrottlingPolicy", {"Identity": change.identity, "Confirm": False})
    if kind is Kind.THROTTLING_SETTING:
        if change.action is Action.CREATE:
            return None  # the policy itself is removed
        return CommandSpec(EXCHANGE, "Set-ThrottlingPolicy", {"Identity": change.identity, setting: old})
    if kind is Kind.MAILBOX_POLICY:
        return CommandSpec(EXCHANGE, "Set-Mailbox", {"Identity": change.identity, "ThrottlingPolicy": old})
    if kind is Kind.AD_PERMISSION:
        return CommandSpec(
            EXCHANGE,
            "Remove-ADPermission",
            {
                "Identity": change.identity,
                "User": ad_user(change),
                "ExtendedRights": change.desired,
                "Confirm": False,
            },
        )
    assert change.server is not None
    path = registry_drive_path(change.identity)
    if old is None:
        return CommandSpec(
            host_endpoint(change.server),
            "Remove-ItemProperty",
            {"Path": path, "Name": change.setting, "Confirm": False},
        )
    return CommandSpec(
        host_endpoint(change.server),
        "Set-ItemProperty",
        {"Path": path, "Name": change.setting, "Value": old, "Type": registry_type(old)},
    )


def rollback_order(changes: Sequence[Change]) -> list[int]:
    """Indices in the reverse of apply's order: unassign a policy before removing it."""
    return [i for i, _ in sorted(enumerate(changes), key=lambda p: (_RANK[kind_of(p[1])], p[0]), reverse=True)]
