"""``probe imap`` never sends a password in clear text: not without TLS (unless
``--allow-insecure-transport``), and never after a STARTTLS that was refused or broke.

A loopback capture server offers STARTTLS and then refuses it (NO, BAD), breaks the handshake, or
injects a line before it; every byte the probe sends is recorded, and no LOGIN/AUTHENTICATE line,
nor the password in any form, may be among them.
"""

from __future__ import annotations

import base64
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

PASSWORD = "Pr0be-P4ss-7f3a9c2e"  # the probe_cli fixture's UCCX_PROBE_PASSWORD


class StarttlsRefuser:
    """An IMAP server that offers LOGIN, AUTH=PLAIN and STARTTLS, then fails STARTTLS as told."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self.connections = 0
        self.received = bytearray()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        try:
            conn, _ = self._server.accept()
        except OSError:
            return
        self.connections += 1
        with conn:
            conn.settimeout(5)
            conn.sendall(b"* OK IMAP4rev1 capture ready\r\n")
            buffer = b""
            try:
                while chunk := conn.recv(4096):
                    self.received += chunk
                    buffer += chunk
                    while b"\r\n" in buffer:
                        line, buffer = buffer.split(b"\r\n", 1)
                        if not self._answer(conn, line):
                            return
            except OSError:
                return

    def _answer(self, conn: socket.socket, line: bytes) -> bool:
        tag, _, command = line.decode("utf-8", "replace").partition(" ")
        verb = command.split(" ")[0].upper()
        if verb == "CAPABILITY":
            conn.sendall(b"* CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN SASL-IR\r\n" + f"{tag} OK done\r\n".encode())
        elif verb == "STARTTLS":
            if self.mode in ("NO", "BAD"):
                conn.sendall(f"{tag} {self.mode} STARTTLS refused\r\n".encode())
            elif self.mode == "inject":
                conn.sendall(f"{tag} OK begin TLS\r\nA9 OK injected before the handshake\r\n".encode())
            else:  # "break": agree, then answer the ClientHello with garbage and hang up
                conn.sendall(f"{tag} OK begin TLS\r\n".encode())
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                return False
        elif verb == "LOGOUT":
            conn.sendall(f"* BYE\r\n{tag} OK bye\r\n".encode())
            return False
        else:
            conn.sendall(f"{tag} OK whatever you say\r\n".encode())
        return True

    def __enter__(self) -> StarttlsRefuser:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.close()
        self._thread.join(timeout=10)


def assert_no_credential(data: bytes) -> None:
    upper = data.upper()
    assert b"LOGIN" not in upper and b"AUTHENTICATE" not in upper, data
    for form in (PASSWORD.encode(), base64.b64encode(f"\0uccx\0{PASSWORD}".encode()), b"\0uccx\0"):
        assert form not in data


def probe_args(port: int, *extra: str) -> list[str]:
    return [
        "imap",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--user",
        "uccx",
        "--password-env",
        "UCCX_PROBE_PASSWORD",
        *extra,
    ]


@pytest.fixture(params=["NO", "BAD", "break", "inject"])
def refuser(request: pytest.FixtureRequest) -> Iterator[StarttlsRefuser]:
    with StarttlsRefuser(request.param) as server:
        yield server


@pytest.mark.parametrize("auth", ["auto", "login", "plain"])
def test_no_login_after_a_failed_starttls(refuser: StarttlsRefuser, probe_cli: Any, auth: str) -> None:
    run = probe_cli(
        "imap",
        "--host",
        "127.0.0.1",
        "--port",
        str(refuser.port),
        "--starttls",
        "--insecure-skip-verify",
        "--user",
        "uccx",
        "--password-env",
        "UCCX_PROBE_PASSWORD",
        "--auth",
        auth,
        "--timeout",
        "3",
    )
    refuser.__exit__()
    assert refuser.connections == 1
    assert b"STARTTLS" in refuser.received  # it did get that far
    assert_no_credential(bytes(refuser.received))
    assert run.code != 0
    assert PASSWORD not in run.out + run.err


def test_a_login_without_tls_is_refused_before_connecting(probe_cli: Any) -> None:
    with StarttlsRefuser("NO") as server:
        run = probe_cli(*probe_args(server.port))
    assert run.code == 1
    assert run.err.count("\n") == 1 and "would send the password in clear text" in run.err
    assert "--allow-insecure-transport" in run.err
    assert server.connections == 0 and server.received == b""


def test_allow_insecure_transport_sends_the_login_and_warns(probe_cli: Any) -> None:
    """The control: with the flag the same server does get a LOGIN, so the tests above can fail."""
    with StarttlsRefuser("NO") as server:
        run = probe_cli(*probe_args(server.port, "--allow-insecure-transport", "--auth", "login"))
    assert b"LOGIN" in server.received and PASSWORD.encode() in server.received
    assert "clear text" in run.out + run.err
    assert PASSWORD not in run.out + run.err


@pytest.mark.server
def test_dovecot_without_tls_gets_no_login(dovecot: Any, probe_cli: Any) -> None:
    run = probe_cli(
        "imap",
        "--host",
        "127.0.0.1",
        "--port",
        str(dovecot.port),
        "--user",
        dovecot.user,
        "--password-env",
        "UCCX_PROBE_PASSWORD",
        "--format",
        "json",
    )
    assert run.code == 1 and run.out == "" and "clear text" in run.err
