"""A TCP listener on 127.0.0.1 for the tests' fake peers (a capture listener, an intercepting relay).

Its accept loop polls for the stop every 0.2 s, because closing a listening socket does not wake an
``accept()`` blocked in another thread on Linux: without the poll every ``with`` block would wait
out its join timeout.
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType
from typing import TypeVar

_Self = TypeVar("_Self", bound="LoopbackListener")


class LoopbackListener:
    """Accepts on 127.0.0.1 (a free port) until the ``with`` block ends; ``handle`` each connection."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.port: int = self._server.getsockname()[1]
        self.connections = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def handle(self, conn: socket.socket) -> None:
        """One accepted connection, on the accept loop's thread (blocking), in blocking mode."""
        raise NotImplementedError

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            with self._lock:
                self.connections += 1
            self.handle(conn)

    def __enter__(self: _Self) -> _Self:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._server.close()
