"""Scenario events move with the clock for `lab serve` and `demo`, and stay put for tests."""

from __future__ import annotations

import datetime

from compliance import resources
from compliance.facts.offline import collected_at
from compliance.lab.properties import prop
from compliance.lab.server import Lab

SCENARIO = "exchange2010-sp3-defaults"


def event_times(lab: Lab) -> list[datetime.datetime]:
    return sorted(prop(e, "TimeCreated") for e in lab.state.of("GetWinEvent-EX01"))


def test_events_keep_their_distance_from_now_as_from_the_collection() -> None:
    collected = collected_at(resources.scenario_dir(SCENARIO))
    assert collected is not None
    original = event_times(Lab(scenario=SCENARIO))
    before = datetime.datetime.now(datetime.timezone.utc)
    moved = event_times(Lab(scenario=SCENARIO, events_relative_to_now=True))
    after = datetime.datetime.now(datetime.timezone.utc)
    assert len(moved) == len(original) == 4
    for old, new in zip(original, moved, strict=True):
        assert before - collected <= new - old <= after - collected


def test_events_are_untouched_by_default() -> None:
    first, second = event_times(Lab(scenario=SCENARIO)), event_times(Lab(scenario=SCENARIO))
    assert first == second
    assert first[0].year == 2026 and first[0].month == 11 and first[0].day == 20
