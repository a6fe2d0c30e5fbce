"""The fixed pipeline: a loaded baseline and an organization's facts -> a ``Plan``."""

from __future__ import annotations

from collections.abc import Iterable

from compliance.baseline.load import LoadedBaseline
from compliance.baseline.versions import VersionRange, dotted, shipped_for
from compliance.checks.adpermission import check_ad_permission
from compliance.checks.capacity import capacity
from compliance.checks.connectors import check_receive_connectors
from compliance.checks.events import check_event_log
from compliance.checks.host import check_registry_value
from compliance.checks.imap import check_imap
from compliance.checks.restarts import NO_TARGET, ApplyRecords, RestartGate
from compliance.checks.throttling import check_mailbox_policy, check_throttling_policy
from compliance.errors import InputError
from compliance.facts.model import Facts
from compliance.facts.values import ServerVersion
from compliance.kinds import exchange_server
from compliance.plan import Plan, Result, SelectorMatch, Unreadable


def check_versions(loaded: LoadedBaseline, facts: Facts, plan: Plan) -> None:
    """A baseline for another Exchange version is bad input (exit 1), never a silent pass."""
    reading = facts.of(exchange_server.KIND)
    if (servers := reading.get()) is None:
        plan.add(Unreadable(check="applies_to", resource="Exchange server versions", reason=reading.reason))
        return
    wanted = loaded.baseline.version_range
    for server in servers:
        if server.version is None:
            why = "AdminDisplayVersion not read"
            plan.add(Unreadable(check="applies_to", resource=f"server {server.name}", reason=why))
        elif not wanted.contains(server.version):
            raise InputError(wrong_version(loaded.name, wanted, server.name, server.version))


def wrong_version(baseline: str, wanted: VersionRange, server: str, version: ServerVersion) -> str:
    """The one line for a baseline of another version; it names the shipped baseline that fits."""
    fits = shipped_for(version)
    hint = f"use --baseline {fits.name} (or --baseline auto)" if fits else "no shipped baseline applies to it"
    return (
        f"{server} runs Exchange {dotted(version)} ({version.product.removeprefix('Exchange ')}); "
        f"baseline {baseline} applies to {wanted}; {hint}"
    )


def evaluate(loaded: LoadedBaseline, facts: Facts, records: ApplyRecords = NO_TARGET) -> Plan:
    """Every check of ``loaded`` against ``facts``; ``records`` are apply's change times (restart pending)."""
    plan = Plan(
        baseline=loaded.name,
        baseline_path=str(loaded.path),
        baseline_sha256=loaded.sha256,
        source=facts.source,
        vars=dict(loaded.vars),
    )
    check_versions(loaded, facts, plan)
    rules = loaded.baseline.rules
    gate = RestartGate(facts, records)
    results: list[Iterable[Result | SelectorMatch]] = []
    if rules.imap_settings:
        results.append(check_imap(rules.imap_settings, facts, gate))
    if rules.receive_connectors:
        results.append(check_receive_connectors(rules.receive_connectors, facts))
    if rules.throttling_policy:
        results.append(check_throttling_policy(rules.throttling_policy, facts))
    if rules.mailbox_policy:
        results.append(check_mailbox_policy(rules.mailbox_policy, facts))
    results += [check_registry_value(rule, facts, gate) for rule in rules.registry_values]
    results += [check_ad_permission(rule, facts) for rule in rules.ad_permissions]
    results += [check_event_log(rule, facts, rules, gate) for rule in rules.event_log]
    for batch in results:
        for result in batch:
            if isinstance(result, SelectorMatch):
                plan.selectors.append(result)
            else:
                plan.add(result)
    plan.notes += facts.warnings
    plan.capacity = capacity(facts, loaded.vars, loaded.baseline)
    return plan
