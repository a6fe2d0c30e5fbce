"""The lab's connections send each response at once, not after the client's delayed ACK."""

from __future__ import annotations

import socket

import pytest
import requests

from compliance.lab import Lab
from compliance.lab.server import _Handler

pytestmark = pytest.mark.server


def test_the_handler_turns_nagle_off() -> None:
    # The headers and the body of a response are two writes; with Nagle the second one waits for
    # the client's delayed ACK of the first (about 40 ms on Linux loopback).
    assert _Handler.disable_nagle_algorithm is True


def test_an_accepted_connection_has_tcp_nodelay(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    setup = _Handler.setup

    def record(self: _Handler) -> None:
        setup(self)
        seen.append(self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    monkeypatch.setattr(_Handler, "setup", record)
    with requests.Session() as session:
        session.trust_env = False  # straight to 127.0.0.1, whatever proxy the environment names
        assert session.post(lab.exchange_endpoint, timeout=10).status_code == 401
    assert seen and all(seen)
