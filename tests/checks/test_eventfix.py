"""Events logged before their fix are history; events at today's limit are still drift."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from compliance.baseline import load_baseline
from compliance.checks.engine import evaluate
from compliance.facts.model import Facts, Reading, Settings, server_file
from compliance.facts.values import normalize
from compliance.kinds import receive_connector, registry_value
from compliance.kinds.receive_connector import ReceiveConnector
from compliance.kinds.registry_value import RegistryKey
from compliance.pipeline import FactsFolder, read
from compliance.plan import Compliant, Finding, Plan

REPO = Path(__file__).resolve().parents[2]
BASELINE = load_baseline(REPO / "baselines/uccx-exchange2010-sp1.yaml")
STORE = r"HKLM\SYSTEM\CurrentControlSet\Services\MSExchangeIS\ParametersSystem"
VALUE = "Maximum Allowed Service Sessions Per User"


@pytest.fixture(scope="module")
def defaults() -> Facts:
    return read(FactsFolder(REPO / "examples/facts/exchange2010-sp3-defaults"))


def with_store_value(facts: Facts, value: int | None) -> Facts:
    values = {} if value is None else {VALUE: normalize(value)}
    key = RegistryKey("EX01", STORE, Settings(values))
    stem = server_file(registry_value.KIND.stem, "EX01")
    return dataclasses.replace(facts, readings={**facts.readings, stem: Reading([key])})


def with_per_source(facts: Facts, value: int) -> Facts:
    connectors = []
    for connector in facts.of(receive_connector.KIND).value or []:
        settings = dict(connector.settings.items())
        settings["MaxInboundConnectionPerSource"] = normalize(value)
        connectors.append(ReceiveConnector(connector.identity, connector.server, connector.name, Settings(settings)))
    readings = {**facts.readings, receive_connector.KIND.stem: Reading(connectors)}
    return dataclasses.replace(facts, readings=readings)


def result(plan: Plan, check: str) -> Compliant | Finding:
    candidates: list[Compliant | Finding] = [*plan.findings, *plan.compliant]
    found = [r for r in candidates if r.check == check]
    assert len(found) == 1, found
    return found[0]


def test_9646_at_the_old_limit_is_history_once_the_store_value_is_raised(defaults: Facts) -> None:
    outcome = result(evaluate(BASELINE, with_store_value(defaults, 255)), "UCCX-EVT-001")
    assert isinstance(outcome, Compliant)
    assert "3 event(s)" in outcome.evidence and "before UCCX-STORE-001 was applied" in outcome.evidence


@pytest.mark.parametrize("value", [16, None])
def test_9646_stays_drift_while_the_limit_is_unchanged_or_unknown(defaults: Facts, value: int | None) -> None:
    outcome = result(evaluate(BASELINE, with_store_value(defaults, value)), "UCCX-EVT-001")
    assert isinstance(outcome, Finding)
    assert "3 event(s)" in outcome.message and "limit of 16 session objects" in outcome.message


def test_9646_logged_at_todays_limit_means_the_fix_is_still_short(defaults: Facts) -> None:
    # The store value is 16 explicitly: the events were logged at the limit in force today.
    outcome = result(evaluate(BASELINE, with_store_value(defaults, 16)), "UCCX-EVT-001")
    assert isinstance(outcome, Finding) and outcome.fixed_by == ("UCCX-STORE-001",)


def test_1021_is_history_once_the_connector_allows_more_per_source(defaults: Facts) -> None:
    assert isinstance(result(evaluate(BASELINE, defaults), "UCCX-EVT-002"), Finding)
    outcome = result(evaluate(BASELINE, with_per_source(defaults, 250)), "UCCX-EVT-002")
    assert isinstance(outcome, Compliant) and "before UCCX-SMTP-004 was applied" in outcome.evidence
