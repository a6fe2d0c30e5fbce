"""``Get-Mailbox`` / ``Set-Mailbox -ThrottlingPolicy``: the UCCX mailbox and the policy it uses.

A fact file may hold another mailbox than the baseline's (a folder collected with the wrong
``-UccxMailbox``, a file copied from another organization). The check and apply's re-read match the
mailbox to the baseline's identity (``Mailbox.answers_to``) and never use another mailbox's facts:
a plan against it would run ``Set-Mailbox`` on the wrong account.
"""

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
    primary_smtp_address: str | None = None
    sam_account_name: str | None = None

    def answers_to(self, wanted: str) -> bool:
        """True when ``wanted`` names this mailbox the way ``Get-Mailbox -Identity`` would find it.

        By alias, name, primary SMTP address, DN, identity (``lab.local/Users/UCCX Email``) or
        ``DOMAIN\\sam``, case-insensitively as Exchange compares them.
        """
        key = wanted.strip().casefold()
        if not key:
            return False
        names = (self.alias, self.name, self.primary_smtp_address, self.distinguished_name, self.identity)
        if any(n is not None and n.casefold() == key for n in names):
            return True
        domain, sep, account = key.rpartition("\\")
        return bool(sep and domain and self.sam_account_name and self.sam_account_name.casefold() == account)

    def shown(self) -> str:
        """The name a reason shows: the alias, as the baseline usually gives it."""
        return self.alias or self.name or self.identity


class MailboxKind(ResourceKind[Mailbox]):
    stem = "GetMailbox"
    cmdlet = "Get-Mailbox"
    # CSS-Exchange's Calendar/CalLogHelpers/Invoke-GetMailbox.ps1 checks Get-Mailbox's result against
    # GetType().FullName "Microsoft.Exchange.Data.Directory.Management.Mailbox".
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
            primary_smtp_address=_plain(obj.get("PrimarySmtpAddress")),
            sam_account_name=_plain(obj.get("SamAccountName")),
        )

    def forward(self, change: Change) -> CommandSpec:
        return self.inverse(change, change.desired)

    def inverse(self, change: Change, old: Any) -> CommandSpec:
        return self.command(EXCHANGE, "Set-Mailbox", {"Identity": change.identity, "ThrottlingPolicy": old})

    def observe(self, change: Change, facts: Facts) -> Observed:
        reading = facts.of(self)
        if (mailbox := reading.get()) is None:
            return Observed(error=reading.reason)
        if not mailbox.answers_to(change.identity):
            return Observed(error=self.other_mailbox(mailbox, change.identity))
        return Observed(mailbox.throttling_policy)

    def other_mailbox(self, found: Mailbox, wanted: str) -> str:
        """The reason a check or a re-read gives when the file holds another mailbox."""
        return f"{self.stem}.xml holds mailbox {quoted(found.shown())}, not {quoted(wanted)}"


def quoted(name: str) -> str:
    """``'LAB\\uccx'`` as an admin types it; repr (one line, escapes shown) when it is not printable."""
    return f"'{name}'" if name.isprintable() and "'" not in name else repr(name)


def _plain(raw: Any) -> str | None:
    """An SmtpAddress or a string as its text; None when absent or empty."""
    text = "" if raw is None else str(raw).strip()
    return text or None


KIND = MailboxKind()
