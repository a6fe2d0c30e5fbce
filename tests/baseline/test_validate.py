"""Baseline validation: the shipped baselines load, and each kind of mistake is one line that points
at the key in the file (``FILE:LINE:COL: dotted.path: message``), through ``uccx-compliance validate``.

The mistakes are made in a small baseline written here, so every expected line and column can be
checked against the text itself (``position_of``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from compliance.baseline import load_baseline
from compliance.baseline.model import iter_checks
from compliance.errors import InputError

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "baselines").glob("*.yaml"))

SMALL = """\
apiVersion: uccx-compliance/v1
kind: Baseline
metadata:
  name: small
  description: a baseline written for the tests
  source: tests/baseline
applies_to: ">=14.1,<15"
vars:
  agents: 100
  uccx_server_connections: 4
rules:
  imap_settings:
    checks:
      - id: UCCX-IMAP-001
        title: IMAP MaxCommandSize
        severity: medium
        setting: MaxCommandSize
        at_least: 10240
        rationale: checklist value
        remediation: Set-ImapSettings -MaxCommandSize 10240
      - id: UCCX-IMAP-004
        title: IMAP MaxConnectionsPerUser
        severity: critical
        setting: MaxConnectionsPerUser
        at_least: "{{ max(2400, 2 * agents + uccx_server_connections) }}"
        rationale: every agent logs in with the one account
        remediation: Set-ImapSettings -MaxConnectionsPerUser 2400
