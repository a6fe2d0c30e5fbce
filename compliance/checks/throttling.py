"""The dedicated throttling policy and its assignment to the mailbox (``throttling_policy``, ``mailbox``)."""

from __future__ import annotations

from collections.abc import Iterator

from compliance.baseline.model import MailboxPolicyRule, ThrottlingPolicyRules
from compliance.checks.compare import desired_value, requirement
from compliance.checks.settings import check_setting
from compliance.facts.model import Facts
from compliance.facts.values import same_name
from compliance.kinds import mailbox, throttling_policy
from compliance.plan import Action, Change, ChangeKind, Compliant, Result, Unreadable


def check_throttling_policy(rules: ThrottlingPolicyRules, facts: Facts) -> Iterator[Result]:
    resource = f"throttling policy {rules.name}"
    reading = facts.of(throttling_policy.KIND)
    if (policies := reading.get()) is None:
        for check in [rules.presence_check, *rules.checks]:
            yield Unreadable(check=check.id, resource=resource, reason=reading.reason)
        return
    policy = next((p for p in policies if same_name(p.name, rules.name)), None)
    meta = rules.presence_check
    if policy is None:
        yield Change(
            check=meta.id,
            title=meta.title,
            severity=meta.severity.value,
            resource=resource,
            identity=rules.name,
            setting=None,
            current=None,
            desired=rules.name,
            requirement="present",
            action=Action.CREATE,
            kind=ChangeKind.THROTTLING_POLICY,
        )
        for check in rules.checks:
            # A new policy's settings are set right after New-ThrottlingPolicy creates it.
            yield Change(
                check=check.id,
                title=check.title,
                severity=check.severity.value,
                resource=resource,
                identity=rules.name,
                setting=check.setting,
                current=None,
                desired=desired_value(check, rules.unlimited_as),
                requirement=requirement(check, rules.unlimited_as),
                action=Action.CREATE,
                kind=ChangeKind.THROTTLING_SETTING,
            )
        return
    yield Compliant(check=meta.id, title=meta.title, resource=resource, evidence=f"policy {policy.name} exists")
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
    reading = facts.of(mailbox.KIND)
    if (found := reading.get()) is None:
        yield Unreadable(check=rule.id, resource=resource, reason=reading.reason)
        return
    if not found.answers_to(rule.mailbox):
        # Another mailbox's policy says nothing about UCCX's, and a change would target that mailbox.
        yield Unreadable(check=rule.id, resource=resource, reason=mailbox.KIND.other_mailbox(found, rule.mailbox))
        return
    current = found.throttling_policy
    if same_name(current, rule.throttling_policy):
        yield Compliant(check=rule.id, title=rule.title, resource=resource, evidence=f"ThrottlingPolicy is {current}")
        return
    yield Change(
        check=rule.id,
        title=rule.title,
        severity=rule.severity.value,
        resource=resource,
        identity=found.identity,
        setting="ThrottlingPolicy",
        current=current,
        desired=rule.throttling_policy,
        requirement=f"exactly {rule.throttling_policy}",
        action=Action.UPDATE,
        kind=ChangeKind.MAILBOX_POLICY,
    )
