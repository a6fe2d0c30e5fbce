"""Faults on demand: what tests and the benchmark make a running lab do wrong.

A ``LabFaults`` is plain data, changed at any time on a running lab (``lab.faults.latency_ms = 50``)
or set from ``lab serve`` flags. The server and the pipeline runner consult it per request / per
cmdlet call under its lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class CmdletFailure:
    """Make a cmdlet fail with ``message``: at every call, or only at call number ``at_call``
    (1-based, counted from when this entry was set), e.g. "fail the 3rd Set-ReceiveConnector"."""

    message: str
    at_call: int | None = None
    calls: int = 0


@dataclass
class LabFaults:
    latency_ms: int = 0  # added to every HTTP request
    reject_auth: bool = False  # every authentication attempt fails with 401
    # Drop the TCP connection without a response on the Nth request from now; a countdown the
    # server decrements, back to None once it has fired.
    drop_connection_after: int | None = None
    # Cmdlet name (any case) -> error message, or a CmdletFailure for "only at the Nth call".
    failing_cmdlets: dict[str, str | CmdletFailure] = field(default_factory=dict)
    cmdlet_latency_ms: dict[str, int] = field(default_factory=dict)  # cmdlet name -> added delay
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def take_drop(self) -> bool:
        """Count one request against ``drop_connection_after``; True when this one must be dropped."""
        with self._lock:
            if self.drop_connection_after is None:
                return False
            self.drop_connection_after -= 1
            if self.drop_connection_after > 0:
                return False
            self.drop_connection_after = None
            return True

    def failure_for(self, cmdlet: str) -> str | None:
        """The injected error message for this call of ``cmdlet``, if it must fail."""
        with self._lock:
            for name, failure in self.failing_cmdlets.items():
                if name.lower() != cmdlet.lower():
                    continue
                if isinstance(failure, str):
                    return failure
                failure.calls += 1
                if failure.at_call is None or failure.calls == failure.at_call:
                    return failure.message
            return None

    def latency_for(self, cmdlet: str) -> float:
        """Seconds to wait before running ``cmdlet``."""
        with self._lock:
            for name, ms in self.cmdlet_latency_ms.items():
                if name.lower() == cmdlet.lower():
                    return ms / 1000
            return 0.0
