"""``Get-Mailbox`` / ``Set-Mailbox -ThrottlingPolicy``: the UCCX mailbox and the policy it uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compliance import parameters as known
from compliance.cmdlet import EXCHANGE, Command, CommandSpec
from compliance.facts.model import Facts, Reading
from compliance.facts.values import ad_object_name
from compliance.kinds.base import FactError, Observed, ReadContext, ResourceKind, text
from compliance.plan import Change, ChangeKind


@dataclass(frozen=True)
class Mailbox:
    identity: str
    alias: str | None
    name: str | None
    distinguished_name: str | None
    throttling_policy: str | None  # None: the default policy applies


class MailboxKind(ResourceKind[Mailbox]):
    stem = "GetMailbox"
    cmdlet = "Get-Mailbox"
    type_names = ("Microsoft.Exchange.Data.Directory.Management.Mailbox",)
    output_type = "Mailbox"
    lab_cmdlets = ("get-mailbox", "set-mailbox")
    change_kinds = (ChangeKind.MAILBOX_POLICY,)
    parameters = known.by_cmdlet({"Set-Mailbox": known.SET_MAILBOX})
    collector = """
Save-Facts 'GetMailbox.xml' "Get-Mailbox $UccxMailbox" { Get-Mailbox -Identity $UccxMailbox -ErrorAction Stop }
"""

    def reads(self, context: ReadContext) -> tuple[Command, ...] | Reading[list[Any]]:
        if not context.request.uccx_mailbox:
            return Reading.failed(f"{self.stem}: no UCCX mailbox given (set vars.uccx_mailbox)")
        return (Command(self.cmdlet, (("Identity", context.request.uccx_mailbox),)),)

    def parse(self, objects: list[Any], server: str | None) -> Mailbox:
        found = self.accepted(objects)
        if len(found) != 1:
            raise FactError(f"expected one mailbox, found {len(found)}")
        obj = found[0]
        return Mailbox(
            identity=str(text(obj, "Identity")),
            alias=text(obj, "Alias", required=False),
            name=text(obj, "Name", required=False),
            distinguished_name=text(obj, "DistinguishedName", required=False),
            throttling_policy=ad_object_name(obj.get("ThrottlingPolicy")),
        )

    def forward(self, change: Change) -> CommandSpec:
        return self.inverse(change, change.desired)

    def inverse(self, change: Change, old: Any) -> CommandSpec:
        return self.command(EXCHANGE, "Set-Mailbox", {"Identity": change.identity, "ThrottlingPolicy": old})

    def observe(self, change: Change, facts: Facts) -> Observed:
        reading = facts.of(self)
        if (mailbox := reading.get()) is None:
            return Observed(error=reading.reason)
        return Observed(mailbox.throttling_policy)


KIND = MailboxKind()
