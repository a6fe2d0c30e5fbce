"""Real servers on 127.0.0.1 for the probe tests: Dovecot (IMAP) and aiosmtpd (SMTP).

Dovecot runs from a throw-away config in its own directory (own base_dir and state, no system
config), with a per-user+IP limit of ``USERIP_LIMIT`` standing in for Exchange's per-user IMAP
limits, and a self-signed certificate made here for STARTTLS and IMAPS. When Dovecot is not
installed the tests skip, saying how to install it, except under CI (``CI=true``) where a
missing server is a failure: CI must run these tests, not skip them.

Test modules do not import this file (pytest keeps one module named ``conftest``); they get the
servers, and the account on them, through the fixtures.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

DOVECOT = Path("/usr/sbin/dovecot")
INSTALL_HINT = "install it with `apt-get install dovecot-imapd` or `bash scripts/install-test-servers.sh`"
USER = "uccx-agent@example.test"
PASSWORD = "Pr0be-P4ss-7f3a9c2e"  # distinctive, so a leak is easy to search for
USERIP_LIMIT = 3
EXCHANGE_421 = (
    "421 4.3.2 The maximum number of concurrent connections has exceeded a limit, closing transmission channel"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, seconds: float, alive: Any = None) -> None:
    """Wait until something accepts on 127.0.0.1:port (bounded), failing early if ``alive()`` is False."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise RuntimeError("the server exited while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds:g} s")


# -- certificate ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path


def make_self_signed(directory: Path) -> Certificate:
    """A self-signed certificate for localhost and 127.0.0.1 (the probe checks the IP SAN)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    paths = Certificate(directory / "cert.pem", directory / "key.pem")
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


# -- Dovecot -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DovecotServer:
    port: int  # plain IMAP, STARTTLS offered
    tls_port: int  # IMAPS
    cert: Path
    user: str = USER
    password: str = PASSWORD
    userip_limit: int = USERIP_LIMIT


def _require_dovecot() -> None:
    if DOVECOT.exists():
        return
    message = f"Dovecot ({DOVECOT}) is not installed: {INSTALL_HINT}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}. CI must run the real-server tests, not skip them.", pytrace=False)
    pytest.skip(message)


def _service_users() -> tuple[str, str, int, int]:
    """(internal user, login user, mail uid, mail gid) that Dovecot accepts here.

    Dovecot refuses to run its helpers as root: as root use the users the Debian package creates
    (``dovecot``, ``dovenull``); as anyone else run everything as ourselves.
    """
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return me.pw_name, me.pw_name, me.pw_uid, me.pw_gid
    try:
        internal, login = pwd.getpwnam("dovecot"), pwd.getpwnam("dovenull")
    except KeyError:
        pytest.fail("running as root but the dovecot/dovenull users are missing: reinstall dovecot-core")
    return internal.pw_name, login.pw_name, login.pw_uid, login.pw_gid


def _dovecot_config(root: Path, port: int, tls_port: int, cert: Certificate) -> str:
    internal, login, uid, gid = _service_users()
    return f"""\
# Test-only Dovecot: loopback, a passwd-file account, plaintext auth allowed (loopback only).
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = 1
ssl = yes
ssl_cert = <{cert.cert}
ssl_key = <{cert.key}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
protocol imap {{
  mail_max_userip_connections = {USERIP_LIMIT}
}}
"""


@pytest.fixture
def dovecot() -> Iterator[DovecotServer]:
    """A real Dovecot on free loopback ports, stopped (and its directory removed) afterwards."""
    _require_dovecot()
    # Not pytest's tmp_path: that is 0700 and root-owned, and Dovecot's unprivileged helpers must
    # read the passwd-file and the maildir.
    root = Path(tempfile.mkdtemp(prefix="uccx-dovecot-"))
    process: subprocess.Popen[bytes] | None = None
    try:
        root.chmod(0o755)
        for sub in ("run", "state", "mail"):
            (root / sub).mkdir()
        _, _, uid, gid = _service_users()
        os.chown(root / "mail", uid, gid)
        (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        cert = make_self_signed(root)
        port, tls_port = free_port(), free_port()
        config = root / "dovecot.conf"
        config.write_text(_dovecot_config(root, port, tls_port, cert))
        # Its own process group, so teardown can end Dovecot's children with it if they linger.
        process = subprocess.Popen(
            [str(DOVECOT), "-F", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_for_port(port, 15, alive=lambda: process is not None and process.poll() is None)
            wait_for_port(tls_port, 5)
        except RuntimeError as exc:
            log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
            pytest.fail(f"Dovecot did not start: {exc}\n{log}", pytrace=False)
        yield DovecotServer(port=port, tls_port=tls_port, cert=cert.cert)
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(root, ignore_errors=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL to the group this fixture started if Dovecot takes its time.

    Dovecot's master waits a few seconds for its imap processes on SIGTERM; the tests need no
    graceful shutdown, only that nothing of this instance is left running.
    """
    process.terminate()
    try:
        process.wait(timeout=1)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # helpers that outlived a quick master exit


