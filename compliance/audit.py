"""One unattended audit: lock, plan (the same pipeline as ``plan``), reports, history, notification.

``uccx-compliance audit`` is what a scheduler or a CI gate runs. It plans exactly as ``plan`` does
(``pipeline.plan_inventory`` / ``pipeline.plan_folder``), then, in this order:

1. waivers turn accepted drift into waived drift (``compliance.waivers``);
2. the run is recorded in the history (``compliance.history``), whose timeline the reports draw;
3. every ``--report FMT=PATH`` is written (atomically, ``compliance.files``);
4. a notification is posted (``compliance.notify``), whose failure is a warning only.

A lock file (``fcntl.flock``, held for the whole run) keeps a second audit from overlapping the
first: the second exits at once with ``ExitCode.LOCKED``, touching nothing. Every input (inventory,
baseline, waivers, report paths, the history location) is checked before the first connection.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from compliance.errors import ComplianceError, ExitCode, InputError
from compliance.plan import Plan
from compliance.reporters import REPORTERS
from compliance.reporters.context import RunContext

LOCK_NAME = "audit.lock"


class AuditLocked(ComplianceError):
    """Another audit holds the lock: this one did nothing."""

    exit_code = ExitCode.LOCKED


@dataclass(frozen=True)
class ReportSpec:
    fmt: str
    path: Path


def parse_report(spec: str) -> ReportSpec:
    """``--report FMT=PATH``: a known format and a path; one line naming the flag otherwise."""
    fmt, sep, path = spec.partition("=")
    fmt = fmt.strip().lower()
    if not sep or not path.strip():
        raise InputError(f"--report {spec!r}: expected FORMAT=PATH, e.g. html=out/report.html")
    if fmt not in REPORTERS or fmt == "ps1":
        known = ", ".join(f for f in REPORTERS if f != "ps1")
        raise InputError(f"--report {spec!r}: unknown format {fmt!r} (known: {known})")
    return ReportSpec(fmt, Path(path.strip()))


def check_reports(specs: Sequence[ReportSpec]) -> None:
    """Two reports to one file would leave only the last one: refuse before anything runs."""
    seen: dict[Path, str] = {}
    for spec in specs:
        key = spec.path.resolve()
        if key in seen:
            raise InputError(f"--report {spec.fmt}={spec.path}: the {seen[key]} report is written to that file too")
        seen[key] = spec.fmt


@dataclass
class AuditRun:
    """What one audit produced: the plans and the run's context (id, time, duration, timeline)."""

    plans: list[Plan]
    context: RunContext
    warnings: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        from compliance.reporters.common import combined_exit

        return combined_exit(self.plans)


def new_run(started_at: datetime.datetime | None = None) -> RunContext:
    now = started_at or datetime.datetime.now(datetime.timezone.utc)
    return RunContext(run_id=str(uuid.uuid4()), started_at=now, duration_s=0.0)


@contextlib.contextmanager
def holding_lock(path: Path) -> Iterator[None]:
    """Hold ``path`` locked (released when the process ends, even killed) for the run.

    The lock is on an open file, not on the file's existence: a lock file left by a crashed run
    never blocks the next one. The file keeps the holder's pid and start time for the message.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except OSError as exc:
        raise InputError(f"--lock {path}: {exc.strerror}") from None
    handle: IO[str] = os.fdopen(fd, "r+", encoding="utf-8")
    try:
        try:
            _lock_now(handle)
        except BlockingIOError:
            holder = handle.read().strip() or "another process"
            raise AuditLocked(
                f"another audit is running ({holder}; lock {path}); this one did nothing. "
                "Run audits less often than they take, or give each schedule its own --lock"
            ) from None
        handle.seek(0)
        handle.truncate()
        started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        handle.write(f"pid {os.getpid()} since {started}")
        handle.flush()
        yield
    finally:
        handle.close()  # closing the descriptor releases the flock


def _lock_now(handle: IO[str]) -> None:
    """An exclusive lock without waiting: flock on POSIX, msvcrt's byte lock on Windows (Task
    Scheduler runs there). Both end with the process, so a killed run leaves no lock behind."""
    if os.name == "nt":  # pragma: no cover - no Windows here
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:  # held by another process
            raise BlockingIOError from None
        return
    import fcntl

    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)


def finish(run: RunContext, started: float) -> RunContext:
    return RunContext(run.run_id, run.started_at, round(time.perf_counter() - started, 3), run.timeline)