"""


def position_of(text: str, needle: str, occurrence: int = 1) -> str:
    """``LINE:COL`` (1-based) of the ``occurrence``-th ``needle`` in ``text``."""
    start = -1
    for _ in range(occurrence):
        start = text.index(needle, start + 1)
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    return f"{line}:{column}"


def mutate(old: str, new: str, count: int = 1) -> str:
    assert SMALL.count(old) >= count, f"{old!r} not in the small baseline"
    return SMALL.replace(old, new, count)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_baseline_loads_with_unique_well_formed_check_ids(path: Path) -> None:
    loaded = load_baseline(path)
    ids = [check.id for check in iter_checks(loaded.baseline.rules)]
    assert ids and len(ids) == len(set(ids))
    assert loaded.name == path.stem  # metadata.name matches the file a user names on the command line


def test_the_three_shipped_baselines_are_there() -> None:
    assert [p.name for p in SHIPPED] == [
        "uccx-exchange2010-rtm.yaml",
        "uccx-exchange2010-sp1.yaml",
        "uccx-exchange2013.yaml",
    ]


def test_validate_command_accepts_every_shipped_baseline(cli: Any) -> None:
    result = cli("validate", *SHIPPED)
    assert result.code == 0, result.err
    assert result.err == ""
    for path in SHIPPED:
        assert f"{path}: ok ({path.stem}, " in result.out


def test_small_baseline_is_valid(tmp_path: Path, cli: Any) -> None:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL, encoding="utf-8")
    result = cli("validate", path)
    assert (result.code, result.err) == (0, "")
    assert "2 checks" in result.out


# (edited text, the text the error must point at, the rest of the one expected line)
MISTAKES = [
    pytest.param(
        mutate("at_least: 10240", "at_leest: 10240"),
        "at_leest",
        "rules.imap_settings.checks[0].at_leest: unknown key 'at_leest' (did you mean 'at_least'?)",
        id="misspelt-comparison",
    ),
    pytest.param(
        mutate("setting: MaxCommandSize", "setings: MaxCommandSize"),
        "setings",
        "rules.imap_settings.checks[0].setings: unknown key 'setings' (did you mean 'setting'?)",
        id="misspelt-required-setting",
    ),
    pytest.param(
        mutate("severity: medium", "severty: medium"),
        "severty",
        "rules.imap_settings.checks[0].severty: unknown key 'severty' (did you mean 'severity'?)",
        id="misspelt-required-severity",
    ),
    pytest.param(
        mutate("  imap_settings:", "  imap_setings:"),
        "imap_setings",
        "rules.imap_setings: unknown key 'imap_setings' (did you mean 'imap_settings'?)",
        id="misspelt-section",
    ),
    pytest.param(
        mutate("at_least: 10240", "frobnicate: 10240"),
        "frobnicate",
        "rules.imap_settings.checks[0].frobnicate: unknown key 'frobnicate'",
        id="unknown-key-without-suggestion",
    ),
    pytest.param(
        mutate("at_least: 10240", "at_least: lots"),
        "at_least: lots",
        "rules.imap_settings.checks[0].at_least: Input should be a valid integer, unable to parse string as an integer",
        id="wrong-type",
    ),
    pytest.param(
        mutate("severity: medium", "severity: urgent"),
        "severity: urgent",
        "rules.imap_settings.checks[0].severity: Input should be 'low', 'medium', 'high' or 'critical'",
        id="bad-enum",
    ),
    pytest.param(
        mutate("        title: IMAP MaxCommandSize\n", ""),
        "id: UCCX-IMAP-001",
        "rules.imap_settings.checks[0].title: required key is missing",
        id="missing-required-key",
    ),
    pytest.param(
        mutate("at_least: 10240", "at_least: 10240\n        at_most: 20000"),
        "id: UCCX-IMAP-001",
        "rules.imap_settings.checks[0]: give exactly one comparison of exact, at_least, at_most, one_of, "
        "unlimited, present, absent; got at_least, at_most",
        id="two-comparisons",
    ),
    pytest.param(
        mutate("id: UCCX-IMAP-001", "id: UCCX-imap-1"),
        "id: UCCX-imap-1",
        "rules.imap_settings.checks[0].id: String should match pattern '^UCCX-[A-Z]+-\\d{3}$'",
        id="bad-check-id",
    ),
    pytest.param(
        mutate('applies_to: ">=14.1,<15"', 'applies_to: "SP1 or later"'),
        "applies_to",
        "applies_to: bad version clause 'SP1 or later': expected e.g. '>=14.1,<15'",
        id="bad-applies-to",
    ),
    pytest.param(
        mutate("2 * agents + uccx", "2 * agentz + uccx"),
        'at_least: "{{',
        "rules.imap_settings.checks[1].at_least: unknown var 'agentz' (known: agents, uccx_server_connections)",
        id="template-unknown-var",
    ),
    pytest.param(
        mutate("2 * agents + uccx_server_connections", "__import__('os')"),
        'at_least: "{{',
        "rules.imap_settings.checks[1].at_least: not allowed in a baseline expression: \"__import__('os')\"",
        id="template-call-not-allowed",
    ),
]


@pytest.mark.parametrize(("text", "points_at", "message"), MISTAKES)
def test_a_mistake_is_one_line_pointing_at_the_key(
    tmp_path: Path, cli: Any, text: str, points_at: str, message: str
) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    result = cli("validate", path)
    assert result.code == 1
    assert result.out == ""
    assert result.err.splitlines() == [f"{path}:{position_of(text, points_at)}: {message}"]


def test_exact_line_for_a_misspelt_key_is_the_documented_one(tmp_path: Path, cli: Any) -> None:
    # The line from the documentation, with its numbers counted by hand in SMALL: "at_leest" is on
    # line 18 (the 5th key of the first check), indented 8 spaces.
    path = tmp_path / "site.yaml"
    path.write_text(mutate("at_least: 10240", "at_leest: 10240"), encoding="utf-8")
    result = cli("validate", path)
    assert result.err == (
        f"{path}:18:9: rules.imap_settings.checks[0].at_leest: unknown key 'at_leest' (did you mean 'at_least'?)\n"
    )


def test_invalid_yaml_names_the_line_and_column(tmp_path: Path, cli: Any) -> None:
    text = mutate("kind: Baseline", "kind: Baseline: twice")
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    result = cli("validate", path)
    assert result.code == 1
    # PyYAML stops at the second ": " of line 2.
    assert result.err.splitlines() == [
        f"{path}:{position_of(text, ': twice')}: (top level): invalid YAML: mapping values are not allowed here"
    ]


def test_duplicate_yaml_key_is_one_line(tmp_path: Path, cli: Any) -> None:
    text = mutate("kind: Baseline\n", "kind: Baseline\nkind: Baseline\n")
    path = tmp_path / "dup.yaml"
    path.write_text(text, encoding="utf-8")
    result = cli("validate", path)
    assert result.code == 1
    assert result.err.splitlines() == [f"{path}:3:1: kind: duplicate key"]


def test_duplicate_check_ids_name_the_id(tmp_path: Path, cli: Any) -> None:
    path = tmp_path / "dup-ids.yaml"
    path.write_text(mutate("id: UCCX-IMAP-004", "id: UCCX-IMAP-001"), encoding="utf-8")
    result = cli("validate", path)
    assert result.code == 1
    [line] = result.err.splitlines()
    assert line.startswith(f"{path}:")
    assert "check id UCCX-IMAP-001 is used twice" in line


def test_duplicate_check_ids_point_at_the_second_id(tmp_path: Path, cli: Any) -> None:
    text = mutate("id: UCCX-IMAP-004", "id: UCCX-IMAP-001")
    path = tmp_path / "dup-ids.yaml"
    path.write_text(text, encoding="utf-8")
    result = cli("validate", path)
    second = position_of(text, "id: UCCX-IMAP-001", occurrence=2)
    assert result.err.startswith(f"{path}:{second}: rules.imap_settings.checks[1].id")


def test_validate_reports_every_file_and_fails_if_any_fails(tmp_path: Path, cli: Any) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(mutate("at_least: 10240", "at_leest: 10240"), encoding="utf-8")
    good = SHIPPED[0]
    result = cli("validate", bad, good)
    assert result.code == 1
    assert f"{good}: ok" in result.out
    assert len(result.err.splitlines()) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- just\n- a list\n", ":1:1: (top level): expected a mapping"),
        (
            SMALL.replace("vars:\n  agents: 100\n  uccx_server_connections: 4\n", "vars: [agents]\n"),
            ":8:1: vars: expected a mapping of name: var",
        ),
    ],
    ids=["top-level-list", "vars-not-a-mapping"],
)
def test_wrong_shape_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "shape.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_baseline(path)
    assert str(caught.value).startswith(f"{path}{message}")
    assert "\n" not in str(caught.value)


def test_missing_file_is_one_line(tmp_path: Path, cli: Any) -> None:
    result = cli("validate", tmp_path / "nope.yaml")
    assert (result.code, result.err) == (1, f"{tmp_path / 'nope.yaml'}:1:1: (top level): file not found\n")


def test_several_mistakes_validate_lists_each_and_plan_says_the_first_in_one_line(tmp_path: Path, cli: Any) -> None:
    text = mutate("severity: medium", "severity: urgent").replace("severity: critical", "severity: dire")
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    first = f"{path}:{position_of(text, 'severity: urgent')}: rules.imap_settings.checks[0].severity:"
    second = f"{path}:{position_of(text, 'severity: dire')}: rules.imap_settings.checks[1].severity:"
    listed = cli("validate", path)
    assert listed.code == 1
    [one, two] = listed.err.splitlines()
    assert one.startswith(first) and two.startswith(second)
    planned = cli("plan", "--baseline", path, "--facts", REPO / "examples" / "facts" / "exchange2010-sp3-defaults")
    assert planned.code == 1
    [line] = planned.err.splitlines()
    assert line.startswith(f"uccx-compliance: error: {first}") and line.endswith("(and 1 more in this file)")
