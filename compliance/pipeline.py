"""The one pipeline every command calls: read a source into facts, then plan them against a baseline.

    source (FactsFolder | LiveTarget) --read_raw--> RawFacts --build_facts--> Facts
    LoadedBaseline + Facts --plan--> Plan --compliance.output--> text, json, junit, ps1, saved plan

``plan``, ``apply`` (its stale and verify re-reads), ``rollback``, ``facts collect`` and ``demo`` all
go through here, so a live plan, an offline plan and apply's re-read see the same facts.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compliance import output, resources
from compliance.baseline import LoadedBaseline, load_baseline
from compliance.baseline.versions import Shipped, dotted, shipped_baselines, shipped_for
from compliance.checks.engine import evaluate
from compliance.checks.restarts import ApplyRecords
from compliance.errors import ComplianceError, InputError, UnreachableError
from compliance.facts import offline
from compliance.facts.collection import CollectionRequest, RawFacts
from compliance.facts.model import Facts, Reading
from compliance.inventory import Target, load_inventory
from compliance.kinds import KINDS, exchange_server, imap_settings, receive_connector
from compliance.kinds.base import FactError
from compliance.kinds.exchange_server import ExchangeServer
from compliance.plan import Plan
from compliance.waivers import WaiverSet, utc_today

Warn = Callable[[str], None]


def stderr_warning(line: str) -> None:
    """A warning on stderr, through the output layer: a name or waiver text in it is shown, never
    obeyed (``terminal_safe``), and a closed stderr does not raise."""
    output.note(f"uccx-compliance: warning: {line}")


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
    # Open sessions to read through (apply's re-read, apply and verify share one runspace pool per
    # endpoint); None: the read opens its own and closes them.
    sessions: Any = field(default=None, repr=False, compare=False)

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
    sessions: Any = None,
) -> LiveTarget:
    """The live source of ``target``, reading what ``loaded`` checks (through ``sessions`` if open)."""
    return LiveTarget(target, loaded.collection_request(), password, allow_insecure_transport, warn, now, sessions)


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
        sessions=source.sessions,
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


def plan(loaded: LoadedBaseline, facts: Facts, *, target: str | None = None, state_dir: Path | None = None) -> Plan:
    # apply's change times (restart pending), from the target's state file under ``state_dir``.
    result = evaluate(loaded, facts, ApplyRecords.of_target(target, state_dir))
    result.target = target
    return result


AUTO = "auto"  # --baseline auto: each server's shipped baseline, picked by its version
# What only one part of a coexistence organization may judge: objects of the organization, not of a server.
_ORGANIZATION_RULES: dict[str, Any] = {"throttling_policy": None, "mailbox_policy": None, "ad_permissions": []}


def resolve_baseline(value: str) -> Path | None:
    """``--baseline``: a file, a shipped baseline by name (``uccx-compliance baselines``), or ``auto`` (None)."""
    if value == AUTO:
        return None
    path = Path(value)
    if path.is_file() or "/" in value or "\\" in value:
        return path  # a path: load_baseline says "file not found" with its name
    shipped = resources.shipped_baseline(value)
    if shipped.is_file():
        return shipped
    names = ", ".join(s.name for s in shipped_baselines())
    raise InputError(f"--baseline {value}: no such file and no shipped baseline of that name (shipped: {names}, auto)")


def target_baseline(target: Target, overrides: Mapping[str, Any], baseline: Path | None = None) -> LoadedBaseline:
    """The target's baseline with its vars: baseline defaults < inventory vars < --var."""
    written_at = {name: where for name, where in target.var_positions.items() if name not in overrides}
    return load_baseline(baseline or target.baseline_path, {**target.vars, **overrides}, written_at=written_at)


def waive(
    plans: list[Plan], waivers: WaiverSet | None, *, today: datetime.date | None = None, warn: Warn = stderr_warning
) -> list[Plan]:
    """The one place waivers meet plans, after planning, for every form of ``plan`` (and ``audit``):
    live waivers move their drift into ``plan.waived``, expired ones become findings, and each
    warning (a waiver that matches nothing, one that would waive an unreadable check) is said."""
    if waivers is not None:
        for line in waivers.apply(plans, today=today or utc_today()):
            warn(line)
    return plans


def plan_folder(
    baseline: Path,
    folder: Path,
    overrides: Mapping[str, Any],
    *,
    waivers: WaiverSet | None = None,
    today: datetime.date | None = None,
    warn: Warn = stderr_warning,
) -> Plan:
    """``plan --facts DIR``: the offline plan of one folder."""
    result = plan(load_baseline(baseline, dict(overrides)), read(FactsFolder(folder)))
    return waive([result], waivers, today=today, warn=warn)[0]


