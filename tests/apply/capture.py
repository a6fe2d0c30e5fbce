"""A loopback listener that records every byte sent to it and answers nothing: where a tampered
plan would send the NTLM handshake. The tests assert it saw no connection at all."""

from __future__ import annotations

import socket

from tests.loopback import LoopbackListener


class CaptureListener(LoopbackListener):
    """Accepts on 127.0.0.1, reads each connection until the peer stops, then closes it."""

    def __init__(self) -> None:
        super().__init__()
        self.received = bytearray()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/PowerShell/"

    def handle(self, conn: socket.socket) -> None:
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
