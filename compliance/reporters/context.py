"""What a report may know beyond the plans: the run itself and, from the history, how drift moved.

``plan`` renders without it; ``audit`` (one unattended run, several reports) passes one, so the
HTML report can draw the drift timeline and the Prometheus textfile can carry the run's time and
duration. A field a reporter needs and does not get is left out of that report, never invented.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass


@dataclass(frozen=True)
class TimelinePoint:
    """One audit of one target, as the history remembers it (counts by verdict)."""

    at: datetime.datetime  # when the audit ran, UTC
    target: str
    compliant: int
    drift: int
    waived: int
    unreadable: int


@dataclass(frozen=True)
class RunContext:
    run_id: str
    started_at: datetime.datetime  # UTC
    duration_s: float
    timeline: tuple[TimelinePoint, ...] = ()  # oldest first; empty without a history
