"""Receive connectors chosen by identity globs (the ``receive_connector`` kind)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

from compliance.baseline.model import ReceiveConnectorRules
from compliance.checks.settings import check_setting
from compliance.facts.model import Facts
from compliance.kinds import receive_connector
from compliance.kinds.receive_connector import ReceiveConnector
from compliance.plan import ChangeKind, Compliant, Finding, Result, SelectorMatch, Unreadable

RESOURCE = "receive connectors"


def select(patterns: list[str], connectors: list[ReceiveConnector]) -> list[ReceiveConnector]:
    """Identity globs match case-insensitively, as Exchange identities compare."""
    return [c for c in connectors if any(fnmatch.fnmatchcase(c.identity.casefold(), p.casefold()) for p in patterns)]


def check_receive_connectors(rules: ReceiveConnectorRules, facts: Facts) -> Iterator[Result | SelectorMatch]:
    reading = facts.of(receive_connector.KIND)
    if (found := reading.get()) is None:
        for check in [rules.selector_check, *rules.checks]:
            yield Unreadable(check=check.id, resource=RESOURCE, reason=reading.reason)
        return
    patterns = rules.selector.identity
    matched = select(patterns, found)
    meta = rules.selector_check
    yield SelectorMatch(check=meta.id, patterns=tuple(patterns), matched=tuple(c.identity for c in matched))
    if not matched:
        known = ", ".join(c.identity for c in found) or "none"
        message = f"selector {', '.join(patterns)} matched no receive connector (found: {known})"
        yield Finding(check=meta.id, title=meta.title, severity=meta.severity.value, resource=RESOURCE, message=message)
        return
    evidence = f"{len(matched)} matched: {', '.join(c.identity for c in matched)}"
    yield Compliant(check=meta.id, title=meta.title, resource=RESOURCE, evidence=evidence)
    for connector in matched:
        for check in rules.checks:
            yield check_setting(
                check,
                connector.settings,
                resource=connector.identity,
                identity=connector.identity,
                server=connector.server,
                kind=ChangeKind.RECEIVE_CONNECTOR,
            )
