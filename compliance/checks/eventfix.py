"""Was an event logged before its fix? Compare the limit the event names with the limit in force now.

Events 9646 and 1021 name the limit that refused the session ("exceeded the maximum of 16
objects", "connections per source (20)"). When the setting that cures the event (the rule's
``fixed_by`` check) now allows more than that, the event was logged before the fix and is history,
not drift; an event logged at the limit in force today means the fix is in place and still short.
"""

from __future__ import annotations

import re

from compliance.baseline.model import RegistryValueRule, Rules, SettingCheck
from compliance.facts.model import Facts
from compliance.facts.values import UNLIMITED, Scalar, same_name
from compliance.kinds import receive_connector, registry_value
from compliance.kinds.event_log import EventRecord

_LOGGED_LIMIT = re.compile(r"exceeded the maximum of (\d+) objects|connections per source \((\d+)\)")
_CONNECTOR = re.compile(r'Receive connector "([^"]+)"')


def logged_limit(event: EventRecord) -> int | None:
    match = _LOGGED_LIMIT.search(event.message)
    if not match:
        return None
    return int(match.group(1) or match.group(2))


def _fix_rule(rules: Rules, check_id: str) -> RegistryValueRule | SettingCheck | None:
    for rule in rules.registry_values:
        if rule.id == check_id:
            return rule
    if rules.receive_connectors:
        for check in rules.receive_connectors.checks:
            if check.id == check_id:
                return check
    return None


def limit_now(rules: Rules, fixed_by: list[str], facts: Facts, event: EventRecord) -> Scalar:
    """The value of the curing setting today, where the event happened; None when unknown."""
    for check_id in fixed_by:
        rule = _fix_rule(rules, check_id)
        if isinstance(rule, RegistryValueRule):
            for key in facts.on(registry_value.KIND, event.server).get() or []:
                if key.path.casefold() == rule.path.casefold() and rule.name in key.values:
                    return key.values[rule.name].value
        elif isinstance(rule, SettingCheck):
            match = _CONNECTOR.search(event.message)
            connectors = facts.of(receive_connector.KIND).get() or []
            for connector in connectors:
                if (
                    match
                    and same_name(connector.name, match.group(1))
                    and same_name(connector.server, event.server)
                    and rule.setting in connector.settings
                ):
                    return connector.settings[rule.setting].value
    return None


def before_fix(rules: Rules, fixed_by: list[str], facts: Facts, event: EventRecord) -> bool:
    logged, now = logged_limit(event), limit_now(rules, fixed_by, facts, event)
    if logged is None or now is None:
        return False  # cannot tell: the event counts
    return now is UNLIMITED or (isinstance(now, int) and not isinstance(now, bool) and now > logged)
