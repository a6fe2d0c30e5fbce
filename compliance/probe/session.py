"""What every probe session shares: a line-oriented TCP/TLS connection with per-step timeouts,
the whole-probe time budget, and the failure a session stops with.

IMAP and SMTP are both "send a line, read lines back" protocols, so one small connection class
serves both probes and keeps the raw server words for the report.
"""

from __future__ import annotations

import contextlib
import enum
import socket
import ssl
import time
from collections.abc import Callable

from compliance.probe.tls import describe_tls_error

# A server that sends more than this without a line break is not speaking IMAP or SMTP to us.
MAX_LINE_BYTES = 64 * 1024


class FailureKind(str, enum.Enum):
    """How a session stopped; the report says this to the admin in words."""

    CONNECT = "connect_failed"  # refused, no route, DNS failure, connect timeout
    TLS = "tls_failed"  # handshake or certificate failure
    NO = "no"  # IMAP tagged NO/BAD
    BYE = "bye"  # IMAP untagged BYE
    REPLY = "reply"  # SMTP 4xx/5xx reply
    DROPPED = "dropped"  # the server closed the connection without a word
    TIMEOUT = "timeout"  # no answer within --timeout
    NOT_OFFERED = "not_offered"  # a capability we need (STARTTLS, an AUTH mechanism) is missing
    BUDGET = "budget"  # the whole probe ran out of time (--budget): not the server's answer


class SessionFailed(Exception):
    """A session stopped at ``stage``. ``words`` is what the server said, if it said anything.

    The message is built from server words and our own text only, never from what we sent,
    so it cannot carry a password.
    """

    def __init__(self, stage: str, kind: FailureKind, detail: str, words: str | None = None) -> None:
        super().__init__(detail)
        self.stage = stage
        self.kind = kind
        self.detail = detail
        self.words = words


class Budget:
    """The time the whole probe may take. Steps get ``min(step timeout, what is left)``."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._ends = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self._ends - self._clock())

    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def step_timeout(self, step_timeout: float) -> tuple[float, bool]:
        """The timeout for the next blocking call, and whether the budget (not the step) bounds it."""
        left = self.remaining()
        if left < step_timeout:
            return left, True
        return step_timeout, False


class LineConnection:
    """A TCP connection, optionally upgraded to TLS, read line by line with timeouts."""

    def __init__(self, sock: socket.socket, budget: Budget, step_timeout: float) -> None:
        self._sock = sock
        self._buffer = bytearray()
        self._budget = budget
        self.step_timeout = step_timeout
        self.encrypted = isinstance(sock, ssl.SSLSocket)

    @classmethod
    def open(cls, host: str, port: int, budget: Budget, step_timeout: float) -> LineConnection:
        """Connect over TCP; every way this can fail is "unreachable" territory."""
        timeout, by_budget = budget.step_timeout(step_timeout)
        if timeout <= 0:
            raise _budget_failure("tcp_connect")
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except socket.gaierror as exc:
            reason = f"DNS lookup of {host} failed: {exc.strerror}"
            raise SessionFailed("tcp_connect", FailureKind.CONNECT, reason) from None
        except TimeoutError:
            if by_budget:
                raise _budget_failure("tcp_connect") from None
            raise SessionFailed(
                "tcp_connect",
                FailureKind.CONNECT,
                f"no answer from {host}:{port} within {timeout:g} s (a firewall dropping packets?)",
            ) from None
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise SessionFailed("tcp_connect", FailureKind.CONNECT, f"{host}:{port}: {reason}") from None
        return cls(sock, budget, step_timeout)

    def start_tls(self, stage: str, context: ssl.SSLContext, server_hostname: str) -> None:
        """Wrap the socket in TLS (implicit TLS or after STARTTLS) and check the certificate."""
        if self._buffer:
            # Bytes that arrived before the handshake would be a STARTTLS injection attempt.
            raise SessionFailed(stage, FailureKind.TLS, "server sent data before the TLS handshake")
        self._settimeout(stage)
        try:
            self._sock = context.wrap_socket(self._sock, server_hostname=server_hostname)
        except (ssl.SSLError, ssl.CertificateError) as exc:
            raise SessionFailed(stage, FailureKind.TLS, describe_tls_error(exc)) from None
        except TimeoutError:
            raise SessionFailed(stage, FailureKind.TLS, "TLS handshake timed out") from None
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            detail = f"connection lost during TLS handshake: {reason}"
            raise SessionFailed(stage, FailureKind.TLS, detail) from None
        self.encrypted = True

    def tls_summary(self) -> str:
        if not isinstance(self._sock, ssl.SSLSocket):
            return "not encrypted"
        return f"{self._sock.version()} {(self._sock.cipher() or ('?',))[0]}"

    def send_line(self, stage: str, line: str) -> None:
        self._settimeout(stage)
        try:
            self._sock.sendall(line.encode("utf-8") + b"\r\n")
        except TimeoutError:
            raise self._timeout(stage) from None
        except OSError:
            raise SessionFailed(stage, FailureKind.DROPPED, "the server closed the connection") from None

    def read_line(self, stage: str) -> str:
        """One line without its CRLF. Raises SessionFailed when the server goes away or is silent."""
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                raw = bytes(self._buffer[: end + 1])
                del self._buffer[: end + 1]
                return raw.rstrip(b"\r\n").decode("utf-8", errors="replace")
            if len(self._buffer) > MAX_LINE_BYTES:
                raise SessionFailed(stage, FailureKind.DROPPED, "the server sent an over-long line")
            self._fill(stage)

    def read_exact(self, stage: str, count: int) -> bytes:
        """``count`` bytes (an IMAP literal)."""
        while len(self._buffer) < count:
            self._fill(stage)
        data = bytes(self._buffer[:count])
        del self._buffer[:count]
        return data

    def close(self) -> None:
        # Closing a socket the server already dropped: nothing left to do.
        with contextlib.suppress(OSError):
            self._sock.close()

    def _fill(self, stage: str) -> None:
        by_budget = self._settimeout(stage)
        try:
            chunk = self._sock.recv(4096)
        except TimeoutError:
            if by_budget:
                raise _budget_failure(stage) from None
            raise self._timeout(stage) from None
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            detail = f"the server dropped the connection ({reason})"
            raise SessionFailed(stage, FailureKind.DROPPED, detail) from None
        if not chunk:
            raise SessionFailed(stage, FailureKind.DROPPED, "the server closed the connection")
        self._buffer.extend(chunk)

    def _settimeout(self, stage: str) -> bool:
        timeout, by_budget = self._budget.step_timeout(self.step_timeout)
        if timeout <= 0:
            raise _budget_failure(stage)
        self._sock.settimeout(timeout)
        return by_budget

    def _timeout(self, stage: str) -> SessionFailed:
        return SessionFailed(stage, FailureKind.TIMEOUT, f"no answer within {self.step_timeout:g} s")


def _budget_failure(stage: str) -> SessionFailed:
    return SessionFailed(stage, FailureKind.BUDGET, "the probe's time budget (--budget) ran out")


class Secret:
    """A password that does not print: ``repr``, ``str`` and f-strings show ``***``.

    Only the code that puts it on the wire calls ``reveal()``.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"
