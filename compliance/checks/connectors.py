"""Receive connectors chosen by identity globs (the ``receive_connector`` kind), then by what UCCX reaches.

On Exchange 2013 and later UCCX's SMTP arrives on port 25 at the Front End Transport service's
connector ``Default Frontend <server>``; the back-end ``Default <server>`` (Transport service)
listens on 2525 and receives only from the front end. The shipped selector ``*\\Default *`` names
both, so among the connectors the globs match on one server, those with ``TransportRole``
``FrontendTransport`` and a binding on port 25 are the ones checked when there are any; the others
are left out, with the reason in the plan. Where the facts have no such connector (Exchange 2010,
which has no front end, or an export without those properties) the globs alone decide.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from dataclasses import dataclass

from compliance.baseline.model import ReceiveConnectorRules
from compliance.checks.settings import check_setting
from compliance.facts.model import Facts
from compliance.kinds import receive_connector
from compliance.kinds.receive_connector import ReceiveConnector
from compliance.plan import ChangeKind, Compliant, Finding, Result, SelectorMatch, Unreadable

RESOURCE = "receive connectors"
SMTP_PORT = 25  # where UCCX sends (its SMTP server setting); the back end's 2525 takes only the front end
FRONTEND = "FrontendTransport"


@dataclass(frozen=True)
class Selection:
    chosen: list[tuple[ReceiveConnector, str]]  # each with why it was chosen
    left_out: list[tuple[ReceiveConnector, str]]


def select(patterns: list[str], connectors: list[ReceiveConnector]) -> list[ReceiveConnector]:
    """Identity globs match case-insensitively, as Exchange identities compare."""
    return [c for c in connectors if any(fnmatch.fnmatchcase(c.identity.casefold(), p.casefold()) for p in patterns)]


def reaches_uccx(connector: ReceiveConnector) -> bool:
    role = connector.transport_role or ""
    return role.casefold() == FRONTEND.casefold() and SMTP_PORT in connector.ports


def _port_bindings(connector: ReceiveConnector) -> str:
    shown = [b for b in connector.bindings if b.rpartition(":")[2] == str(SMTP_PORT)]
    return ", ".join(shown)


def _described(connector: ReceiveConnector) -> str:
    bindings = ", ".join(connector.bindings) or "none read"
    return f"TransportRole {connector.transport_role or 'not read'}, Bindings {bindings}"


def choose(matched: list[ReceiveConnector]) -> Selection:
    """Per server: the front-end connectors on port 25 if the globs matched any, else all by name."""
    selection = Selection([], [])
    servers = dict.fromkeys(c.server.casefold() for c in matched)
    for server in servers:
        here = [c for c in matched if c.server.casefold() == server]
        front = [c for c in here if reaches_uccx(c)]
        for connector in here:
            if not front:
                selection.chosen.append((connector, "selected by name"))
            elif connector in front:
                why = f"selected because TransportRole {FRONTEND} and Bindings {_port_bindings(connector)}"
                selection.chosen.append((connector, why))
            else:
                why = (
                    f"{_described(connector)}: UCCX's SMTP arrives on port {SMTP_PORT} at the front end "
                    f"({', '.join(c.identity for c in front)}), which alone receives from outside"
                )
                selection.left_out.append((connector, why))
    return selection


def check_receive_connectors(rules: ReceiveConnectorRules, facts: Facts) -> Iterator[Result | SelectorMatch]:
    reading = facts.of(receive_connector.KIND)
    if (found := reading.get()) is None:
        for check in [rules.selector_check, *rules.checks]:
            yield Unreadable(check=check.id, resource=RESOURCE, reason=reading.reason)
        return
    patterns = rules.selector.identity
    selection = choose(select(patterns, found))
    meta = rules.selector_check
    yield SelectorMatch(
        check=meta.id,
        patterns=tuple(patterns),
        matched=tuple(c.identity for c, _ in selection.chosen),
        why=tuple(why for _, why in selection.chosen),
        left_out=tuple(f"{c.identity}: {why}" for c, why in selection.left_out),
    )
    if not selection.chosen:
        known = ", ".join(c.identity for c in found) or "none"
        message = f"selector {', '.join(patterns)} matched no receive connector (found: {known})"
        yield Finding(check=meta.id, title=meta.title, severity=meta.severity.value, resource=RESOURCE, message=message)
        return
    evidence = f"{len(selection.chosen)} matched: " + "; ".join(f"{c.identity} ({why})" for c, why in selection.chosen)
    yield Compliant(check=meta.id, title=meta.title, resource=RESOURCE, evidence=evidence)
    for connector, _ in selection.chosen:
        for check in rules.checks:
            yield check_setting(
                check,
                connector.settings,
                resource=connector.identity,
                identity=connector.identity,
                server=connector.server,
                kind=ChangeKind.RECEIVE_CONNECTOR,
            )