def plan_folder_by_version(
    folder: Path,
    overrides: Mapping[str, Any],
    *,
    waivers: WaiverSet | None = None,
    today: datetime.date | None = None,
    warn: Warn = stderr_warning,
) -> list[Plan]:
    """``plan --facts DIR --baseline auto``: one plan per shipped baseline its servers' versions need."""
    plans = plan_by_version(read(FactsFolder(folder)), lambda path: load_baseline(path, dict(overrides)))
    return waive(plans, waivers, today=today, warn=warn)


def plan_by_version(
    facts: Facts,
    load: Callable[[Path], LoadedBaseline],
    *,
    target: str | None = None,
    state_dir: Path | None = None,
) -> list[Plan]:
    """Each server judged by the shipped baseline of its version; a coexistence organization (2010
    and 2016 servers) gets one plan per baseline. The organization's own objects (throttling policy,
    UCCX mailbox, AD permission) are judged once, by the NEWEST version's baseline: see
    docs/baselines.md, "Coexistence", for why."""
    reading = facts.of(exchange_server.KIND)
    if (servers := reading.get()) is None:
        raise UnreachableError(f"--baseline auto needs the Exchange servers' versions: {reading.reason}")
    parts: dict[str, tuple[Shipped, list[ExchangeServer]]] = {}
    for server in servers:
        if server.version is None:
            raise UnreachableError(f"--baseline auto: the version of {server.name} was not read (AdminDisplayVersion)")
        if (shipped := shipped_for(server.version)) is None:
            raise InputError(
                f"{server.name} runs Exchange {dotted(server.version)} ({server.version.product}); "
                "no shipped baseline applies to it; give --baseline FILE"
            )
        parts.setdefault(shipped.name, (shipped, []))[1].append(server)
    if not parts:
        raise InputError("--baseline auto: Get-ExchangeServer lists no server, so no version to pick a baseline by")
    ordered = sorted(parts.values(), key=lambda part: max(s.version for s in part[1] if s.version))
    owner = ordered[-1][0].name
    plans = []
    for shipped, members in ordered:
        loaded = load(shipped.path)
        if len(ordered) > 1 and shipped.name != owner:
            rules = loaded.baseline.rules.model_copy(update=_ORGANIZATION_RULES)
            loaded = dataclasses.replace(loaded, baseline=loaded.baseline.model_copy(update={"rules": rules}))
        judged = _servers_only(facts, members) if len(ordered) > 1 else facts
        result = plan(loaded, judged, target=target, state_dir=state_dir)
        if len(ordered) > 1:
            names = ", ".join(s.name for s in members)
            result.notes.append(
                f"coexistence: {shipped.name} judges {names}; the organization's throttling policy, "
                f"mailbox and AD permission are judged by {owner} (the newest version)"
            )
        plans.append(result)
    return plans


def _servers_only(facts: Facts, servers: list[ExchangeServer]) -> Facts:
    """The facts of ``servers`` alone (per-server files, their IMAP settings and connectors); the
    organization's objects stay, for the part that judges them."""
    names = {s.name.casefold() for s in servers}
    part = Facts(source=facts.source, collected_at=facts.collected_at, warnings=list(facts.warnings))
    for stem, reading in facts.readings.items():
        _, _, server = stem.partition("-")
        if not server or server.casefold() in names:
            part.readings[stem] = reading
    part.readings[exchange_server.KIND.stem] = Reading(list(servers))
    if (imap := facts.of(imap_settings.KIND).get()) is not None:
        part.readings[imap_settings.KIND.stem] = Reading([i for i in imap if i.server.casefold() in names])
    if (connectors := facts.of(receive_connector.KIND).get()) is not None:
        kept = [c for c in connectors if c.server.casefold() in names]
        part.readings[receive_connector.KIND.stem] = Reading(kept)
    return part


def _union_request(loaded: list[LoadedBaseline]) -> CollectionRequest:
    """One live read that serves every shipped baseline: the versions are known only after it."""
    requests = [b.collection_request() for b in loaded]
    return CollectionRequest(
        uccx_mailbox=requests[0].uccx_mailbox,
        registry_paths=tuple(dict.fromkeys(p for r in requests for p in r.registry_paths)),
        events=tuple(dict.fromkeys(e for r in requests for e in r.events)),
        event_lookback_days=max(r.event_lookback_days for r in requests),
        services=tuple(dict.fromkeys(svc for r in requests for svc in r.services)),
    )


