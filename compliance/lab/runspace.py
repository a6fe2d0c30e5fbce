"""One remote runspace pool (a WSMan shell) on the lab's server side, over psrpcore.

psrpcore is sans-IO: PSRP fragments go in with ``receive_data``, events come out of
``next_event`` and whatever the server has to say waits in ``data_to_send``. This class feeds it
what the WSMan front received (Create, Command, Send), runs each pipeline as soon as its
CreatePipeline message is complete, and keeps the outgoing fragments per target (the pool or one
pipeline) until the client's Receive for that target collects them.

Pipelines run synchronously inside the Command request, so a Receive normally finds everything
ready; the wait in ``receive`` only matters if a client receives before it has sent anything.
"""

from __future__ import annotations

import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import psrpcore
from psrpcore.types import PSInvocationState, PSVersion, SessionCapability

# PowerShell 2.0 on Windows Server 2008 R2 (Exchange 2010) speaks PSRP protocol 2.1.
_EXCHANGE_2010_CAPABILITY = SessionCapability(
    PSVersion=PSVersion("2.0"),
    protocolversion=PSVersion("2.1"),
    SerializationVersion=PSVersion("1.1.0.1"),
)
_FRAGMENT_SIZE = 32 * 1024
_FINISHED = (PSInvocationState.Completed, PSInvocationState.Failed, PSInvocationState.Stopped)

# Runs one pipeline: (the server pipeline to write to, the commands the client sent).
PipelineRunner = Callable[[psrpcore.ServerPipeline, psrpcore.PowerShell], None]


@dataclass
class ReceiveResult:
    chunks: list[bytes]
    done: bool  # the pipeline has finished and everything it wrote has been collected


class RunspaceSession:
    """The server half of one RunspacePool: psrpcore state plus per-target outgoing queues."""

    def __init__(self, shell_id: str, run_pipeline: PipelineRunner) -> None:
        self.shell_id = shell_id
        self._run_pipeline = run_pipeline
        self._pool = psrpcore.ServerRunspacePool()
        self._pool.our_capability = _EXCHANGE_2010_CAPABILITY
        self._outgoing: dict[uuid.UUID | None, deque[bytes]] = {}
        self._changed = threading.Condition()

    def feed(self, data: bytes, command_id: str | None = None) -> None:
        """Give the pool PSRP fragments from Create (creationXml), Command or Send."""
        pipeline_id = uuid.UUID(command_id) if command_id else None
        with self._changed:
            self._pool.receive_data(psrpcore.PSRPPayload(data, psrpcore.StreamType.default, pipeline_id))
            while (event := self._pool.next_event()) is not None:
                if isinstance(event, psrpcore.CreatePipelineEvent):
                    pipeline = self._pool.pipeline_table[event.pipeline_id]
                    self._run_pipeline(pipeline, event.pipeline)
            self._collect()
            self._changed.notify_all()

    def new_pipeline(self, command_id: str) -> None:
        """Register the pipeline a Command creates; psrpcore needs it before its messages arrive."""
        with self._changed:
            psrpcore.ServerPipeline(self._pool, uuid.UUID(command_id))
            self._outgoing.setdefault(uuid.UUID(command_id), deque())

    def receive(self, command_id: str | None, max_bytes: int, timeout_s: float) -> ReceiveResult | None:
        """Collect queued output for the pool or one pipeline; None if nothing came in time."""
        target = uuid.UUID(command_id) if command_id else None
        with self._changed:
            queue = self._outgoing.setdefault(target, deque())
            if not queue and not self._finished(target):
                self._changed.wait_for(lambda: bool(queue), timeout=timeout_s)
            chunks: list[bytes] = []
            size = 0
            while queue and (not chunks or size + len(queue[0]) <= max_bytes):
                chunk = queue.popleft()
                chunks.append(chunk)
                size += len(chunk)
            if not chunks and not self._finished(target):
                return None
            return ReceiveResult(chunks, done=self._finished(target) and not queue)

    def terminate_pipeline(self, command_id: str) -> None:
        """Signal Terminate: forget a finished pipeline (pypsrp sends it from ``PowerShell.close``)."""
        with self._changed:
            pipeline_id = uuid.UUID(command_id)
            pipeline = self._pool.pipeline_table.get(pipeline_id)
            if pipeline is not None and pipeline.state in _FINISHED:
                pipeline.close()
            self._outgoing.pop(pipeline_id, None)

    def stop_pipeline(self, command_id: str) -> None:
        """Signal ctrl_c. Pipelines here finish inside their Command request, so only a late stop
        of a pipeline that is still registered as running needs anything."""
        with self._changed:
            pipeline = self._pool.pipeline_table.get(uuid.UUID(command_id))
            if pipeline is not None and pipeline.state == PSInvocationState.Running:
                pipeline.stop()
                self._collect()
                self._changed.notify_all()

    def _finished(self, target: uuid.UUID | None) -> bool:
        if target is None:
            return False
        pipeline = self._pool.pipeline_table.get(target)
        return pipeline is None or pipeline.state in _FINISHED

    def _collect(self) -> None:
        while (payload := self._pool.data_to_send(_FRAGMENT_SIZE)) is not None:
            self._outgoing.setdefault(payload.pipeline_id, deque()).append(payload.data)
