"""The ``{{ expression }}`` evaluator against hostile expressions: every failure is one line, located
at the templated value when it comes from a baseline, and nothing reaches Python's recursion limit
or makes an integer the reports cannot print.

Properties (hypothesis): random expression trees of allowed and refused operators over operands of
every type either evaluate to what Python computes for the same text, or are refused in one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from compliance.baseline.expressions import MAX_LENGTH, MAX_NESTING, MAX_OPERATORS, ExpressionError, evaluate
from compliance.errors import InputError
from compliance.yamlsource import INT_LIMIT
from tests.baseline.hostile import assert_located_lines, at_least_field, load_text, run_bounded, small_baseline

VARIABLES: dict[str, Any] = {"agents": 100, "zero": 0, "s": "text", "names": ["a", "b"], "empty": [], "flag": True}


def refused(expression: str, variables: dict[str, Any] = VARIABLES) -> str:
    with pytest.raises(ExpressionError) as caught:
        evaluate(expression, variables)
    message = str(caught.value)
    assert len(message.splitlines()) == 1
    return message


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("agents // zero", "division by zero in 'agents // zero'"),
        ("max()", "max() needs at least one value"),
        ("min(agents)", "min() of one value needs a list, got an integer"),
        ("max(s)", "max() of one value needs a list, got a string"),
        ("max(empty)", "max() of an empty list"),
        ("max(s, agents)", "max() compares integers or strings, not a string and an integer"),
        ("max(names, names)", "max() compares integers or strings, not a list"),
        ("max(flag, 1)", "max() compares integers or strings, not a boolean and an integer"),
        ("-s", "unary - needs an integer, got a string"),
        ("-names", "unary - needs an integer, got a list"),
        ("s + 1", "+ needs integers, got a string and an integer"),
        ("flag * 2", "* needs integers, got a boolean and an integer"),
        ("nope + 1", "unknown var 'nope' (known: agents, empty, flag, names, s, zero)"),
        (
            "agents * agents * agents * agents * agents * agents * agents * agents * agents * agents",
            "integer out of range (|n| < 2**63)",
        ),
        (str(INT_LIMIT), "integer out of range (|n| < 2**63)"),
        ("-" * 1000 + "1", f"expression longer than {MAX_LENGTH} characters"),
        ("+".join(["1"] * 1000), f"expression longer than {MAX_LENGTH} characters"),
        ("-" * (MAX_OPERATORS + 1) + "1", f"expression has more than {MAX_OPERATORS} operators"),
        ("(" * (MAX_NESTING + 1) + "1" + ")" * (MAX_NESTING + 1), f"expression nested deeper than {MAX_NESTING}"),
        ("agents / 2", "not allowed in a baseline expression: 'agents / 2'"),
        ("agents ** 2", "not allowed in a baseline expression: 'agents ** 2'"),
        ("1.5", "not allowed in a baseline expression: '1.5'"),
        ("1\x00", "cannot parse expression"),
    ],
)
def test_every_failure_is_one_line(expression: str, message: str) -> None:
    assert refused(expression).startswith(message)


def test_the_limits_are_limits_not_refusals() -> None:
    assert evaluate("-" * MAX_OPERATORS + "1", VARIABLES) == 1
    assert evaluate("(" * MAX_NESTING + "agents" + ")" * MAX_NESTING, VARIABLES) == 100
    assert evaluate(f"{INT_LIMIT - 1} + 0", VARIABLES) == INT_LIMIT - 1
    assert evaluate("'" + "(" * 100 + "'", VARIABLES) == "(" * 100  # brackets in a string are text
    assert evaluate("max(names)", VARIABLES) == "b"
    assert evaluate("min('b', 'a')", VARIABLES) == "a"
    assert evaluate("flag", VARIABLES) is True


# --- properties ---------------------------------------------------------------------------------

LEAVES = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["agents", "zero", "s", "names", "empty", "flag", "nope", "'x'", "''", "True", "None", "1.5"]),
    st.sampled_from(["[1]", "{}", "agents.real", "names[0]", "__import__('os')", "lambda: 1", "0j"]),
)
BINARY = ["+", "-", "*", "//", "/", "**", "%", "<<", "==", "<", "and", "or", "if 1 else", "@", "&"]
UNARY = ["-", "+", "~", "not "]
CALLS = ["max", "min", "abs", "len", "print", "sorted"]


def _trees(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(BINARY), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(UNARY), children).map("".join),
        st.tuples(st.sampled_from(CALLS), st.lists(children, max_size=3)).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
        st.tuples(st.integers(1, 3 * MAX_NESTING), children).map(lambda t: "(" * t[0] + t[1] + ")" * t[0]),
        st.tuples(st.integers(1, 3 * MAX_OPERATORS), children).map(lambda t: "-" * t[0] + t[1]),
    )


EXPRESSIONS = st.recursive(LEAVES, _trees, max_leaves=12)
OPERANDS = st.one_of(
    st.integers(-(2**64), 2**64),
    st.text(max_size=5),
    st.lists(st.text(max_size=3), max_size=3),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)
RANDOM_VARS = st.fixed_dictionaries({name: OPERANDS for name in ("agents", "zero", "s", "names", "empty", "flag")})


def python_value(expression: str, variables: dict[str, Any]) -> Any:
    # Only run once our evaluator has accepted the text, so it is names, literals, + - * //, max, min.
    return eval(expression, {"__builtins__": {}, "max": max, "min": min}, dict(variables))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRESSIONS, RANDOM_VARS)
@example("agents", {"agents": 2**63, "zero": 0, "s": "", "names": [], "empty": [], "flag": True})
def test_random_expressions_evaluate_as_python_does_or_are_refused_in_one_line(
    expression: str, variables: dict[str, Any]
) -> None:
    try:
        value = evaluate(expression, variables)
    except ExpressionError as exc:
        assert len(str(exc).splitlines()) == 1 and str(exc)
        event("refused")
        return
    event("evaluated")
    assert value == python_value(expression, variables)
    if isinstance(value, int) and not isinstance(value, bool):
        assert abs(value) < INT_LIMIT


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRESSIONS)
def test_a_random_expression_in_a_baseline_loads_or_is_located_at_its_value(expression: str) -> None:
    template = '"{{ ' + expression.replace("\\", "\\\\").replace('"', '\\"') + ' }}"'
    path, loaded = load_text(small_baseline(at_least=template))
    if isinstance(loaded, InputError):
        [line, *more] = assert_located_lines(loaded)
        assert not more, "a template error is one line"
        assert line.startswith(at_least_field(path)), line
    else:
        imap = loaded.baseline.rules.imap_settings
        assert imap is not None
        assert imap.checks[0].at_least == evaluate(expression, {"agents": 100, "names": ["a", "b"]})


# --- the real CLI, bounded ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("agents // 0", "division by zero"),
        ("max()", "max() needs at least one value"),
        ("max(agents)", "max() of one value needs a list, got an integer"),
        ("max('a', agents)", "max() compares integers or strings"),
        ("-'a'", "unary - needs an integer, got a string"),
        ("-" * 1000 + "agents", "expression longer than 500 characters"),
        ("+".join(["1"] * 240), "expression has more than 64 operators"),
        (" * ".join(["agents"] * 30), "integer out of range"),
    ],
    ids=[
        "zero-division",
        "max-of-nothing",
        "max-of-int",
        "max-mixed",
        "minus-string",
        "1000-minus",
        "1+1+1",
        "product",
    ],
)
def test_bad_expressions_through_the_real_cli(tmp_path: Path, expression: str, message: str) -> None:
    path = tmp_path / "expr.yaml"
    path.write_text(small_baseline(at_least=f'"{{{{ {expression} }}}}"'), encoding="utf-8")
    result = run_bounded("validate", path)
    assert (result.code, result.out) == (1, "")
    [line] = result.err.splitlines()
    assert line.startswith(at_least_field(path) + message), line
    assert "Traceback" not in result.err
