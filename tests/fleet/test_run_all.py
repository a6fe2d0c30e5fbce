"""compliance.fleet.run_all: bounded concurrency, inventory order, a deadline that frees the slot."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.fleet import Outcome, Progress, run_all


def test_results_come_back_in_the_items_order_whatever_order_they_finish_in() -> None:
    delays = [0.05, 0.0, 0.03, 0.01]

    def work(delay: float, progress: Progress) -> float:
        time.sleep(delay)
        return delay

    outcomes = run_all(delays, work, parallel=4)
    assert [o.result for o in outcomes] == delays
    assert [o.index for o in outcomes] == [0, 1, 2, 3]


def test_never_more_than_parallel_at_once() -> None:
    lock = threading.Lock()
    now = peak = 0

    def work(item: int, progress: Progress) -> int:
        nonlocal now, peak
        with lock:
            now += 1
            peak = max(peak, now)
        time.sleep(0.01)
        with lock:
            now -= 1
        return item

    run_all(list(range(20)), work, parallel=3)
    assert peak == 3


def test_an_exception_is_that_items_outcome_and_the_others_finish() -> None:
    def work(item: int, progress: Progress) -> int:
        if item == 1:
            raise RuntimeError("boom")
        return item * 10

    outcomes = run_all([0, 1, 2], work, parallel=2)
    assert [o.result for o in outcomes] == [0, None, 20]
    assert isinstance(outcomes[1].error, RuntimeError) and not outcomes[1].ok


def test_a_hung_item_times_out_at_its_step_without_delaying_the_others() -> None:
    release = threading.Event()
    order: list[str] = []

    def work(item: str, progress: Progress) -> str:
        progress.step(f"reading {item}")
        if item == "hung":
            release.wait(30)  # a server that never answers
        return item

    def on_done(item: str, outcome: Outcome[str]) -> None:
        order.append(item)

    items = ["hung", "a", "b", "c"]
    try:
        outcomes = run_all(items, work, parallel=2, timeout_s=1.0, on_done=on_done)
    finally:
        release.set()
    assert outcomes[0].timed_out_at == "reading hung" and outcomes[0].result is None
    assert [o.result for o in outcomes[1:]] == ["a", "b", "c"]
    # The others ran in the second slot while the hung one waited: all ended before its deadline.
    assert order == ["a", "b", "c", "hung"]
    assert outcomes[0].seconds >= 1.0


def test_parallel_must_be_positive() -> None:
    with pytest.raises(ValueError):
        run_all([1], lambda item, progress: item, parallel=0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=3), max_size=12), st.integers(min_value=1, max_value=5))
def test_every_item_has_exactly_one_outcome_in_order(delays_ms: list[int], parallel: int) -> None:
    def work(delay: int, progress: Progress) -> int:
        time.sleep(delay / 1000)
        return delay

    outcomes = run_all(delays_ms, work, parallel=parallel)
    assert [o.result for o in outcomes] == delays_ms
