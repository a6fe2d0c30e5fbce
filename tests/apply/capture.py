"""A loopback listener that records every byte sent to it and answers nothing: where a tampered
plan would send the NTLM handshake. The tests assert it saw no connection at all."""

from __future__ import annotations

import socket
import threading
from types import TracebackType


class CaptureListener:
    """Accepts on 127.0.0.1, reads each connection until the peer stops, then closes it."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.port: int = self._server.getsockname()[1]
        self.connections = 0
        self.received = bytearray()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/PowerShell/"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
            with conn:
                conn.settimeout(1.0)
                try:
                    while chunk := conn.recv(65536):
                        with self._lock:
                            self.received += chunk
                        if b"\r\n\r\n" in chunk:
                            break  # one request is proof enough; closing makes the client give up
                except OSError:
                    pass

    def __enter__(self) -> CaptureListener:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._server.close()
        self._thread.join(timeout=5)
