"""The common step of every setting check: read one setting of one object, compare, record."""

from __future__ import annotations

from compliance.baseline.model import SettingCheck
from compliance.checks.compare import desired_value, meets, requirement
from compliance.facts.model import Settings
from compliance.plan import Action, Change, ChangeKind, Compliant, Result, Unreadable


def check_setting(
    check: SettingCheck,
    settings: Settings,
    *,
    resource: str,
    identity: str,
    server: str | None = None,
    unlimited_as: str = "Unlimited",
    restart: tuple[str, ...] = (),
    kind: ChangeKind,
) -> Result:
    if check.setting not in settings:
        # A property the cmdlet did not return (another Exchange version?) is not evidence either way.
        return Unreadable(
            check=check.id, resource=resource, reason=f"{check.setting} was not in what Exchange returned"
        )
    current = settings[check.setting]
    wanted = requirement(check, unlimited_as)
    if meets(check, current):
        evidence = f"{check.setting} is {_show(current.shown)} ({wanted})"
        return Compliant(check=check.id, title=check.title, resource=resource, evidence=evidence)
    return Change(
        check=check.id,
        title=check.title,
        severity=check.severity.value,
        resource=resource,
        identity=identity,
        setting=check.setting,
        current=current.shown,
        desired=desired_value(check, unlimited_as),
        requirement=wanted,
        action=Action.UPDATE,
        server=server,
        requires_restart=restart,
        kind=kind,
    )


def _show(value: object) -> str:
    return "$null" if value is None else str(value)
