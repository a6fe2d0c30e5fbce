"""Progress of a run over many targets: a live display on a terminal, timestamped lines elsewhere.

On a terminal (stderr is a TTY), rich draws one bar: targets done of total, failures so far, the
elapsed time and the estimate of what remains. Anywhere else (CI logs, cron mail, a pipe) each
finished target is one plain line with a UTC timestamp, so a log reads in order and greps well.
``quiet`` turns both off. A single target shows nothing: its own output says everything.
"""

from __future__ import annotations

import datetime
import sys
import threading
from types import TracebackType
from typing import Any

from compliance import output


class TargetProgress:
    """``begin(total)`` once the targets are known, ``done(name, seconds, ok)`` as each ends; a
    context manager around the run."""

    def __init__(self, *, quiet: bool = False, label: str = "targets") -> None:
        self.total = 0
        self.finished = 0
        self.failures = 0
        self._lock = threading.Lock()
        self._quiet = quiet
        self._enabled = False
        self._live: Any = None
        self._task: Any = None
        self._label = label

    def __enter__(self) -> TargetProgress:
        return self

    def begin(self, total: int) -> None:
        self.total = total
        self._enabled = total > 1 and not self._quiet
        if self._enabled and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._live = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[failures]} failed"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(file=sys.stderr),
                transient=True,
            )
            self._live.start()
            self._task = self._live.add_task(self._label, total=self.total, failures=0)

    def done(self, name: str, seconds: float, ok: bool) -> None:
        with self._lock:
            self.finished += 1
            self.failures += 0 if ok else 1
            finished, failures = self.finished, self.failures
        if not self._enabled:
            return
        if self._live is not None:
            self._live.update(self._task, completed=finished, failures=failures)
            return
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        verdict = "done" if ok else "FAILED"
        output.note(f"{stamp} {verdict} {name} in {seconds:.1f} s ({finished}/{self.total}, {failures} failed so far)")

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
