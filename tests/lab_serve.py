"""``uccx-compliance lab serve`` in a subprocess, for the tests of the command itself.

Started, read up to its "Ctrl-C (or SIGTERM) to stop." line (what it said before is ``said``),
stopped with ``stop`` when the block ends, and its exit code and output kept. A watchdog kills a
lab that never says it is ready, so a broken one fails its test instead of hanging the suite.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Served:
    said: list[str] = field(default_factory=list)  # the lines before "Ctrl-C ..."
    out: str = ""  # the rest of stdout, after it stopped
    err: str = ""
    returncode: int | None = None


@contextmanager
def lab_serve(
    *argv: str,
    env: Mapping[str, str] | None = None,
    stop: signal.Signals = signal.SIGINT,
    preexec_fn: Callable[[], object] | None = None,
) -> Iterator[Served]:
    server = subprocess.Popen(
        [sys.executable, "-m", "compliance", "lab", "serve", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=preexec_fn,
    )
    watchdog = threading.Timer(60, server.kill)
    watchdog.start()
    served = Served()
    try:
        assert server.stdout is not None
        while (line := server.stdout.readline()) and not line.startswith("Ctrl-C"):
            served.said.append(line)
        yield served
    finally:
        server.send_signal(stop)
        try:
            served.out, served.err = server.communicate(timeout=30)
        finally:
            watchdog.cancel()
            server.kill()  # nothing if it stopped; a lab that did not must not outlive its test
        served.returncode = server.returncode
