"""Baseline vars, ``--var`` overrides and the ``{{ expression }}`` templates that size the minimums.

The documented sizing (baselines' header comment, docs/baselines.md): each agent desktop opens two
IMAP connections on the one UCCX account, so the IMAP minimums are
``max(2400, 2 * agents + uccx_server_connections)`` and the store session minimum is
``max(64, 2 * agents + uccx_server_connections)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from compliance.baseline import load_baseline, parse_var_overrides
from compliance.baseline.expressions import ExpressionError, evaluate, render
from compliance.errors import InputError

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "baselines").glob("*.yaml"))
DEFAULTS = REPO / "examples" / "facts" / "exchange2010-sp3-defaults"
SP1 = REPO / "baselines" / "uccx-exchange2010-sp1.yaml"


def minimums(path: Path, overrides: dict[str, Any]) -> dict[str, int | None]:
    rules = load_baseline(path, overrides).baseline.rules
    assert rules.imap_settings is not None
    found: dict[str, int | None] = {c.setting: c.at_least for c in rules.imap_settings.checks}
    [store] = rules.registry_values
    found[store.name] = store.at_least
    return found


# (overrides, IMAP MaxConnections/MaxConnectionsPerUser minimum, store sessions minimum), worked by hand.
# The store's minimum is the need plus a quarter of headroom, rounded up (docs/baselines.md).
SIZING = [
    pytest.param({}, 2400, 255, id="defaults-100-agents"),
    pytest.param({"agents": 10}, 2400, 64, id="small-site-keeps-both-floors"),
    pytest.param({"agents": 1198}, 2400, 3000, id="1198-agents-exactly-the-imap-floor"),
    pytest.param({"agents": 1199}, 2402, 3003, id="1199-agents-above-the-floor"),
    pytest.param({"agents": 2000}, 4004, 5005, id="2000-agents"),
    pytest.param({"agents": 2000, "uccx_server_connections": 10}, 4010, 5013, id="2000-agents-10-uccx"),
]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
@pytest.mark.parametrize(("overrides", "imap", "store"), SIZING)
def test_agents_raise_the_imap_and_store_minimums(path: Path, overrides: dict[str, Any], imap: int, store: int) -> None:
    found = minimums(path, overrides)
    assert found["MaxConnections"] == imap
    assert found["MaxConnectionsPerUser"] == imap
    assert found["Maximum Allowed Service Sessions Per User"] == store
    # The checklist values that do not depend on the site size stay as written.
    assert found["MaxCommandSize"] == 10240
    assert found["MaxConnectionFromSingleIP"] == 2000


def test_var_override_reaches_the_plan(cli: Any) -> None:
    result = cli("plan", "--facts", DEFAULTS, "--baseline", SP1, "--var", "agents=2000")
    assert result.code == 2, result.err
    assert "~ MaxConnectionsPerUser: 16 -> at least 4004" in result.out
    assert "~ MaxConnections: 2000 -> at least 4004" in result.out
    assert "+ Maximum Allowed Service Sessions Per User: 5005 (at least 5005)" in result.out


def test_list_and_string_vars_are_rendered_with_their_type() -> None:
    loaded = load_baseline(
        SP1, {"receive_connectors": ["*"], "uccx_mailbox": "ccx-mail", "throttling_policy_name": "UCCX-Email"}
    )
    rules = loaded.baseline.rules
    assert rules.receive_connectors is not None and rules.receive_connectors.selector.identity == ["*"]
    assert rules.throttling_policy is not None and rules.throttling_policy.name == "UCCX-Email"
    mailbox = rules.mailbox_policy
    assert mailbox is not None and (mailbox.mailbox, mailbox.throttling_policy) == ("ccx-mail", "UCCX-Email")
    assert [p.user for p in rules.ad_permissions] == ["ccx-mail"]
    assert loaded.collection_request().uccx_mailbox == "ccx-mail"


def test_overrides_do_not_change_the_recorded_defaults_or_the_file_digest() -> None:
    plain = load_baseline(SP1)
    sized = load_baseline(SP1, {"agents": 2000})
    assert plain.sha256 == sized.sha256  # the digest pins the file; vars are recorded beside it
    assert (plain.vars["agents"], sized.vars["agents"]) == (100, 2000)
    assert sized.baseline.vars["agents"].default == 100  # the vars: block is data, never rendered


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(
            ["agent=2000"],
            "--var agent:1:1: agent: this baseline has no var 'agent' (did you mean 'agents'?)",
            id="unknown-with-suggestion",
        ),
        pytest.param(
            ["colour=red"],
            "--var colour:1:1: colour: this baseline has no var 'colour' (known: agents, "
            "event_lookback_days, receive_connectors, throttling_policy_name, uccx_mailbox, "
            "uccx_server_connections)",
            id="unknown-lists-known",
        ),
        pytest.param(["agents=many"], "--var agents:1:1: agents: expected an integer, got 'many'", id="text-for-int"),
        pytest.param(["agents=true"], "--var agents:1:1: agents: expected an integer, got True", id="bool-for-int"),
        pytest.param(["agents=-5"], "--var agents:1:1: agents: -5 is below the minimum 0", id="below-minimum"),
        pytest.param(
            ["agents=100001"], "--var agents:1:1: agents: 100001 is above the maximum 100000", id="above-maximum"
        ),
        pytest.param(["agents=!!int zz"], "--var agents:1:1: agents: 'zz' is not a valid !!int", id="bad-int-tag"),
        pytest.param(
            ["receive_connectors=EX01"],
            "--var receive_connectors:1:1: receive_connectors: expected a list of strings, got 'EX01'",
            id="text-for-list",
        ),
        pytest.param(["agents"], "--var agents:1:1: agents: expected NAME=VALUE", id="no-equals"),
        pytest.param(
            ["agents=[1"], "--var agents:1:3: agents: invalid YAML: expected ',' or ']'", id="bad-yaml-at-its-column"
        ),
    ],
)
def test_bad_var_is_one_line_and_exit_1(cli: Any, argv: list[str], message: str) -> None:
    result = cli("plan", "--facts", DEFAULTS, "--baseline", SP1, *[a for v in argv for a in ("--var", v)])
    assert result.code == 1
    assert result.out == ""
    [line] = result.err.splitlines()
    assert line.startswith(f"uccx-compliance: error: {message}")


def test_var_values_are_read_as_yaml() -> None:
    assert parse_var_overrides(
        ["agents=300", "receive_connectors=['*\\Client *']", "uccx_mailbox=uccx01", "empty="]
    ) == {
        "agents": 300,
        "receive_connectors": ["*\\Client *"],
        "uccx_mailbox": "uccx01",
        "empty": "",
    }


def test_an_override_that_breaks_a_rule_points_at_the_rule() -> None:
    # An empty list is a list of strings, so the var takes it; the selector it feeds needs one glob.
    with pytest.raises(InputError) as caught:
        load_baseline(SP1, {"receive_connectors": []})
    message = str(caught.value)
    assert ": rules.receive_connectors.selector.identity: List should have at least 1 item" in message


# Templates: only what sizing needs is allowed.
@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("max(2400, 2 * agents + 4)", 2400),
        ("min(2400, 2 * agents + 4)", 204),
        ("(agents - 4) // 3", 32),
        ("-agents", -100),
        ("'text'", "text"),
        ("names", ["a", "b"]),
    ],
)
def test_expression_values(expression: str, value: Any) -> None:
    assert evaluate(expression, {"agents": 100, "names": ["a", "b"]}) == value


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os')",
        "agents.real",
        "agents ** 2",
        "agents / 3",
        "True",
        "[agents]",
        "lambda: 1",
        "max(agents, key=abs)",
        "names + 1",
        "agents +",
    ],
)
def test_expressions_outside_the_small_language_are_refused(expression: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(expression, {"agents": 100, "names": ["a"]})


def test_render_keeps_a_whole_template_typed_and_makes_embedded_ones_text() -> None:
    variables = {"agents": 100, "globs": ["*\\Default *"]}
    assert render("{{ globs }}", variables) == ["*\\Default *"]
    assert render("  {{ agents * 2 }} ", variables) == 200
    assert render("agents: {{ agents }}", variables) == "agents: 100"
    assert render("no template", variables) == "no template"
    assert render(5, variables) == 5
