"""``Get-ADPermission`` / ``Add-``/``Remove-ADPermission``: the extended right on the organization."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compliance import parameters as known
from compliance.cmdlet import EXCHANGE, Command, CommandSpec
from compliance.errors import ApplyError
from compliance.facts.model import Facts, Reading
from compliance.kinds import organization_config
from compliance.kinds.base import Observed, ReadContext, ResourceKind, strings
from compliance.plan import Change, ChangeKind


@dataclass(frozen=True)
class AdPermissionEntry:
    user: str
    identity: str
    extended_rights: tuple[str, ...]
    access_rights: tuple[str, ...]
    deny: bool
    inherited: bool

    def grants(self, right: str) -> bool:
        return any(r.casefold() == right.casefold() for r in self.extended_rights)


class AdPermissionKind(ResourceKind[list[AdPermissionEntry]]):
    stem = "GetADPermission"
    cmdlet = "Get-ADPermission"
    # ADAcePresentationObject; any object is accepted, as no real export was found to confirm it.
    output_type = "ADAcePresentationObject"
    after_servers = True  # after Get-OrganizationConfig, whose DN it reads
    lab_cmdlets = ("get-adpermission", "add-adpermission", "remove-adpermission")
    change_kinds = (ChangeKind.AD_PERMISSION,)
    parameters = known.by_cmdlet(
        {"Add-ADPermission": known.ADD_AD_PERMISSION, "Remove-ADPermission": known.REMOVE_AD_PERMISSION}
    )
    collector = """
if ($org) {
    # "View Information Store status" is granted on the organization object to the UCCX account.
    Save-Facts 'GetADPermission.xml' "Get-ADPermission for $UccxMailbox" {
        Get-ADPermission -Identity $org.DistinguishedName -User $UccxMailbox -ErrorAction Stop
    }
}
"""

    def reads(self, context: ReadContext) -> tuple[Command, ...] | Reading[list[Any]]:
        mailbox = context.request.uccx_mailbox
        if not mailbox:
            return Reading.failed(f"{self.stem}: no UCCX mailbox given (set vars.uccx_mailbox)")
        earlier = context.earlier or {}
        raw = earlier.get(organization_config.KIND.stem, Reading.failed("Get-OrganizationConfig was not read"))
        why = "Get-ADPermission needs the organization's DN"
        if (found := raw.get()) is None:
            return Reading.failed(f"{why}: {raw.reason}")
        try:
            org_dn = organization_config.KIND.parse(found, None).distinguished_name
        except ValueError as exc:
            return Reading.failed(f"{why}: {exc}")
        return (Command(self.cmdlet, (("Identity", org_dn), ("User", mailbox))),)

    def parse(self, objects: list[Any], server: str | None) -> list[AdPermissionEntry]:
        return [
            AdPermissionEntry(
                user=str(obj.get("User") or ""),
                identity=str(obj.get("Identity") or ""),
                extended_rights=strings(obj.get("ExtendedRights")),
                access_rights=strings(obj.get("AccessRights")),
                deny=obj.get("Deny") is True,
                inherited=obj.get("IsInherited") is True,
            )
            for obj in self.accepted(objects)
        ]

    def forward(self, change: Change) -> CommandSpec:
        parameters = {"Identity": change.identity, "User": principal(change), "ExtendedRights": change.desired}
        return self.command(EXCHANGE, "Add-ADPermission", parameters)

    def inverse(self, change: Change, old: Any) -> CommandSpec | None:
        parameters = {
            "Identity": change.identity,
            "User": principal(change),
            "ExtendedRights": change.desired,
            "Confirm": False,
        }
        return self.command(EXCHANGE, "Remove-ADPermission", parameters)

    def observe(self, change: Change, facts: Facts) -> Observed:
        reading = facts.of(self)
        if (aces := reading.get()) is None:
            return Observed(error=reading.reason)
        granted = any(not e.deny and e.grants(str(change.desired)) for e in aces)
        return Observed(change.desired if granted else None)


def principal(change: Change) -> str:
    """The user an AD permission change grants the right to."""
    if not change.principal:
        raise ApplyError(f"{change.check}: the change does not say which user to grant {change.desired!r}")
    return change.principal


KIND = AdPermissionKind()
