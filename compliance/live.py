"""Live audits: for each inventory target, collect facts over WinRM/PSRP and plan them.

Targets are audited one after another. An unreachable target is not an exception: its facts
are unreadable readings, so its plan lists them and the run exits 3.
"""

from __future__ import annotations

import datetime
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from compliance.baseline import LoadedBaseline, load_baseline
from compliance.checks.engine import evaluate
from compliance.errors import InputError
from compliance.facts.collection import RawFacts, build_facts
from compliance.inventory import Target, load_inventory
from compliance.plan import Plan

Warn = Callable[[str], None]


def _stderr(line: str) -> None:
    print(f"uccx-compliance: warning: {line}", file=sys.stderr)


def target_baseline(target: Target, overrides: Mapping[str, Any], baseline: Path | None = None) -> LoadedBaseline:
    """The target's baseline with its vars: baseline defaults < inventory vars < --var."""
    return load_baseline(baseline or target.baseline_path, {**target.vars, **overrides})


def collect_target(
    target: Target,
    loaded: LoadedBaseline,
    *,
    allow_insecure_transport: bool = False,
    warn: Warn = _stderr,
    now: datetime.datetime | None = None,
) -> tuple[RawFacts, datetime.datetime]:
    """Collect ``target`` live. ``now`` anchors the event-log lookback (tests pin it)."""
    from compliance.remoting.collect import collect

    now = now or datetime.datetime.now(datetime.timezone.utc)
    raw = collect(
        target,
        loaded.collection_request(),
        password=target.password(),
        allow_insecure_transport=allow_insecure_transport,
        now=now,
        warn=warn,
    )
    return raw, now


def plan_target(
    target: Target,
    loaded: LoadedBaseline,
    *,
    allow_insecure_transport: bool = False,
    warn: Warn = _stderr,
    now: datetime.datetime | None = None,
) -> Plan:
    raw, now = collect_target(target, loaded, allow_insecure_transport=allow_insecure_transport, warn=warn, now=now)
    plan = evaluate(loaded, build_facts(raw, source=target.exchange_endpoint, collected_at=now))
    plan.target = target.name
    return plan


def plan_targets(
    inventory: Path,
    overrides: Mapping[str, Any],
    *,
    baseline: Path | None = None,
    only_target: str | None = None,
    allow_insecure_transport: bool = False,
    warn: Warn = _stderr,
) -> list[Plan]:
    loaded_inventory = load_inventory(inventory)
    targets = list(loaded_inventory.targets)
    if only_target is not None:
        targets = [loaded_inventory.target(only_target)]
    if not targets:
        raise InputError(f"{inventory}: no targets")
    return [
        plan_target(
            t, target_baseline(t, overrides, baseline), allow_insecure_transport=allow_insecure_transport, warn=warn
        )
        for t in targets
    ]