# -- SMTP (aiosmtpd) -----------------------------------------------------------------------------


@dataclass
class Mailbox:
    """What the test SMTP server received."""

    envelopes: list[Envelope] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 2.6.0 Queued mail for delivery"


class ConnectionGate:
    """Counts open connections; past ``limit`` the server answers as Exchange does."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.active = 0
        self._lock = threading.Lock()

    def admit(self) -> bool:
        with self._lock:
            if self.limit is not None and self.active >= self.limit:
                return False
            self.active += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.active -= 1


class LimitedSMTP(SMTP):
    """aiosmtpd's SMTP with a receive connector's MaxInboundConnectionPerSource in front."""

    def __init__(self, handler: Any, gate: ConnectionGate, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._gate = gate
        self._admitted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self._gate.admit():
            assert isinstance(transport, asyncio.WriteTransport)
            transport.write(EXCHANGE_421.encode("ascii") + b"\r\n")
            transport.close()
            return
        self._admitted = True
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._admitted:
            self._admitted = False
            self._gate.release()
            super().connection_lost(exc)


class LimitedController(Controller):
    def __init__(self, handler: Any, gate: ConnectionGate, **kwargs: Any) -> None:
        self.gate = gate
        super().__init__(handler, **kwargs)

    def factory(self) -> SMTP:
        return LimitedSMTP(self.handler, self.gate, **self.SMTP_kwargs)


@dataclass(frozen=True)
class SmtpServer:
    port: int
    mailbox: Mailbox
    gate: ConnectionGate
    cert: Path | None = None


def _start_smtp(limit: int | None, tls_dir: Path | None = None) -> tuple[LimitedController, SmtpServer]:
    import ssl

    mailbox, gate = Mailbox(), ConnectionGate(limit)
    kwargs: dict[str, Any] = {}
    cert_path = None
    if tls_dir is not None:
        cert = make_self_signed(tls_dir)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert.cert, cert.key)
        kwargs["tls_context"] = context
        cert_path = cert.cert
    port = free_port()
    controller = LimitedController(
        mailbox, gate, hostname="127.0.0.1", port=port, server_hostname="mx.example.test", **kwargs
    )
    controller.start()
    # start() opens one connection of its own to check the server is up: wait until it is gone,
    # so the gate counts only the probe's connections.
    deadline = time.monotonic() + 5
    while gate.active and time.monotonic() < deadline:
        time.sleep(0.02)
    return controller, SmtpServer(port=port, mailbox=mailbox, gate=gate, cert=cert_path)


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound and released)."""
    return free_port()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A plain SMTP server on loopback with no connection limit."""
    controller, server = _start_smtp(limit=None)
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def limited_smtp_server() -> Iterator[SmtpServer]:
    """SMTP that answers Exchange's 421 4.3.2 past 4 concurrent connections."""
    controller, server = _start_smtp(limit=4)
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def tls_smtp_server(tmp_path: Path) -> Iterator[SmtpServer]:
    """SMTP offering STARTTLS with a self-signed certificate."""
    controller, server = _start_smtp(limit=None, tls_dir=tmp_path)
    try:
        yield server
    finally:
        controller.stop()


# -- the command line ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CliRun:
    code: int
    out: str
    err: str


@pytest.fixture
def probe_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """Run ``uccx-compliance probe ...`` through the real entry point and its error handler.

    The registry is narrowed to this command so these tests do not depend on other commands
    importing cleanly. The password is set in UCCX_PROBE_PASSWORD unless a test sets it.
    """
    from compliance import cli as cli_module

    monkeypatch.setattr(cli_module, "COMMANDS", {"probe": "compliance.commands.probe"})
    monkeypatch.setenv("UCCX_PROBE_PASSWORD", PASSWORD)

    def run(*argv: str) -> CliRun:
        capsys.readouterr()  # drop anything printed before this call
        code = cli_module.main(["probe", *argv])
        captured = capsys.readouterr()
        return CliRun(code, captured.out, captured.err)

    return run
