"""Many targets at once: bounded concurrency, a deadline per target, results in inventory order.

A live audit is almost all waiting (about 0.25 s of client CPU per organization against 1.6 s of
wall time at 50 ms latency, issue 14), so targets run in threads: pypsrp 0.9 and requests are
blocking libraries (the installed pypsrp has no ``async def`` at all), and a thread per target in
flight keeps them as they are. asyncio would mean another WinRM client, and with it another
Kerberos, sealing and error-line path.

Deadlines: a thread cannot be stopped from outside, and a hung server (it accepts TCP and never
answers) holds its thread in a socket read until ``timeouts.read``. So the deadline is kept by the
caller, not the worker: when a target's time is up its result is abandoned, its slot goes to the
next target at once, and the worker, a daemon thread, ends on its own read timeout or with the
process. The worker says where it is (``Progress.step``) so the timeout can name the step.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_PARALLEL = 32  # docs/fleet.md, Sizing: hides 50-150 ms round trips; a worker is a thread and 2 connections


class Progress:
    """Where one target's work is, for a timeout's message ("at reading Get-ImapSettings")."""

    def __init__(self) -> None:
        self._step = "starting"
        self._lock = threading.Lock()

    def step(self, text: str) -> None:
        with self._lock:
            self._step = text

    @property
    def current(self) -> str:
        with self._lock:
            return self._step


_CURRENT = threading.local()


@contextlib.contextmanager
def reporting(progress: Progress) -> Iterator[None]:
    """While active, ``step()`` in this thread reports to ``progress``."""
    previous = getattr(_CURRENT, "progress", None)
    _CURRENT.progress = progress
    try:
        yield
    finally:
        _CURRENT.progress = previous


def step(text: str) -> None:
    """Say where this thread's target is ("connecting to URL", "reading Get-ImapSettings on URL").

    A no-op outside ``run_all``: the remoting code calls it unconditionally, cheaply.
    """
    progress: Progress | None = getattr(_CURRENT, "progress", None)
    if progress is not None:
        progress.step(text)


@dataclass(frozen=True)
class Outcome(Generic[R]):
    """One target's end: ``result``, or the exception it raised, or a timeout at ``step``."""

    index: int
    result: R | None = None
    error: BaseException | None = None
    timed_out_at: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and self.timed_out_at is None


def run_all(
    items: Sequence[T],
    work: Callable[[T, Progress], R],
    *,
    parallel: int = DEFAULT_PARALLEL,
    timeout_s: float | None = None,
    on_done: Callable[[T, Outcome[R]], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> list[Outcome[R]]:
    """Run ``work(item, progress)`` for every item, at most ``parallel`` at a time.

    Returns one outcome per item, in the items' order, whatever order they finished in.
    ``on_done`` is called in the caller's thread as each one ends (for progress lines).
    """
    if parallel < 1:
        raise ValueError("parallel must be at least 1")
    finished: queue.Queue[tuple[int, R | None, BaseException | None, float]] = queue.Queue()
    outcomes: dict[int, Outcome[R]] = {}
    running: dict[int, tuple[float, Progress]] = {}  # index -> (start, progress)
    pending = list(range(len(items)))

    def start(index: int) -> None:
        progress = Progress()
        began = clock()
        running[index] = (began, progress)

        def body() -> None:
            try:
                result = work(items[index], progress)
            except BaseException as exc:  # the caller decides what a target's failure means
                finished.put((index, None, exc, clock() - began))
            else:
                finished.put((index, result, None, clock() - began))

        threading.Thread(target=body, name=f"uccx-target-{index}", daemon=True).start()

    def end(index: int, outcome: Outcome[R]) -> None:
        running.pop(index, None)
        outcomes[index] = outcome
        if on_done is not None:
            on_done(items[index], outcome)

    while pending or running:
        while pending and len(running) < parallel:
            start(pending.pop(0))
        wait = None
        if timeout_s is not None:
            soonest = min(began for began, _ in running.values()) + timeout_s
            wait = max(0.0, soonest - clock())
        try:
            index, result, error, seconds = finished.get(timeout=wait)
        except queue.Empty:
            pass
        else:
            if index in running:  # not already abandoned by its deadline
                end(index, Outcome(index, result=result, error=error, seconds=seconds))
        if timeout_s is not None:
            now = clock()
            for index, (began, progress) in list(running.items()):
                if now - began >= timeout_s:
                    end(index, Outcome(index, timed_out_at=progress.current, seconds=now - began))
    return [outcomes[i] for i in range(len(items))]
