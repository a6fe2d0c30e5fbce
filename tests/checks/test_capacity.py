"""The capacity summary: connections needed against every limit, with headroom."""

from __future__ import annotations

from pathlib import Path

import pytest

from compliance.baseline import load_baseline
from compliance.checks.capacity import capacity, connections_needed
from compliance.checks.engine import evaluate
from compliance.pipeline import FactsFolder, read

REPO = Path(__file__).resolve().parents[2]
SP1 = REPO / "baselines/uccx-exchange2010-sp1.yaml"
EXAMPLES = REPO / "examples/facts"


def rows_by_limit(rows: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(r["limit"]): r for r in rows}


@pytest.mark.parametrize(("agents", "own", "needed"), [(100, 4, 204), (0, 4, 4), (1500, 2, 3002)])
def test_needed_is_two_per_agent_plus_uccx_own(agents: int, own: int, needed: int) -> None:
    assert connections_needed({"agents": agents, "uccx_server_connections": own}) == needed


def test_no_agents_var_means_no_summary() -> None:
    facts = read(FactsFolder(EXAMPLES / "exchange2010-sp3-defaults"))
    assert capacity(facts, {}) == []


def test_defaults_show_every_limit_short_where_exchange_defaults_refuse() -> None:
    facts = read(FactsFolder(EXAMPLES / "exchange2010-sp3-defaults"))
    rows = rows_by_limit(capacity(facts, {"agents": 100, "uccx_server_connections": 4}))
    per_user = rows["IMAP MaxConnectionsPerUser"]
    assert (per_user["value"], per_user["headroom"], per_user["ok"]) == (16, 16 - 204, False)
    assert rows["IMAP MaxConnections"]["headroom"] == 2000 - 204
    store = rows["store Maximum Allowed Service Sessions Per User"]
    # The value is absent in the defaults example: the store's default of 16 applies (KB 980049).
    assert (store["value"], store["ok"]) == (16, False)
    assert "KB 980049" in str(store["note"])
    policy = next(r for r in rows.values() if str(r["limit"]).startswith("throttling IMAPMaxConcurrency"))
    assert "DefaultThrottlingPolicy" in str(policy["limit"])


def test_compliant_example_has_unlimited_policy_and_store_headroom() -> None:
    facts = read(FactsFolder(EXAMPLES / "exchange2010-sp3-compliant"))
    rows = capacity(facts, {"agents": 300, "uccx_server_connections": 4})
    policy = next(r for r in rows if str(r["limit"]) == "throttling IMAPMaxConcurrency (UCCX)")
    assert (policy["value"], policy["headroom"], policy["ok"]) == ("Unlimited", "unlimited", True)
    store = rows_by_limit(rows)["store Maximum Allowed Service Sessions Per User"]
    assert (store["value"], store["headroom"], store["ok"]) == (512, 512 - 604, False)


def test_unreadable_imap_is_not_counted_as_ok(tmp_path: Path) -> None:
    for name in ("GetExchangeServer.xml", "GetMailbox.xml", "GetThrottlingPolicy.xml"):
        (tmp_path / name).write_bytes((EXAMPLES / "exchange2010-sp3-defaults" / name).read_bytes())
    rows = capacity(read(FactsFolder(tmp_path)), {"agents": 10, "uccx_server_connections": 4})
    imap = [r for r in rows if str(r["limit"]).startswith("IMAP")]
    assert imap and all(r["ok"] is None and r["value"] is None for r in imap)
    assert all("not collected" in str(r["note"]) for r in imap)


def test_plan_carries_capacity_into_json() -> None:
    import json

    from compliance.reporters import render

    plan = evaluate(load_baseline(SP1), read(FactsFolder(EXAMPLES / "exchange2010-sp3-defaults")))
    report = json.loads(render("json", [plan]))
    assert {r["limit"] for r in report["capacity"]} >= {"IMAP MaxConnectionsPerUser", "IMAP MaxConnections"}
    text = render("text", [plan])
    assert "Capacity: UCCX needs 204 IMAP connections" in text
    assert "IMAP MaxConnectionsPerUser on EX01: 16 [SHORT, headroom -188]" in text
