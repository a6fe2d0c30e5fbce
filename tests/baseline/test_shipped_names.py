"""Shipped baselines by name: ``--baseline NAME``, ``uccx-compliance baselines``, and the
wrong-version line that names the baseline to use instead."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compliance import pipeline
from compliance.baseline.versions import shipped_baselines, shipped_for
from compliance.cli import main
from compliance.errors import InputError
from compliance.facts.values import ServerVersion

DEFAULTS = "examples/facts/exchange2010-sp3-defaults"


def test_baselines_lists_every_shipped_file_with_its_range(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["baselines"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for path in sorted(Path("baselines").glob("*.yaml")):
        [line] = [entry for entry in lines if entry.split()[0] == path.stem]
        assert line.endswith(
            "applies to Exchange " + next(s.applies_to.text for s in shipped_baselines() if s.path.name == path.name)
        )
    assert lines[-1].startswith("auto: ")


@pytest.mark.parametrize(
    ("version", "name"),
    [
        (ServerVersion(14, 0, 639, 21), "uccx-exchange2010-rtm"),
        (ServerVersion(14, 3, 123, 4), "uccx-exchange2010-sp1"),
        (ServerVersion(15, 2, 1118, 7), "uccx-exchange2013"),
        (ServerVersion(15, 2, 2562, 17), "uccx-exchange2013"),  # Subscription Edition
        (ServerVersion(8, 3, 83, 6), None),
    ],
)
def test_each_version_has_at_most_one_shipped_baseline(version: ServerVersion, name: str | None) -> None:
    covering = [s.name for s in shipped_baselines() if s.applies_to.contains(version)]
    assert covering == ([name] if name else [])
    assert (found.name if (found := shipped_for(version)) else None) == name


def test_a_name_and_a_path_plan_alike(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--facts", DEFAULTS, "--baseline", "uccx-exchange2010-sp1", "--format", "json"]) == 2
    by_name = json.loads(capsys.readouterr().out)
    assert (
        main(["plan", "--facts", DEFAULTS, "--baseline", "baselines/uccx-exchange2010-sp1.yaml", "--format", "json"])
        == 2
    )
    by_path = json.loads(capsys.readouterr().out)
    assert Path(by_name["baseline"].pop("path")).resolve() == Path(by_path["baseline"].pop("path")).resolve()
    assert by_name == by_path


def test_an_unknown_name_lists_the_shipped_ones() -> None:
    with pytest.raises(
        InputError,
        match=r"--baseline uccx-exchange2007: no such file and no shipped baseline .*"
        r"uccx-exchange2010-sp1, uccx-exchange2013, auto\)$",
    ):
        pipeline.resolve_baseline("uccx-exchange2007")
    assert pipeline.resolve_baseline("auto") is None
    assert pipeline.resolve_baseline("uccx-exchange2013.yaml") == shipped_for(ServerVersion(15, 0)).path  # type: ignore[union-attr]


def test_the_wrong_version_names_the_right_baseline(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--facts", DEFAULTS, "--baseline", "uccx-exchange2013"]) == 1
    assert capsys.readouterr().err == (
        "uccx-compliance: error: EX01 runs Exchange 14.3.123.4 (2010 SP3); baseline uccx-exchange2013 applies to "
        ">=15.0,<16; use --baseline uccx-exchange2010-sp1 (or --baseline auto)\n"
    )
