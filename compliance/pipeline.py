"""The one pipeline every command calls: read a source into facts, then plan them against a baseline.

    source (FactsFolder | LiveTarget) --read_raw--> RawFacts --build_facts--> Facts
    LoadedBaseline + Facts --plan--> Plan --compliance.output--> text, json, junit, ps1, saved plan

``plan``, ``apply`` (its stale and verify re-reads), ``rollback``, ``facts collect`` and ``demo`` all
go through here, so a live plan, an offline plan and apply's re-read see the same facts.
"""

from __future__ import annotations

import datetime
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compliance.baseline import LoadedBaseline, load_baseline
from compliance.checks.engine import evaluate
from compliance.checks.restarts import ApplyRecords
from compliance.errors import InputError
from compliance.facts import offline
from compliance.facts.collection import CollectionRequest, RawFacts
from compliance.facts.model import Facts, Reading
from compliance.inventory import Target, load_inventory
from compliance.kinds import KINDS
from compliance.kinds.base import FactError
from compliance.plan import Plan

Warn = Callable[[str], None]


def stderr_warning(line: str) -> None:
    print(f"uccx-compliance: warning: {line}", file=sys.stderr)


@dataclass(frozen=True)
class FactsFolder:
    """An offline folder of ``Export-Clixml`` files (the collector script's or ``facts collect``'s)."""

    path: Path

    @property
    def name(self) -> str:
        return f"facts folder {self.path}"


@dataclass(frozen=True)
class LiveTarget:
    """An inventory target read live over WinRM/PSRP; the password is fetched once by the caller."""

    target: Target
    request: CollectionRequest
    password: str | None = field(default=None, repr=False)
    allow_insecure_transport: bool = False
    warn: Warn = stderr_warning
    now: datetime.datetime | None = None  # anchors the event-log lookback (tests pin it)

    @property
    def name(self) -> str:
        return self.target.exchange_endpoint


Source = FactsFolder | LiveTarget


def live(
    target: Target,
    loaded: LoadedBaseline,
    *,
    password: str | None,
    allow_insecure_transport: bool = False,
    warn: Warn = stderr_warning,
    now: datetime.datetime | None = None,
) -> LiveTarget:
    """The live source of ``target``, reading what ``loaded`` checks."""
    return LiveTarget(target, loaded.collection_request(), password, allow_insecure_transport, warn, now)


def read_raw(source: Source) -> tuple[RawFacts, datetime.datetime | None]:
    """Every kind's objects, unparsed, and when they were collected."""
    if isinstance(source, FactsFolder):
        return offline.read_raw(source.path), offline.collected_at(source.path)
    from compliance.remoting.collect import collect  # pypsrp: only for live sources

    now = source.now or datetime.datetime.now(datetime.timezone.utc)
    raw = collect(
        source.target,
        source.request,
        password=source.password,
        allow_insecure_transport=source.allow_insecure_transport,
        now=now,
        warn=source.warn,
    )
    return raw, now


def build_facts(raw: RawFacts, *, source: str, collected_at: datetime.datetime | None = None) -> Facts:
    """Parse each raw reading with its kind; a shape error makes that fact alone unreadable."""
    facts = Facts(source=source, collected_at=collected_at)
    for stem, reading in raw.items():
        base, _, server = stem.partition("-")
        kind = KINDS.get(base)
        if kind is None or kind.per_server != bool(server):
            continue  # not a fact file of ours
        if (objects := reading.get()) is None:
            facts.readings[stem] = Reading.failed(reading.reason or f"{stem}.xml: not collected")
            continue
        try:
            facts.readings[stem] = Reading(kind.parse(objects, server or None))
        except FactError as exc:
            facts.readings[stem] = Reading.failed(f"{stem}.xml: {exc}")
    return facts


def read(source: Source) -> Facts:
    raw, when = read_raw(source)
    return build_facts(raw, source=source.name, collected_at=when)


def plan(loaded: LoadedBaseline, facts: Facts, *, target: str | None = None) -> Plan:
    result = evaluate(loaded, facts, ApplyRecords.of_target(target))  # apply's change times: restart pending
    result.target = target
    return result


def target_baseline(target: Target, overrides: Mapping[str, Any], baseline: Path | None = None) -> LoadedBaseline:
    """The target's baseline with its vars: baseline defaults < inventory vars < --var."""
    written_at = {name: where for name, where in target.var_positions.items() if name not in overrides}
    return load_baseline(baseline or target.baseline_path, {**target.vars, **overrides}, written_at=written_at)


def plan_folder(baseline: Path, folder: Path, overrides: Mapping[str, Any]) -> Plan:
    """``plan --facts DIR``: the offline plan of one folder."""
    return plan(load_baseline(baseline, dict(overrides)), read(FactsFolder(folder)))


def plan_inventory(
    inventory: Path,
    overrides: Mapping[str, Any],
    *,
    baseline: Path | None = None,
    only_target: str | None = None,
    allow_insecure_transport: bool = False,
    warn: Warn = stderr_warning,
) -> list[Plan]:
    """``plan --inventory FILE``: the live plan of each target, one after another."""
    loaded_inventory = load_inventory(inventory)
    targets = list(loaded_inventory.targets)
    if only_target is not None:
        targets = [loaded_inventory.target(only_target)]
    if not targets:
        raise InputError(f"{inventory}: no targets")
    plans = []
    for target in targets:
        loaded = target_baseline(target, overrides, baseline)
        source = live(
            target, loaded, password=target.password(), allow_insecure_transport=allow_insecure_transport, warn=warn
        )
        plans.append(plan(loaded, read(source), target=target.name))
    return plans
