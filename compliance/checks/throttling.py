"""The dedicated throttling policy (``Get-ThrottlingPolicy``) and its assignment to the mailbox."""

from __future__ import annotations

from collections.abc import Iterator

from compliance.baseline.model import MailboxPolicyRule, ThrottlingPolicyRules
from compliance.checks.compare import desired_value, requirement
from compliance.checks.settings import check_setting
from compliance.facts.model import Facts
from compliance.facts.values import same_name
from compliance.plan import Action, Change, ChangeKind, Compliant, Result, Unreadable


def check_throttling_policy(rules: ThrottlingPolicyRules, facts: Facts) -> Iterator[Result]:
    resource = f"throttling policy {rules.name}"
    reading = facts.throttling_policies
    if not reading.ok or reading.value is None:
        for check in [rules.presence_check, *rules.checks]:
            yield Unreadable(check.id, resource, reading.error or "not read")
        return
    policy = next((p for p in reading.value if same_name(p.name, rules.name)), None)
    meta = rules.presence_check
    if policy is None:
        yield Change(
            meta.id,
            meta.title,
            meta.severity.value,
            resource,
            rules.name,
            None,
            None,
            rules.name,
            "present",
            Action.CREATE,
            kind=ChangeKind.THROTTLING_POLICY,
        )
        for check in rules.checks:
            # A new policy's settings are set right after New-ThrottlingPolicy creates it.
            yield Change(
                check.id,
                check.title,
                check.severity.value,
                resource,
                rules.name,
                check.setting,
                None,
                desired_value(check, rules.unlimited_as),
                requirement(check, rules.unlimited_as),
                Action.CREATE,
                kind=ChangeKind.THROTTLING_SETTING,
            )
        return
    yield Compliant(meta.id, meta.title, resource, f"policy {policy.name} exists")
    for check in rules.checks:
        yield check_setting(
            check,
            policy.settings,
            resource=resource,
            identity=policy.name,
            unlimited_as=rules.unlimited_as,
            kind=ChangeKind.THROTTLING_SETTING,
        )


def check_mailbox_policy(rule: MailboxPolicyRule, facts: Facts) -> Iterator[Result]:
    resource = f"mailbox {rule.mailbox}"
    reading = facts.mailbox
    if not reading.ok or reading.value is None:
        yield Unreadable(rule.id, resource, reading.error or "not read")
        return
    current = reading.value.throttling_policy
    if same_name(current, rule.throttling_policy):
        yield Compliant(rule.id, rule.title, resource, f"ThrottlingPolicy is {current}")
        return
    yield Change(
        rule.id,
        rule.title,
        rule.severity.value,
        resource,
        reading.value.identity,
        "ThrottlingPolicy",
        current,
        rule.throttling_policy,
        f"exactly {rule.throttling_policy}",
        Action.UPDATE,
        kind=ChangeKind.MAILBOX_POLICY,
    )
