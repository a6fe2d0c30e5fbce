"""The extended right on the organization (``Get-ADPermission -Identity <org DN> -User <uccx>``)."""

from __future__ import annotations

from collections.abc import Iterator

from compliance.baseline.model import AdPermissionRule
from compliance.facts.model import AdPermissionEntry, Facts
from compliance.plan import Action, Change, ChangeKind, Compliant, Finding, Result, Unreadable


def _grants(entry: AdPermissionEntry, right: str) -> bool:
    return any(r.casefold() == right.casefold() for r in entry.extended_rights)


def check_ad_permission(rule: AdPermissionRule, facts: Facts) -> Iterator[Result]:
    org = facts.organization.value if facts.organization.ok else None
    resource = f"organization {org.name}" if org else "organization"
    reading = facts.ad_permissions
    if not reading.ok or reading.value is None:
        yield Unreadable(rule.id, resource, reading.error or "not read")
        return
    # Get-ADPermission was asked for -User <uccx>, so every entry returned is that user's.
    entries = [e for e in reading.value if _grants(e, rule.extended_right)]
    denied = [e for e in entries if e.deny]
    allowed = [e for e in entries if not e.deny]
    if denied:
        yield Finding(
            rule.id,
            rule.title,
            rule.severity.value,
            resource,
            f"a Deny entry for {denied[0].user} on {rule.extended_right!r} overrides any Allow; "
            "remove it (Remove-ADPermission ... -Deny)",
        )
        return
    if allowed:
        inherited = " (inherited)" if allowed[0].inherited else ""
        yield Compliant(rule.id, rule.title, resource, f"{allowed[0].user} has {rule.extended_right!r}{inherited}")
        return
    if org is None:
        yield Unreadable(rule.id, resource, facts.organization.error or "organization not read")
        return
    yield Change(
        rule.id,
        rule.title,
        rule.severity.value,
        resource,
        org.distinguished_name,
        "ExtendedRights",
        None,
        rule.extended_right,
        f"{rule.user} has {rule.extended_right!r}",
        Action.ADD,
        kind=ChangeKind.AD_PERMISSION,
        principal=rule.user,
    )
