"""Receive connectors (``Get-ReceiveConnector``) chosen by identity globs."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

from compliance.baseline.model import ReceiveConnectorRules
from compliance.checks.settings import check_setting
from compliance.facts.model import Facts, ReceiveConnector
from compliance.plan import ChangeKind, Compliant, Finding, Result, SelectorMatch, Unreadable


def select(patterns: list[str], connectors: list[ReceiveConnector]) -> list[ReceiveConnector]:
    """Identity globs match case-insensitively, as Exchange identities compare."""
    return [c for c in connectors if any(fnmatch.fnmatchcase(c.identity.casefold(), p.casefold()) for p in patterns)]


def check_receive_connectors(rules: ReceiveConnectorRules, facts: Facts) -> Iterator[Result | SelectorMatch]:
    reading = facts.receive_connectors
    if not reading.ok or reading.value is None:
        for check in [rules.selector_check, *rules.checks]:
            yield Unreadable(check.id, "receive connectors", reading.error or "not read")
        return
    patterns = rules.selector.identity
    matched = select(patterns, reading.value)
    meta = rules.selector_check
    yield SelectorMatch(meta.id, tuple(patterns), tuple(c.identity for c in matched))
    if not matched:
        known = ", ".join(c.identity for c in reading.value) or "none"
        yield Finding(
            meta.id,
            meta.title,
            meta.severity.value,
            "receive connectors",
            f"selector {', '.join(patterns)} matched no receive connector (found: {known})",
        )
        return
    yield Compliant(
        meta.id, meta.title, "receive connectors", f"{len(matched)} matched: {', '.join(c.identity for c in matched)}"
    )
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