def plan_inventory(
    inventory: Path,
    overrides: Mapping[str, Any],
    *,
    baseline: Path | None = None,
    by_version: bool = False,
    only_target: str | None = None,
    allow_insecure_transport: bool = False,
    warn: Warn = stderr_warning,
    keep_going: bool = False,
    state_dir: Path | None = None,
    parallel: int = 1,
    target_timeout_s: float | None = None,
    shard: tuple[int, int] | None = None,
    on_targets: Callable[[int], None] | None = None,
    on_target_done: Callable[[str, float, bool], None] | None = None,
    waivers: WaiverSet | None = None,
    today: datetime.date | None = None,
) -> list[Plan]:
    """``plan --inventory FILE``: the live plan of each target, ``parallel`` at a time.

    With ``keep_going`` (``plan``) a target that cannot be planned (a baseline for another version,
    an unreachable endpoint, a password not set, ``target_timeout_s`` run out) is that target's
    failure: its plan names it and the reason, and the others go on. Without it (``apply
    --inventory``) the first such failure stops the run, named by its target, before anything is
    sent. Plans and each target's warnings come out in inventory order whatever order the targets
    finish in (compliance/fleet.py), so a parallel run reports exactly what a serial one does.
    ``on_targets(count)`` is told how many targets will run, ``on_target_done(name, seconds, ok)``
    as each ends (progress lines).
    ``waivers`` are loaded by the caller, before this connects to anything, and applied once every
    target is planned.
    """
    from compliance import fleet

    loaded_inventory = load_inventory(inventory)
    targets = list(loaded_inventory.targets)
    if only_target is not None:
        targets = [loaded_inventory.target(only_target)]
    if not targets:
        raise InputError(f"{inventory}: no targets")
    if shard is not None:
        targets = [t for t in targets if shard_of(t.name, shard[1]) == shard[0]]
    if on_targets is not None:
        on_targets(len(targets))
    # Passwords first, in this thread: a prompt must not race other targets' output, and a
    # password that is not set is the target's failure before anything is sent.
    passwords: dict[str, str | ComplianceError | None] = {}
    for target in targets:
        try:
            passwords[target.name] = target.password()
        except ComplianceError as exc:
            passwords[target.name] = exc

    def work(target: Target, progress: fleet.Progress) -> tuple[list[Plan], list[str]]:
        said: list[str] = []
        password = passwords[target.name]
        if isinstance(password, ComplianceError):
            raise password
        with fleet.reporting(progress):
            plans = _plan_target(
                target, password, overrides, baseline, by_version, allow_insecure_transport, said.append, state_dir
            )
        return plans, said

    def done(target: Target, outcome: fleet.Outcome[tuple[list[Plan], list[str]]]) -> None:
        if on_target_done is not None:
            # A target read in full (compliant or drift) is done; unreadable or refused is a failure.
            planned = outcome.result[0] if outcome.result is not None else []
            ok = outcome.ok and all(int(p.exit_code) in (0, 2) for p in planned)
            on_target_done(target.name, outcome.seconds, ok)

    outcomes = fleet.run_all(targets, work, parallel=parallel, timeout_s=target_timeout_s, on_done=done)
    plans: list[Plan] = []
    for target, outcome in zip(targets, outcomes, strict=True):
        error = outcome.error
        if outcome.timed_out_at is not None:
            error = UnreachableError(
                f"timed out after {target_timeout_s:g} s at {outcome.timed_out_at} (--target-timeout)"
            )
        if error is None:
            assert outcome.result is not None
            target_plans, said = outcome.result
            for line in said:
                warn(line)
            plans += target_plans
            continue
        if not isinstance(error, ComplianceError):
            raise error  # a bug, not a target's failure: the CLI's one handler names it
        own = f"target {target.name}: "
        bare = str(error).removeprefix(own)  # the target is named once, not twice
        if not keep_going:
            raise type(error)(own + bare) from None
        warn(f"not planned: {own}{bare}")
        # Its one unreadable result's resource is "target NAME" already: the reason is the bare one.
        plans.append(Plan.failed_target(target.name, target.exchange_endpoint, bare, error.exit_code))
    return waive(plans, waivers, today=today, warn=warn)


def shard_of(name: str, count: int) -> int:
    """The shard (1..count) a target belongs to: a stable hash of its name, the same on every machine
    and Python (not ``hash()``, which is salted per process), ignoring case as target names do."""
    digest = hashlib.sha256(name.casefold().encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def _plan_target(
    target: Target,
    password: str | None,
    overrides: Mapping[str, Any],
    baseline: Path | None,
    by_version: bool,
    allow_insecure_transport: bool,
    warn: Warn,
    state_dir: Path | None = None,
) -> list[Plan]:
    if not by_version:
        loaded = target_baseline(target, overrides, baseline)
        source = live(target, loaded, password=password, allow_insecure_transport=allow_insecure_transport, warn=warn)
        return [plan(loaded, read(source), target=target.name, state_dir=state_dir)]
    candidates = {s.path: target_baseline(target, overrides, s.path) for s in shipped_baselines()}
    request = _union_request(list(candidates.values()))
    source = LiveTarget(target, request, password, allow_insecure_transport, warn)
    return plan_by_version(read(source), candidates.__getitem__, target=target.name, state_dir=state_dir)
