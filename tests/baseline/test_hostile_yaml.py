"""The one YAML reader (``compliance.yamlsource``) against hostile input: tags outside the core
schema, bad values for allowed tags, deep nesting, alias bombs, huge numbers, oversized and
undecodable files. Every failure is one ``FILE:LINE:COL: field: message`` line; nothing runs long,
uses much memory or raises anything but ``InputError``.

The examples pin each documented limit and message; the properties (hypothesis) generate the
classes: arbitrary text, and structured documents with random tags, anchors, aliases, nesting and
numbers, read alone and as a value inside a baseline.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.errors import InputError
from compliance.yamlsource import INT_LIMIT, MAX_ALIASES, MAX_BYTES, MAX_DEPTH, MAX_NODES, parse_yaml, read_yaml
from tests.baseline.hostile import (
    assert_located_lines,
    assert_one_located_line,
    load_text,
    run_bounded,
    small_baseline,
)

# A "billion laughs" of a few hundred bytes: 9**9 strings once every alias is expanded.
BOMB = (
    "a: &a ["
    + ",".join(['"lol"'] * 9)
    + "]\n"
    + "".join(
        f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]\n" for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
    )
)
REFUSED = "is not allowed (the core schema only: null, bool, int, float, str, seq, map)"


def parsed(text: str) -> Any:
    return parse_yaml(text, Path("f.yaml")).data


def refusal(text: str) -> str:
    with pytest.raises(InputError) as caught:
        parse_yaml(text, Path("f.yaml"))
    return assert_one_located_line(caught.value)


# --- the core schema ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        pytest.param("a: 2024-01-01", {"a": "2024-01-01"}, id="implicit-timestamp-is-a-string"),
        pytest.param("a: yes\nb: on\nc: off", {"a": "yes", "b": "on", "c": "off"}, id="yaml-1.1-booleans-are-strings"),
        pytest.param("a: 1:20", {"a": "1:20"}, id="sexagesimal-is-a-string"),
        pytest.param("a: 1_000", {"a": "1_000"}, id="underscores-are-a-string"),
        pytest.param("a: 0x1F\nb: 0o17\nc: 017", {"a": 31, "b": 15, "c": 17}, id="core-integers"),
        pytest.param("a: ~\nb: null\nc:", {"a": None, "b": None, "c": None}, id="core-nulls"),
        pytest.param("a: true\nb: FALSE", {"a": True, "b": False}, id="core-booleans"),
        pytest.param("a: !!str 5\nb: '5'\nc: !!int '7'", {"a": "5", "b": "5", "c": 7}, id="explicit-core-tags"),
        pytest.param("a: 0000000000000000000000001", {"a": 1}, id="leading-zeros-are-not-digits"),
        pytest.param(
            f"a: {INT_LIMIT - 1}\nb: -{INT_LIMIT - 1}", {"a": INT_LIMIT - 1, "b": -(INT_LIMIT - 1)}, id="bound"
        ),
        pytest.param("a: 1.5\nb: -.inf", {"a": 1.5, "b": -math.inf}, id="core-floats"),
        pytest.param("<<: {a: 1}", {"<<": {"a": 1}}, id="no-merge-keys"),
    ],
)
def test_plain_values_resolve_by_the_core_schema(text: str, value: Any) -> None:
    assert parsed(text) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: !!int abc", "f.yaml:1:4: a: 'abc' is not a valid !!int"),
        ("a: !!bool yes", "f.yaml:1:4: a: 'yes' is not a valid !!bool"),
        ("a: !!null x", "f.yaml:1:4: a: 'x' is not a valid !!null"),
        ("a: !!float x", "f.yaml:1:4: a: 'x' is not a valid !!float"),
        ("a: !!timestamp 2024-13-45", f"f.yaml:1:4: a: tag !!timestamp {REFUSED}"),
        ("a: !!timestamp 2024-01-01", f"f.yaml:1:4: a: tag !!timestamp {REFUSED}"),
        ("a: !!binary aGVsbG8=", f"f.yaml:1:4: a: tag !!binary {REFUSED}"),
        ("a: !!set {x, y}", f"f.yaml:1:4: a: tag !!set {REFUSED}"),
        ("a: !!omap [x: 1]", f"f.yaml:1:4: a: tag !!omap {REFUSED}"),
        ("a: !!python/object/apply:os.system [ls]", f"f.yaml:1:4: a: tag !!python/object/apply:os.system {REFUSED}"),
        ("a:\n  - !custom x", f"f.yaml:2:5: a[0]: tag !custom {REFUSED}"),
        ("!custom k: v", f"f.yaml:1:1: (top level): tag !custom {REFUSED}"),
    ],
)
def test_other_tags_and_bad_values_are_located_and_named(text: str, message: str) -> None:
    assert refusal(text) == message


# --- the limits ---------------------------------------------------------------------------------


def test_nesting_is_refused_while_composing_one_level_past_the_limit() -> None:
    deepest: Any = []
    for _ in range(MAX_DEPTH - 1):
        deepest = [deepest]
    assert parsed("[" * MAX_DEPTH + "]" * MAX_DEPTH) == deepest
    assert parsed("a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)) == {"a": deepest[0]}  # a: is level 1
    message = refusal("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert message == f"f.yaml:1:{MAX_DEPTH + 1}: {'[0]' * MAX_DEPTH}: nested deeper than {MAX_DEPTH} levels"
    # 900 levels was a RecursionError inside PyYAML; 100,000 is refused just as fast.
    assert "nested deeper than 64 levels" in refusal("[" * 100_000)


def test_an_alias_bomb_stops_at_the_value_budget() -> None:
    assert len(BOMB.encode()) < 600
    assert refusal(BOMB).endswith(f"more than {MAX_NODES} values once aliases are expanded")


def test_an_alias_to_its_own_collection_stops_at_the_depth_limit() -> None:
    assert refusal("a: &x [*x]").endswith(f"nested deeper than {MAX_DEPTH} levels once aliases are expanded")


def test_aliases_are_counted() -> None:
    anchors = "a: &x 1\nb: [" + ", ".join(["*x"] * MAX_ALIASES) + "]\n"
    assert parsed(anchors)["b"] == [1] * MAX_ALIASES
    assert refusal(anchors.replace("]", ", *x]")) == f"f.yaml:2:{5 + 4 * MAX_ALIASES}: b[100]: more than 100 aliases"


def test_values_are_counted_without_aliases_too() -> None:
    assert refusal("[" + "1," * MAX_NODES + "1]").endswith(f"more than {MAX_NODES} values")


@pytest.mark.parametrize(
    "text",
    ["a: " + "9" * 4400, f"a: {INT_LIMIT}", f"a: -{INT_LIMIT}", "a: 0x8000000000000000", "a: !!int " + "1" * 30],
    ids=["4400-digits", "2**63", "-2**63", "hex-2**63", "tagged-30-digits"],
)
def test_integers_are_bounded(text: str) -> None:
    message = refusal(text)
    assert message.startswith("f.yaml:1:") and message.endswith("out of range (|n| < 2**63)")
    assert len(message) < 200  # the number is shortened, never printed in full


def test_size_is_bounded_for_text_and_for_a_file(tmp_path: Path) -> None:
    big = "a: " + "x" * MAX_BYTES
    assert refusal(big) == f"f.yaml:1:1: (top level): larger than the {MAX_BYTES}-byte limit"
    path = tmp_path / "big.yaml"
    path.write_text(big, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_yaml(path)
    assert str(caught.value) == f"{path}:1:1: (top level): larger than the {MAX_BYTES}-byte limit"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"a: 1\nb: \xff\n", "2:4: (top level): not UTF-8 text"),
        (b"a: 1\nb: x\x07\n", "2:5: (top level): invalid YAML: character '\\x07' is not allowed"),
        (
            b"a: 1\n---\nb: 2\n",
            "2:1: (top level): invalid YAML: expected a single document in the stream, but found another document",
        ),
        (b"? [a]\n: 1\n", "1:3: (top level): a key must be a plain value, not a list or mapping"),
        (b"a: 1\na: 2\n", "2:1: a: duplicate key"),
        (b"a: *nope\n", "1:4: a: invalid YAML: found undefined alias 'nope'"),
    ],
    ids=["not-utf8", "control-character", "two-documents", "complex-key", "duplicate-key", "undefined-alias"],
)
def test_malformed_files_are_one_located_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        read_yaml(path)
    assert assert_one_located_line(caught.value) == f"{path}:{message}"


def test_a_key_with_line_breaks_stays_one_line() -> None:
    assert refusal('"a\\nb\\u2028c": !!int x') == "f.yaml:1:16: a\\nb\\u2028c: 'x' is not a valid !!int"


# --- properties ---------------------------------------------------------------------------------

CORE_TYPES = (type(None), bool, int, float, str, list, dict)
TAGS = [
    *[""] * 6,
    "!!str ",
    "!!int ",
    "!!float ",
    "!!bool ",
    "!!null ",
    "!!seq ",
    "!!map ",
    "! ",
    "!!timestamp ",
    "!!binary ",
    "!!set ",
    "!!omap ",
    "!!pairs ",
    "!!merge ",
    "!custom ",
    "!!python/object/apply:os.system ",
    "!<tag:yaml.org,2002:int> ",
]
SCALARS = st.one_of(
    st.integers(-(10**25), 10**25).map(str),
    st.text("0123456789", min_size=18, max_size=5000),
    st.sampled_from(["yes", "on", "~", "null", "2024-01-01", "2024-13-45", "1:20", ".inf", ".NaN", "0x1F", "1e400"]),
    st.sampled_from(["true", "False", "0o17", "-0", "+12", "abc", "", "'q'", '"\\u2028"', "x: y", "- z"]),
    st.text(st.characters(codec="utf-8"), max_size=12).map(json.dumps),
)


@st.composite
def documents(draw: st.DrawFn, depth: int = 0, anchors: list[str] | None = None) -> str:
    """Flow-style YAML with random tags, anchors, aliases (defined or not), nesting and numbers."""
    anchors = [] if anchors is None else anchors
    if anchors and draw(st.integers(0, 5)) == 0:
        return "*" + draw(st.sampled_from([*anchors, "undefined"]))
    prefix = draw(st.sampled_from(TAGS))
    if draw(st.integers(0, 4)) == 0:
        anchors.append(f"a{len(anchors)}")
        prefix += f"&{anchors[-1]} "
    shape = draw(st.sampled_from(["scalar", "scalar", "list", "map", "deep"])) if depth < 4 else "scalar"
    if shape == "scalar":
        return prefix + draw(SCALARS)
    if shape == "deep":
        levels = draw(st.integers(1, 3 * MAX_DEPTH))
        return prefix + "[" * levels + draw(SCALARS) + "]" * levels
    items = [draw(documents(depth + 1, anchors)) for _ in range(draw(st.integers(0, 4)))]
    if shape == "list":
        return prefix + "[" + ", ".join(items) + "]"
    return prefix + "{" + ", ".join(f"k{i}: {item}" for i, item in enumerate(items)) + "}"


def assert_core_values(value: Any, depth: int = 0) -> None:
    assert isinstance(value, CORE_TYPES) and depth <= MAX_DEPTH + 1
    if isinstance(value, int):
        assert abs(value) < INT_LIMIT
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    for child in children:
        assert_core_values(child, depth + 1)


def read_or_refuse(text: str) -> None:
    try:
        data = parse_yaml(text, Path("hostile.yaml")).data
    except InputError as exc:
        assert_one_located_line(exc)
    else:
        assert_core_values(data)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_read_or_refused_in_one_located_line(text: str) -> None:
    read_or_refuse(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_any_tagged_aliased_nested_document_is_read_or_refused_in_one_located_line(text: str) -> None:
    read_or_refuse("root: " + text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.sampled_from(["at_least", "vars"]))
def test_a_hostile_value_in_a_baseline_loads_or_is_one_located_line(fragment: str, where: str) -> None:
    text = (
        small_baseline(at_least=fragment)
        if where == "at_least"
        else small_baseline(vars_block=f"  hostile: {fragment}\n")
    )
    path, loaded = load_text(text)
    if isinstance(loaded, InputError):
        assert all(line.startswith(f"{path}:") for line in assert_located_lines(loaded))
    else:
        imap = loaded.baseline.rules.imap_settings
        assert imap is not None and isinstance(imap.checks[0].at_least, int)


# --- the real CLI, bounded ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: !!int abc\n", ":1:4: a: 'abc' is not a valid !!int"),
        ("a: !!timestamp 2024-13-45\n", ":1:4: a: tag !!timestamp is not allowed"),
        ("a: !custom x\n", ":1:4: a: tag !custom is not allowed"),
        ("a: " + "[" * 900 + "]" * 900 + "\n", ":1:67: a" + "[0]" * 63 + ": nested deeper than 64 levels"),
        (BOMB, ": more than 100000 values once aliases are expanded"),
        ("a: " + "9" * 4400 + "\n", ":1:4: a: integer 999999999999...(4400 characters) out of range"),
    ],
    ids=["bad-int", "bad-timestamp", "custom-tag", "900-nested", "alias-bomb", "4400-digits"],
)
def test_hostile_files_through_the_real_cli(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    result = run_bounded("validate", path)
    assert (result.code, result.out) == (1, "")
    [line] = result.err.splitlines()
    assert line.startswith(f"{path}:") and expected in line  # validate names each file it refuses
    assert "Traceback" not in result.err
