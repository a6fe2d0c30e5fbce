"""Holding N sessions open at once with one account, as UCCX and its agent desktops do.

Sessions are opened one after another and kept open, so the count the server accepted is exact.
Opening stops at the first refusal: each further attempt would only add load to a production
server (and, on Exchange, possibly a failed-logon event), and the first refusal already answers
"how many did it take?". Closing sends every LOGOUT/QUIT first and then collects the answers,
so closing N sessions costs one step timeout, not N.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from compliance.probe.result import Refusal, Step, StepRecorder, ms_since, plural
from compliance.probe.session import Budget, FailureKind, SessionFailed


class Closable(Protocol):
    def begin_close(self) -> None:
        """Send LOGOUT/QUIT without waiting for the answer."""

    def finish_close(self) -> bool:
        """Read the answer (True if the server said goodbye properly) and close the socket."""


S = TypeVar("S", bound=Closable)


@dataclass
class OpenedSessions(Generic[S]):
    sessions: list[S] = field(default_factory=list)
    refusal: Refusal | None = None
    first_steps: StepRecorder = field(default_factory=StepRecorder)
    started: float = 0.0


def open_sessions(count: int, budget: Budget, open_one: Callable[[int, StepRecorder], S]) -> OpenedSessions[S]:
    """Open up to ``count`` sessions; the first one's steps are recorded for the report."""
    opened: OpenedSessions[S] = OpenedSessions(started=time.perf_counter())
    for number in range(1, count + 1):
        recorder = opened.first_steps if number == 1 else StepRecorder()
        if budget.expired():
            failure = SessionFailed("open", FailureKind.BUDGET, "the probe's time budget (--budget) ran out")
            opened.refusal = Refusal(number, failure)
            break
        try:
            opened.sessions.append(open_one(number, recorder))
        except SessionFailed as exc:
            opened.refusal = Refusal(number, exc)
            break
    return opened


def connections_step(requested: int, opened: OpenedSessions[S], whose: str) -> Step:
    """The connection-count step: how many sessions the server held at once, and who stopped.

    ``whose`` says what the sessions share: "with one account" (IMAP), "from this host" (SMTP).
    """
    accepted = len(opened.sessions)
    detail = f"{accepted} of {plural(requested, 'session')} open at once {whose}"
    if opened.refusal is not None:
        detail += f"; {opened.refusal.describe()}"
    return Step("connections", opened.refusal is None, ms_since(opened.started), detail)


def close_step(name: str, verb: str, sessions: list[S]) -> Step:
    """Send ``verb`` (LOGOUT/QUIT) on every session, then read the answers and close the sockets."""
    started = time.perf_counter()
    for session in sessions:
        session.begin_close()
    answered = sum(1 for session in sessions if session.finish_close())
    detail = f"{verb} answered by {answered} of {len(sessions)} sessions; all {len(sessions)} closed"
    return Step(name, answered == len(sessions), ms_since(started), detail)
