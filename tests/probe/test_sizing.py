"""One sizing formula: the probe's "room for N agents", the plan's capacity and the baselines agree."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance import sizing
from compliance.baseline import load_baseline
from compliance.checks.capacity import connections_needed
from compliance.probe.advice import ProbeContext, classify_imap
from compliance.probe.result import Outcome, Refusal
from compliance.probe.session import FailureKind, SessionFailed
from tests.probe.test_imap_dovecot import imap_args as dovecot_args

REPO = Path(__file__).resolve().parents[2]
BASELINES = sorted((REPO / "baselines").glob("*.yaml"))
CTX = ProbeContext("mail.example.test", 143, "uccx@example.test", 60.0)

counts = st.integers(min_value=0, max_value=100_000)
own_counts = st.integers(min_value=0, max_value=10_000)


def limit_reached(session: int) -> Refusal:
    words = f"A{session} NO AUTHENTICATE failed."
    return Refusal(session, SessionFailed("login", FailureKind.NO, words, words=words))


@settings(max_examples=300, deadline=None)
@given(agents=counts, own=own_counts)
def test_agents_fit_inverts_connections_needed(agents: int, own: int) -> None:
    needed = sizing.connections_needed(agents, own)
    assert sizing.agents_fit(needed, own) == agents
    # One connection fewer leaves the last agent without its second session.
    if agents > 0:
        assert sizing.agents_fit(needed - 1, own) == agents - 1


@settings(max_examples=300, deadline=None)
@given(accepted=st.integers(min_value=0, max_value=300_000), own=own_counts)
def test_agents_fit_is_the_most_agents_the_connections_hold(accepted: int, own: int) -> None:
    fit = sizing.agents_fit(accepted, own)
    assert fit >= 0
    assert fit == 0 or sizing.connections_needed(fit, own) <= accepted
    assert sizing.connections_needed(fit + 1, own) > accepted


def test_exchange_default_of_16_is_6_agents_in_probe_and_plan() -> None:
    # The numbers: 16 sessions (MaxConnectionsPerUser and the store's default) hold 6 agents
    # once UCCX's own 4 are counted, not 8.
    assert sizing.agents_fit(16) == 6
    assert connections_needed({"agents": 6, "uccx_server_connections": 4}) == 16
    outcome, advice = classify_imap(CTX, 16, limit_reached(17))
    assert outcome is Outcome.THROTTLED
    assert "room for 6 agent desktops at most" in advice
    assert "8 agent" not in advice


def test_advice_says_how_far_short_of_the_agents_asked_for() -> None:
    ctx = ProbeContext("mail.example.test", 143, "uccx@example.test", 60.0, agents=100)
    _, advice = classify_imap(ctx, 16, limit_reached(17))
    assert "room for 6 agent desktops at most, 94 agents short of --agents 100" in advice


def test_ok_with_agents_names_the_team_it_covers() -> None:
    ctx = ProbeContext("mail.example.test", 143, "uccx@example.test", 60.0, agents=100)
    outcome, advice = classify_imap(ctx, 204, None)
    assert outcome is Outcome.OK
    assert "enough for 100 agents (2 IMAP sessions per agent desktop + 4 of UCCX's own)" in advice


def test_ok_without_agents_counts_uccx_own_sessions() -> None:
    outcome, advice = classify_imap(CTX, 10, None)
    assert outcome is Outcome.OK
    assert "room for 3 agent desktops" in advice and "--agents N" in advice


@pytest.mark.parametrize("path", BASELINES, ids=[p.stem for p in BASELINES])
@pytest.mark.parametrize(("agents", "own"), [(0, 4), (6, 4), (30, 4), (100, 4), (1197, 4), (1500, 2), (20_000, 10)])
def test_baseline_minimums_are_the_sizing_module(path: Path, agents: int, own: int) -> None:
    loaded = load_baseline(path, {"agents": agents, "uccx_server_connections": own})
    rules = loaded.baseline.rules
    assert rules.imap_settings is not None
    imap = {c.setting: c.at_least for c in rules.imap_settings.checks}
    assert imap["MaxConnections"] == imap["MaxConnectionsPerUser"] == sizing.imap_minimum(agents, own)
    (store,) = rules.registry_values
    assert store.at_least == sizing.store_minimum(agents, own)


def test_store_minimum_leaves_headroom_above_the_need() -> None:
    # 100 agents need 204 sessions; the minimum is not 204 (headroom +0): the next agents must fit.
    assert sizing.store_minimum(100) == 255
    assert sizing.connections_needed(125) <= sizing.store_minimum(100) < sizing.connections_needed(126)
    # Small teams get the checklist's floor of 64.
    assert sizing.store_minimum(0) == sizing.store_minimum(23) == sizing.STORE_FLOOR
    assert sizing.store_minimum(25) == 68  # 54 needed + 14


@settings(max_examples=300, deadline=None)
@given(agents=counts, own=own_counts)
def test_store_minimum_is_floor_or_need_plus_a_quarter(agents: int, own: int) -> None:
    needed = sizing.connections_needed(agents, own)
    minimum = sizing.store_minimum(agents, own)
    assert minimum >= sizing.STORE_FLOOR
    assert minimum >= needed + needed / 4
    assert minimum == sizing.STORE_FLOOR or minimum < needed + needed / 4 + 1


# -- the command line --------------------------------------------------------------------------


def imap_args(port: int, *extra: str) -> list[str]:
    """The Dovecot tests' arguments (a login without TLS, allowed on loopback) for ``port``."""
    return dovecot_args(SimpleNamespace(port=port, user="uccx-agent@example.test"), *extra)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--agents", "100", "--connections", "5"], "--agents and --connections exclude each other"),
        (["--agents", "0"], "--agents 0: must be 1 or more"),
        (
            ["--agents", "100", "--max-connections", "64"],
            "--agents 100 needs 204 sessions, which is above the cap of 64; raise it with --max-connections 204",
        ),
        (["--agents", "5", "--uccx-server-connections", "-1"], "--uccx-server-connections -1: must be 0 or more"),
    ],
)
def test_agents_usage_errors(probe_cli: Any, extra: list[str], message: str) -> None:
    run = probe_cli(*imap_args(1, *extra))
    assert run.code == 1
    assert run.err.count("\n") == 1
    assert message in run.err


@pytest.mark.server
def test_agents_100_asks_for_204_sessions_above_the_default_cap(dovecot: Any, probe_cli: Any) -> None:
    # The default cap of 64 would refuse 204; with --agents the cap follows the team size.
    run = probe_cli(*imap_args(dovecot.port, "--agents", "100"), "--format", "json")
    result = json.loads(run.out)
    assert run.code == 2, run.out
    assert (result["requested"], result["accepted"]) == (204, dovecot.userip_limit)
    assert "room for 0 agent desktops at most, 100 agents short of --agents 100" in result["advice"]


@pytest.mark.server
def test_agents_within_the_limit_is_ok(dovecot: Any, probe_cli: Any) -> None:
    # Dovecot's limit of 3 holds 1 agent with UCCX's own sessions set to 1: 2 x 1 + 1 = 3.
    run = probe_cli(*imap_args(dovecot.port, "--agents", "1", "--uccx-server-connections", "1"), "--format", "json")
    result = json.loads(run.out)
    assert run.code == 0, run.out
    assert (result["requested"], result["accepted"]) == (3, 3)
    assert "enough for 1 agent (2 IMAP sessions per agent desktop + 1 of UCCX's own)" in result["advice"]
