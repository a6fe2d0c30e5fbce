"""``Get-ADPermission`` / ``Add-``/``Remove-ADPermission``: the extended right on the organization.

``Get-ADPermission`` shows an extended right by its AD name (``ms-Exch-Store-Visible``);
``Add-ADPermission`` accepts that name or the display name ("View Information Store status"), and
baselines and runbooks use either. Both name one right (``EXTENDED_RIGHT_FORMS``), so a grant is
recognised in either form.

A file may hold other users' entries (``Get-ADPermission`` without ``-User``, or for another
account): only the entries of the baseline's user count (``for_user``), so another user's Allow or
Deny never decides the UCCX account's check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compliance import parameters as known
from compliance.cmdlet import EXCHANGE, Command, CommandSpec
from compliance.errors import ApplyError
from compliance.facts.model import Facts, Reading
from compliance.kinds import mailbox, organization_config
from compliance.kinds.base import Observed, ReadContext, ResourceKind, strings
from compliance.plan import Change, ChangeKind

# Each tuple: the names of one extended right, its AD name (what Get-ADPermission shows) first.
# ms-Exch-Store-Visible and "View Information Store Status" share the rightsGuid
# d74a875e-22b9-11d3-aa62-00c04f8eedd8: the AD schema's control-access-right table names it
# ms-Exch-Store-Visible, Exchange's own GUID-to-display-name table "View Information Store Status";
# Exchange 2010 runbooks pass either to Add-ADPermission -ExtendedRights (docs/facts-folder.md).
EXTENDED_RIGHT_FORMS: tuple[tuple[str, ...], ...] = (("ms-Exch-Store-Visible", "View Information Store status"),)


def right_forms(right: str) -> frozenset[str]:
    """Every name of ``right`` (itself included), casefolded."""
    key = right.strip().casefold()
    for forms in EXTENDED_RIGHT_FORMS:
        folded = frozenset(f.casefold() for f in forms)
        if key in folded:
            return folded
    return frozenset({key})


@dataclass(frozen=True)
class AdPermissionEntry:
    user: str
    identity: str
    extended_rights: tuple[str, ...]
    access_rights: tuple[str, ...]
    deny: bool
    inherited: bool

    def grants(self, right: str) -> bool:
        """True when the entry names ``right`` in any of its forms (AD name or display name)."""
        forms = right_forms(right)
        return any(r.strip().casefold() in forms for r in self.extended_rights)

    def is_for(self, names: frozenset[str]) -> bool:
        """True when the entry's user (``LAB\\uccx``) is one of ``names`` (casefolded), with or without domain."""
        user = self.user.strip().casefold()
        return user in names or user.rpartition("\\")[2] in names


def principal_names(user: str, facts: Facts) -> frozenset[str]:
    """The names ``user`` appears under in ``Get-ADPermission``'s ``User`` (``DOMAIN\\sam``), casefolded.

    The baseline names the UCCX account as it names the mailbox (an alias, an SMTP address...);
    when the mailbox fact is that mailbox, its SamAccountName is the name the ACE shows.
    """
    names = {user.strip().casefold()}
    found = facts.of(mailbox.KIND).get()
    if found is not None and found.answers_to(user) and found.sam_account_name:
        names.add(found.sam_account_name.casefold())
    return frozenset(names)


def for_user(aces: list[AdPermissionEntry], user: str, facts: Facts) -> list[AdPermissionEntry] | str:
    """The entries of ``user``; a reason naming what the file holds when it has entries, none of them its."""
    names = principal_names(user, facts)
    mine = [e for e in aces if e.is_for(names)]
    if aces and not mine:
        others = sorted({e.user for e in aces}, key=str.casefold)
        shown = ", ".join(mailbox.quoted(o) for o in others[:3]) + (
            f" and {len(others) - 3} more" if len(others) > 3 else ""
        )
        return f"{AdPermissionKind.stem}.xml holds entries for {shown}, not {mailbox.quoted(user)}"
    return mine


class AdPermissionKind(ResourceKind[list[AdPermissionEntry]]):
    stem = "GetADPermission"
    cmdlet = "Get-ADPermission"
    # The type Add-ADPermission -Instance takes and Get-ADPermission returns (Microsoft's
    # Add-ADPermission reference; Idera's Get-IEXSendAsPermission names it as its output). No real
    # export of it was found, so the base types are not checked (matched by suffix on the name).
    type_names = ("Microsoft.Exchange.Management.RecipientTasks.ADAcePresentationObject",)
    output_type = "ADAcePresentationObject"
    after_servers = True  # after Get-OrganizationConfig, whose DN it reads
    lab_cmdlets = ("get-adpermission", "add-adpermission", "remove-adpermission")
    change_kinds = (ChangeKind.AD_PERMISSION,)
    parameters = known.by_cmdlet(
        {"Add-ADPermission": known.ADD_AD_PERMISSION, "Remove-ADPermission": known.REMOVE_AD_PERMISSION}
    )
    collector = """
if ($org) {
    # ms-Exch-Store-Visible ("View Information Store status") on the organization, for the UCCX account.
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
        mine = for_user(aces, principal(change), facts)
        if isinstance(mine, str):
            return Observed(error=mine)
        granted = any(not e.deny and e.grants(str(change.desired)) for e in mine)
        return Observed(change.desired if granted else None)


def principal(change: Change) -> str:
    """The user an AD permission change grants the right to."""
    if not change.principal:
        raise ApplyError(f"{change.check}: the change does not say which user to grant {change.desired!r}")
    return change.principal


KIND = AdPermissionKind()
