"""Typed baseline vars: the declared form ``{type, default, minimum, maximum, description}``, the
short form ``name: default`` with its inferred type, and ``--var`` values checked against both.

Properties (hypothesis): random ``--var`` strings against the shipped baseline, and random vars
blocks, either load (and then every value fits its var) or fail in located lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.baseline import load_baseline, parse_var_overrides
from compliance.baseline.model import VarSpec
from compliance.errors import InputError
from compliance.yamlsource import INT_LIMIT
from tests.baseline.hostile import (
    DEFAULTS,
    SP1,
    VAR_LOCATED,
    assert_located_lines,
    assert_one_located_line,
    load_text,
    run_bounded,
    small_baseline,
)


def load_vars(tmp_path: Path, block: str) -> dict[str, VarSpec]:
    path = tmp_path / "vars.yaml"
    path.write_text(small_baseline(vars_block=block), encoding="utf-8")
    return dict(load_baseline(path).baseline.vars)


def refusal(tmp_path: Path, block: str) -> str:
    with pytest.raises(InputError) as caught:
        load_vars(tmp_path, block)
    return assert_one_located_line(caught.value).removeprefix(f"{tmp_path / 'vars.yaml'}:")


def test_the_short_form_infers_the_type_and_counts_are_non_negative(tmp_path: Path) -> None:
    specs = load_vars(tmp_path, "  n: 5\n  s: x\n  b: true\n  l: [a]\n")
    assert {name: (s.type, s.default, s.low, s.high) for name, s in specs.items()} == {
        "n": ("integer", 5, 0, INT_LIMIT - 1),
        "s": ("string", "x", -(INT_LIMIT - 1), INT_LIMIT - 1),
        "b": ("boolean", True, -(INT_LIMIT - 1), INT_LIMIT - 1),
        "l": ("string_list", ["a"], -(INT_LIMIT - 1), INT_LIMIT - 1),
    }


def test_the_declared_form_keeps_its_range_and_description(tmp_path: Path) -> None:
    [spec] = load_vars(
        tmp_path, "  agents: {type: integer, default: 50, minimum: 1, maximum: 900, description: email agents}\n"
    ).values()
    assert (spec.type, spec.default, spec.low, spec.high, spec.description) == ("integer", 50, 1, 900, "email agents")
    assert (spec.problem(0), spec.problem(901), spec.problem(1), spec.problem("1")) == (
        "0 is below the minimum 1",
        "901 is above the maximum 900",
        None,
        "expected an integer, got '1'",
    )


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("  n: -1\n", "6:3: vars.n.default: the default does not fit: -1 is below the minimum 0"),
        ("  n: 1.5\n", "6:3: vars.n: cannot tell a type from the default 1.5; declare it as"),
        ("  n: [1, 2]\n", "6:3: vars.n: cannot tell a type from the default [1, 2]; declare it as"),
        ("  n:\n", "6:3: vars.n: cannot tell a type from the default None; declare it as"),
        ("  n: {type: number, default: 1}\n", "6:7: vars.n.type: Input should be 'integer', 'string', 'boolean'"),
        ("  n: {type: integer, defualt: 1}\n", "6:22: vars.n.defualt: unknown key 'defualt' (did you mean 'default'?)"),
        (
            "  n: {type: integer, default: 5, maximum: 4}\n",
            "6:22: vars.n.default: the default does not fit: 5 is above",
        ),
        (
            "  n: {type: integer, default: 5, minimum: 9, maximum: 4}\n",
            "6:22: vars.n.default: minimum 9 is above maximum 4",
        ),
        ("  n: {type: string, default: x, minimum: 1}\n", "6:21: vars.n.default: minimum and maximum apply to integer"),
        (
            "  n: {type: string_list, default: [a, 1]}\n",
            "6:26: vars.n.default: the default does not fit: expected a list",
        ),
        ("  n: {type: boolean, default: yes}\n", "6:22: vars.n.default: the default does not fit: expected a boolean"),
        ("  bad-name: 1\n", "6:3: vars.bad-name: String should match pattern"),
    ],
)
def test_a_bad_var_declaration_is_located(tmp_path: Path, block: str, message: str) -> None:
    assert refusal(tmp_path, block).startswith(message)


def test_shipped_vars_are_declared_with_ranges() -> None:
    specs = load_baseline(SP1).baseline.vars
    assert {name: spec.type for name, spec in specs.items()} == {
        "uccx_mailbox": "string",
        "throttling_policy_name": "string",
        "receive_connectors": "string_list",
        "agents": "integer",
        "uccx_server_connections": "integer",
        "event_lookback_days": "integer",
    }
    assert (specs["agents"].low, specs["agents"].high) == (0, 100_000)
    assert (specs["event_lookback_days"].low, specs["event_lookback_days"].high) == (1, 365)
    assert all(spec.description for spec in specs.values())


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("agents=-5", "--var agents:1:1: agents: -5 is below the minimum 0"),
        ("agents=!!int zz", "--var agents:1:1: agents: 'zz' is not a valid !!int"),
        ("agents=" + "9" * 4400, "--var agents:1:1: agents: integer 999999999999...(4400 characters) out of range"),
        ("agents=!!python/object:os.system x", "--var agents:1:1: agents: tag !!python/object:os.system is not"),
        ("agents=" + "[" * 900, "--var agents:1:65: agents" + "[0]" * 64 + ": nested deeper than 64 levels"),
        ("event_lookback_days=0", "--var event_lookback_days:1:1: event_lookback_days: 0 is below the minimum 1"),
        ("receive_connectors=[a, 1]", "--var receive_connectors:1:1: receive_connectors: expected a list of strings"),
        ("=5", "--var :1:1: (top level): expected NAME=VALUE"),
    ],
)
def test_bad_var_through_the_real_cli(item: str, message: str) -> None:
    result = run_bounded("plan", "--baseline", SP1, "--facts", DEFAULTS, "--var", item)
    assert (result.code, result.out) == (1, "")  # nothing planned
    [line] = result.err.splitlines()
    assert line.startswith(f"uccx-compliance: error: {message}"), line
    assert "Traceback" not in result.err


# --- properties ---------------------------------------------------------------------------------

SHIPPED = load_baseline(SP1).baseline.vars
NAMES = st.one_of(
    st.sampled_from(sorted(SHIPPED)), st.sampled_from(["agent", "", " agents ", "x=y"]), st.text(max_size=8)
)
VALUES = st.one_of(
    st.text(max_size=40),
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["[]", "['*']", "[a, 1]", "[[a]]", "{a: 1}", "true", "~", "!!int x", "&a [*a]", "'5'", "0x10"]),
    st.sampled_from(["!!binary aGk=", "!!timestamp 2024-01-01", "2024-01-01", "[", "'", "-1", "100000", "100001"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(NAMES, VALUES), min_size=1, max_size=3))
def test_any_var_is_taken_and_fits_or_is_refused_in_the_var_form(pairs: list[tuple[str, str]]) -> None:
    items = [f"{name}={value}" for name, value in pairs]
    try:
        overrides = parse_var_overrides(items)
        loaded = load_baseline(SP1, overrides)
    except InputError as exc:
        if str(exc).startswith("--var "):
            assert_one_located_line(exc, VAR_LOCATED)
        else:  # a value that fits its var but not the rule it feeds (receive_connectors=[])
            assert all(line.startswith(f"{SP1}:") for line in assert_located_lines(exc))
        return
    for name, value in overrides.items():
        assert SHIPPED[name].problem(value) is None and loaded.vars[name] == value


VAR_TYPES = st.sampled_from(["integer", "string", "boolean", "string_list", "number", "list"])
DEFAULT_TEXT = st.sampled_from(["5", "-5", "0", "x", "''", "true", "[a]", "[]", "[1]", "1.5", "~", "!!int q", "{}"])


@st.composite
def vars_blocks(draw: st.DrawFn) -> str:
    lines = []
    for index in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            lines.append(f"  v{index}: {draw(DEFAULT_TEXT)}")
            continue
        fields = [f"type: {draw(VAR_TYPES)}", f"default: {draw(DEFAULT_TEXT)}"]
        bounds = st.one_of(st.integers(-(2**64), 2**64).map(str), st.just("x"))
        fields += [f"{key}: {draw(bounds)}" for key in ("minimum", "maximum") if draw(st.booleans())]
        lines.append(f"  v{index}: {{{', '.join(draw(st.permutations(fields)))}}}")
    return "".join(f"{line}\n" for line in lines)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(vars_blocks())
def test_any_vars_block_loads_with_fitting_defaults_or_is_located(block: str) -> None:
    path, loaded = load_text(small_baseline(vars_block=block))
    if isinstance(loaded, InputError):
        assert all(line.startswith(f"{path}:") for line in assert_located_lines(loaded))
        return
    specs: dict[str, Any] = dict(loaded.baseline.vars)
    assert all(spec.problem(spec.default) is None for spec in specs.values())
    assert loaded.vars == {name: spec.default for name, spec in specs.items()}
