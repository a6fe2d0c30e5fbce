"""Output messages of a fleet's shared objects, serialized once and sent to every organization.

A thousand organizations of one scenario read the same template objects (``LabState.sharing``)
until one of them changes something, and each full audit sends those objects again. psrpcore's
serializer is most of the lab's CPU per request (``docs/lab.md``, Capacity of one lab process), so
the bytes of each template object's output message are kept: ``WireCache.message`` serializes an
object once per client capability and ``send_output`` queues those bytes where psrpcore's
``ServerPipeline.write_output`` would queue the same bytes after serializing again.

Only objects of the template itself are cached (by identity, and the cache holds the template, so
an ``id`` is never reused), and only while the organization's state is shared: from its first
change it has its own objects and every output is serialized as before. The template's objects are
never changed in place (that is what sharing relies on), so their bytes cannot go stale. They hold
no SecureString (they were read from fact files without a session key), so the bytes do not
depend on the pool's cipher.

``send_output`` repeats the end of psrpcore 0.3's ``_RunspacePoolBase.prepare_message``
(``create_message``, one ``PSRPMessage`` on the send buffer, the next object id), which has no
public form that takes serialized data; psrpcore is pinned below 0.4 in pyproject.toml, and
``tests/lab/test_wire.py`` compares the bytes a pipeline sends each way.
"""

from __future__ import annotations

import threading
from typing import Any
from xml.etree import ElementTree

import psrpcore
from psrpcore._payload import PSRPMessage, StreamType, create_message
from psrpcore.types import PSInvocationState, PSRPMessageType, serialize


class WireCache:
    """The output-message bytes of one template's objects, per client capability."""

    def __init__(self, objects: dict[str, list[Any]]) -> None:
        self._objects = objects  # held: the ids below stay those objects' for the cache's life
        self._ids = frozenset(id(o) for items in objects.values() for o in items)
        self._bytes: dict[tuple[int, str], bytes] = {}
        self._lock = threading.Lock()
        self.hits = 0

    def holds(self, value: Any) -> bool:
        return id(value) in self._ids

    def message(self, value: Any, pool: psrpcore.ServerRunspacePool) -> bytes:
        """``value``'s PipelineOutput data as psrpcore's ``prepare_message`` writes it for ``pool``."""
        key = (id(value), repr(pool.their_capability))
        with self._lock:
            kept = self._bytes.get(key)
            if kept is not None:
                self.hits += 1
                return kept
        no_cipher: Any = None
        element = serialize(
            value, no_cipher, our_capability=pool.our_capability, their_capability=pool.their_capability
        )
        data: bytes = ElementTree.tostring(element, encoding="utf-8", method="xml")
        with self._lock:
            self._bytes[key] = data
        return data


def send_output(pipeline: psrpcore.ServerPipeline, data: bytes) -> None:
    """Queue one PipelineOutput message of serialized ``data``, as ``pipeline.write_output`` does."""
    if pipeline.state != PSInvocationState.Running:
        pipeline.write_output(None)  # raises psrpcore's own InvalidPipelineState for this state
    pool: Any = pipeline.runspace_pool
    message_type = PSRPMessageType.PipelineOutput
    b_msg = create_message(pool._is_client, message_type, data, pool.runspace_pool_id, pipeline.pipeline_id)
    pool._send_buffer.append(
        PSRPMessage(
            message_type,
            bytearray(b_msg),
            pool.runspace_pool_id,
            pipeline.pipeline_id,
            pool._fragment_counter,  # a property: the next object id, as prepare_message takes it
            StreamType.default,
        )
    )
