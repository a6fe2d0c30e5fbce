"""The extended right on the organization (``ad_permission`` and ``organization_config`` kinds)."""

from __future__ import annotations

from collections.abc import Iterator

from compliance.baseline.model import AdPermissionRule
from compliance.facts.model import Facts
from compliance.kinds import ad_permission, organization_config
from compliance.plan import Action, Change, ChangeKind, Compliant, Finding, Result, Unreadable


def check_ad_permission(rule: AdPermissionRule, facts: Facts) -> Iterator[Result]:
    organization = facts.of(organization_config.KIND)
    org = organization.get()
    resource = f"organization {org.name}" if org else "organization"
    reading = facts.of(ad_permission.KIND)
    if (aces := reading.get()) is None:
        yield Unreadable(check=rule.id, resource=resource, reason=reading.reason)
        return
    # Get-ADPermission is asked for -User <uccx>; a file that holds other users' entries (asked
    # without -User, or for another account) must not decide this user's check.
    mine = ad_permission.for_user(aces, rule.user, facts)
    if isinstance(mine, str):
        yield Unreadable(check=rule.id, resource=resource, reason=mine)
        return
    entries = [e for e in mine if e.grants(rule.extended_right)]
    denied = [e for e in entries if e.deny]
    allowed = [e for e in entries if not e.deny]
    if denied:
        message = (
            f"a Deny entry for {denied[0].user} on {rule.extended_right!r} overrides any Allow; "
            "remove it (Remove-ADPermission ... -Deny)"
        )
        yield Finding(check=rule.id, title=rule.title, severity=rule.severity.value, resource=resource, message=message)
        return
    if allowed:
        inherited = " (inherited)" if allowed[0].inherited else ""
        forms = ad_permission.right_forms(rule.extended_right)
        listed = next(r for r in allowed[0].extended_rights if r.strip().casefold() in forms)
        form = f" (shown as {listed!r})" if listed.strip().casefold() != rule.extended_right.casefold() else ""
        evidence = f"{allowed[0].user} has {rule.extended_right!r}{form}{inherited}"
        yield Compliant(check=rule.id, title=rule.title, resource=resource, evidence=evidence)
        return
    if org is None:
        yield Unreadable(check=rule.id, resource=resource, reason=organization.reason)
        return
    yield Change(
        check=rule.id,
        title=rule.title,
        resource=resource,
        severity=rule.severity.value,
        identity=org.distinguished_name,
        setting="ExtendedRights",
        current=None,
        desired=rule.extended_right,
        requirement=f"{rule.user} has {rule.extended_right!r}",
        action=Action.ADD,
        kind=ChangeKind.AD_PERMISSION,
        principal=rule.user,
    )
