"""The receive connector UCCX really reaches: on 2013+ the front end on port 25, not the back end on 2525.

Read from CSS-Exchange's real Exchange 2019 export (tests/fixtures/real/E19-GetReceiveConnector.xml),
whose five connectors carry ``TransportRole`` and ``Bindings`` as Exchange writes them; the server
list is the real E19 export with its version raised to Exchange Server SE RTM (15.2.2562.17).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.baseline import load_baseline
from compliance.checks.connectors import FRONTEND, choose, reaches_uccx, select
from compliance.checks.engine import evaluate
from compliance.facts.offline import read_clixml
from compliance.facts.values import ServerVersion
from compliance.kinds.exchange_server import KIND as EXCHANGE_SERVER
from compliance.kinds.receive_connector import KIND as RECEIVE_CONNECTOR
from compliance.kinds.receive_connector import ReceiveConnector
from compliance.pipeline import FactsFolder, read
from compliance.reporters import render

REPO = Path(__file__).resolve().parents[2]
REAL = REPO / "tests/fixtures/real"
E2013 = REPO / "baselines/uccx-exchange2013.yaml"
SP1 = REPO / "baselines/uccx-exchange2010-sp1.yaml"
SERVER = "WIN-CTD3L0RGEN4"
FRONT = f"{SERVER}\\Default Frontend {SERVER}"
BACK = f"{SERVER}\\Default {SERVER}"
SE_VERSION = "Version 15.2 (Build 2562.17)"  # AdminDisplayVersion of Exchange Server SE RTM


def se_folder(tmp_path: Path) -> Path:
    """The real E19 exports, the server's version set to Exchange SE's (ToString and its parts)."""
    servers = (REAL / "E19-GetExchangeServer.xml").read_text(encoding="utf-8-sig")
    old = (
        "<ToString>Version 15.2 (Build 986.5)</ToString>",
        '<I32 N="Build">986</I32>',
        '<I32 N="Revision">5</I32>',
    )
    new = (f"<ToString>{SE_VERSION}</ToString>", '<I32 N="Build">2562</I32>', '<I32 N="Revision">17</I32>')
    for before, after in zip(old, new, strict=True):
        assert servers.count(before) == 1, before
        servers = servers.replace(before, after)
    (tmp_path / "GetExchangeServer.xml").write_text(servers, encoding="utf-8-sig")
    (tmp_path / "GetReceiveConnector.xml").write_bytes((REAL / "E19-GetReceiveConnector.xml").read_bytes())
    return tmp_path


def real_connectors() -> list[ReceiveConnector]:
    return RECEIVE_CONNECTOR.parse(read_clixml(REAL / "E19-GetReceiveConnector.xml"), None)


def test_real_export_gives_role_and_bindings_as_exchange_shows_them() -> None:
    by_name = {c.name: c for c in real_connectors()}
    front, back = by_name[f"Default Frontend {SERVER}"], by_name[f"Default {SERVER}"]
    assert (front.transport_role, front.bindings, front.ports) == (FRONTEND, ("[::]:25", "0.0.0.0:25"), frozenset({25}))
    assert (back.transport_role, back.bindings, back.ports) == (
        "HubTransport",
        ("0.0.0.0:2525", "[::]:2525"),
        frozenset({2525}),
    )
    assert by_name[f"Client Frontend {SERVER}"].ports == {587}


def test_the_2013_selector_names_both_but_only_the_front_end_is_chosen() -> None:
    matched = select(["*\\Default *"], real_connectors())
    assert {c.identity for c in matched} == {FRONT, BACK}
    selection = choose(matched)
    assert [(c.identity, why) for c, why in selection.chosen] == [
        (FRONT, "selected because TransportRole FrontendTransport and Bindings [::]:25, 0.0.0.0:25")
    ]
    [(left, why)] = selection.left_out
    assert left.identity == BACK
    assert why.startswith("TransportRole HubTransport, Bindings 0.0.0.0:2525, [::]:2525: ")
    assert "arrives on port 25 at the front end" in why


def test_exchange_se_version_is_named_and_accepted_by_the_2013_baseline(tmp_path: Path) -> None:
    facts = read(FactsFolder(se_folder(tmp_path)))
    servers = facts.of(EXCHANGE_SERVER).get()
    assert servers is not None
    version = servers[0].version
    assert version == ServerVersion(15, 2, 2562, 17)
    assert str(version) == SE_VERSION and version.product == "Exchange Server Subscription Edition"
    assert ServerVersion(15, 2, 986, 5).product == "Exchange 2019"
    assert load_baseline(E2013).baseline.version_range.contains(version)
    plan = evaluate(load_baseline(E2013), facts)  # a version mismatch would raise, naming both
    assert plan.baseline == "uccx-exchange2013"


def test_plan_changes_the_front_end_only_and_says_why(tmp_path: Path) -> None:
    plan = evaluate(load_baseline(E2013), read(FactsFolder(se_folder(tmp_path))))
    smtp = [c for c in plan.changes if c.check.startswith("UCCX-SMTP")]
    # The real front end's limits (tests/fixtures/real/README.md): PerSource 20 and Percentage 2 are
    # below the checklist; MaxInboundConnection 5000 and MessageRateLimit Unlimited are compliant.
    assert {(c.identity, c.setting, c.desired) for c in smtp} == {
        (FRONT, "MaxInboundConnectionPerSource", 250),
        (FRONT, "MaxInboundConnectionPercentagePerSource", 5),
    }
    assert all(c.identity != BACK for c in plan.changes)
    text = render("text", [plan])
    assert f"Receive connectors matched by *\\Default *: {FRONT}" in text
    assert f"  {FRONT}: selected because TransportRole FrontendTransport and Bindings [::]:25, 0.0.0.0:25" in text
    assert f"  left out {BACK}: TransportRole HubTransport, Bindings 0.0.0.0:2525, [::]:2525" in text
    [selector] = json.loads(render("json", [plan]))["selectors"]
    assert selector["matched"] == [FRONT] and selector["left_out"][0].startswith(BACK)


def test_2010_connectors_without_transport_role_are_selected_by_name() -> None:
    facts = read(FactsFolder(REPO / "examples/facts/exchange2010-sp3-defaults"))
    plan = evaluate(load_baseline(SP1), facts)
    [selector] = plan.selectors
    assert selector.matched == ("EX01\\Default EX01",)
    assert selector.why == ("selected by name",) and selector.left_out == ()


def test_connectors_are_chosen_per_server() -> None:
    # EX02 has no front end (a 2010 server during a migration): its connector is chosen by name.
    connectors = [
        connector("EX01", "Default Frontend EX01", FRONTEND, "0.0.0.0:25"),
        connector("EX01", "Default EX01", "HubTransport", "0.0.0.0:2525"),
        connector("EX02", "Default EX02", None, "0.0.0.0:25"),
    ]
    selection = choose(connectors)
    assert [(c.identity, why.split(" ")[0]) for c, why in selection.chosen] == [
        ("EX01\\Default Frontend EX01", "selected"),
        ("EX02\\Default EX02", "selected"),
    ]
    assert dict((c.identity, why) for c, why in selection.chosen)["EX02\\Default EX02"] == "selected by name"
    assert [c.identity for c, _ in selection.left_out] == ["EX01\\Default EX01"]


def connector(server: str, name: str, role: str | None, *bindings: str) -> ReceiveConnector:
    from compliance.facts.model import Settings

    return ReceiveConnector(f"{server}\\{name}", server, name, Settings({}), role, tuple(bindings))


ROLES = st.sampled_from([FRONTEND, "HubTransport", "frontendtransport", None])
PORTS = st.sampled_from([25, 2525, 587, 465, 717])
CONNECTORS = st.lists(
    st.tuples(st.sampled_from(["EX01", "EX02", "ex01"]), ROLES, st.lists(PORTS, max_size=3)),
    max_size=8,
)


@settings(max_examples=200, deadline=None)
@given(specs=CONNECTORS)
def test_every_matched_connector_is_chosen_or_left_out_with_a_reason(specs: list[Any]) -> None:
    connectors = [
        connector(server, f"C{i}", role, *(f"0.0.0.0:{p}" for p in ports))
        for i, (server, role, ports) in enumerate(specs)
    ]
    selection = choose(connectors)
    chosen = [c for c, _ in selection.chosen]
    assert sorted(c.identity for c in chosen + [c for c, _ in selection.left_out]) == sorted(
        c.identity for c in connectors
    )
    for server in {c.server.casefold() for c in connectors}:
        here = [c for c in connectors if c.server.casefold() == server]
        picked = [c for c in chosen if c.server.casefold() == server]
        if any(reaches_uccx(c) for c in here):
            # A server with a front end on 25: exactly those, never a back end.
            assert picked == [c for c in here if reaches_uccx(c)]
        else:
            assert picked == here  # nothing to go by: the globs decide
    assert all(why for _, why in selection.chosen + selection.left_out)


@pytest.mark.parametrize("binding", ["[::]:25", "0.0.0.0:25", "192.0.2.10:25"])
def test_any_address_on_port_25_counts(binding: str) -> None:
    assert reaches_uccx(connector("EX01", "Relay", FRONTEND, binding))
    assert not reaches_uccx(connector("EX01", "Relay", FRONTEND, binding.replace(":25", ":2525")))
