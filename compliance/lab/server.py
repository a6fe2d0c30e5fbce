"""The lab: one loopback HTTP server that answers pypsrp like a small Exchange 2010 organization.

``/PowerShell/`` is the Exchange management endpoint (configuration ``Microsoft.Exchange``,
NoLanguage); ``/wsman/<SERVER>`` is each server's own endpoint (``Microsoft.PowerShell``). Every
request needs NTLM authentication on its connection and, after it, WinRM message encryption, as a
real endpoint over HTTP does. Any other path gets IIS's HTML 404 page.

With ``tls=LabTls(cert, key)`` the lab serves HTTPS instead: every URL is ``https://``, NTLM still
authenticates each connection, and the SOAP bodies travel unsealed inside TLS (pypsrp's
``encryption="auto"`` over https, as WinRM/IIS do). ``compliance.lab.tls`` makes a test CA and its
certificates.

    with Lab(scenario="exchange2010-sp3-defaults", port=0, password="uccx-lab") as lab:
        wsman = WSMan("127.0.0.1", port=lab.port, path="PowerShell/", ssl=False, auth="ntlm", ...)

``LabServer`` is the server and its lifecycle; what answers a path is an ``Organization``
(``compliance.lab.organization``): ``Lab`` has one at the root, ``compliance.lab.fleet.Fleet``
many under ``/org/<name>/``. An organization marked hung reads each request and never answers.
"""

from __future__ import annotations

import base64
import functools
import logging
import re
import select
import socket
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from spnego.channel_bindings import GssChannelBindings

from compliance.errors import InputError
from compliance.lab import soap
from compliance.lab.auth import (
    KERBEROS_PROTOCOL,
    SPNEGO_PROTOCOL,
    AuthenticationFailed,
    AuthSession,
    EncryptionError,
    parse_authorization,
)
from compliance.lab.faults import LabFaults
from compliance.lab.inventory import write_inventory
from compliance.lab.organization import (
    EXCHANGE_PATH,
    HOST_PATH_PREFIX,
    Organization,
    move_events_to_now,
    scenario_folder,
)
from compliance.lab.shells import ShellService
from compliance.lab.state import LabState

log = logging.getLogger(__name__)

__all__ = ["EXCHANGE_PATH", "HOST_PATH_PREFIX", "Lab", "LabServer", "LabTls"]

_HANDSHAKE_SECONDS = 10
_HOLD_POLL_S = 0.2
_Server = TypeVar("_Server", bound="LabServer")
_NOT_FOUND_PAGE = (
    b'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
    b'"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\r\n'
    b'<html xmlns="http://www.w3.org/1999/xhtml">\r\n<head>\r\n'
    b'<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"/>\r\n'
    b"<title>404 - File or directory not found.</title>\r\n</head>\r\n<body>\r\n"
    b'<div id="header"><h1>Server Error</h1></div>\r\n<div id="content">\r\n'
    b' <div class="content-container"><fieldset>\r\n'
    b"  <h2>404 - File or directory not found.</h2>\r\n"
    b"  <h3>The resource you are looking for might have been removed, had its name changed, or is "
    b"temporarily unavailable.</h3>\r\n </fieldset></div>\r\n</div>\r\n</body>\r\n</html>\r\n"
)


@dataclass(frozen=True)
class LabTls:
    """Serve HTTPS with this certificate (PEM, its chain after it) and private key (PEM).

    ``ca_file``, when given, is the CA that signed ``cert``: the written inventory names it in
    ``ca_file:``, so that a client trusts the lab without trusting anything else.
    """

    cert: Path
    key: Path
    ca_file: Path | None = None
    # IIS's Extended Protection for Authentication set to Require (Exchange supports it from its
    # August 2022 security update; HealthChecker expects Require on /PowerShell): a handshake must
    # carry the TLS channel binding of this
    # certificate, so credentials relayed through another TLS session (an intercepting proxy, an
    # NTLM relay) are refused. Off: bindings are not checked, as with Extended Protection "None".
    extended_protection: bool = False

    def channel_bindings(self) -> GssChannelBindings | None:
        """The ``tls-server-end-point`` binding (RFC 5929) a client must send, or None when not required."""
        return _server_end_point(self.cert) if self.extended_protection else None

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(self.cert, self.key)
        except (OSError, ssl.SSLError) as exc:
            raise InputError(f"lab TLS: cannot load {self.cert} with key {self.key}: {exc}") from None
        return context


@functools.lru_cache(maxsize=16)
def _server_end_point(cert: Path) -> GssChannelBindings:
    """RFC 5929 section 4.1: the hash of the certificate, with the hash its signature uses, SHA-256
    in place of MD5 or SHA-1. The same rule as the client's (pypsrp ``_get_cbt_data``)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    certificate = x509.load_pem_x509_certificate(cert.read_bytes())
    algorithm = certificate.signature_hash_algorithm
    if algorithm is None or isinstance(algorithm, hashes.MD5 | hashes.SHA1):
        algorithm = hashes.SHA256()
    return GssChannelBindings(application_data=b"tls-server-end-point:" + certificate.fingerprint(algorithm))


class _LabHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver listens with a backlog of 5: a fleet's clients opening hundreds of connections
    # at once would see SYNs dropped and retried a second later. The kernel caps this at somaxconn.
    request_queue_size = 1024
    lab: LabServer

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The listening socket is wrapped with do_handshake_on_connect=False, so the handshake runs
        # here, on the connection's own thread: a slow client does not hold up accept(), and a
        # client that rejects the certificate ends its connection before any HTTP (nothing counted).
        if isinstance(request, ssl.SSLSocket):
            try:
                request.settimeout(_HANDSHAKE_SECONDS)  # a client that never says hello is dropped
                request.do_handshake()
                request.settimeout(None)
            except (ssl.SSLError, OSError) as exc:
                log.debug("lab: TLS handshake with %s failed: %s", client_address, exc)
                return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (read timeout, dropped connection) is routine here, not a crash.
        log.debug("lab: connection from %s ended with an error", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    """One TCP connection; its NTLM or Kerberos session lives as long as the connection, as on Windows."""

    server: _LabHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/7.5"
    sys_version = ""
    # TCP_NODELAY: headers and body go out in separate writes; with Nagle the body waited for the
    # client's delayed ACK of the headers, about 40 ms per request on Linux loopback.
    disable_nagle_algorithm = True
    _auth: AuthSession | None = None
    _auth_org: Organization | None = None  # the organization whose user file authenticated _auth
    _final_token: dict[str, str] = {}  # noqa: RUF012  (replaced, never mutated)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("lab %s - %s", self.address_string(), format % args)

    def do_POST(self) -> None:
        lab = self.server.lab
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        routed = lab.route(self.path)
        if routed is None:
            self._reply(404, _NOT_FOUND_PAGE, "text/html")
            return
        org, service = routed
        org.count(service)
        if org.hung:
            lab.hold(self.connection)  # the request is read; no answer, ever
            self.close_connection = True
            return
        if org.faults.latency_ms:
            time.sleep(org.faults.latency_ms / 1000)  # no lock held: other connections go on
        if org.faults.take_drop():
            # Close the socket without a byte of response, like a crashed server or a reset link.
            self.close_connection = True
            return
        if not self._authenticated(org):
            return
        if not body:
            self._reply(200, b"", None)  # the empty POST pypsrp sends to finish the handshake
            return
        self._dispatch(lab, org, service, body)

    do_GET = do_POST  # IIS answers a browser's GET on a wrong path with the same 404 page

    def _authenticated(self, org: Organization) -> bool:
        """Run one leg of the handshake; True once the connection is authenticated.

        The last server token (Kerberos AP-REP, SPNEGO accept-completed with its mechListMIC) goes
        out on the answer that completes the handshake, as IIS sends it: without it the client
        cannot check mutual authentication, and pypsrp's Negotiate context stays incomplete.
        A connection authenticated by one organization is not authenticated for another: a
        request on it to another organization's path starts over with that one's user file.
        """
        if self._auth_org is not org:
            self._auth, self._auth_org = None, org
        header = self.headers.get("Authorization")
        parsed = None if header is None or org.faults.reject_auth else parse_authorization(header)
        if parsed is None:
            if header is None and not org.faults.reject_auth and self._auth is not None and self._auth.complete:
                return True
            self._auth = None
            self._reply(401, b"", None, {"WWW-Authenticate": "Negotiate"})
            return False
        scheme, token = parsed
        if self._auth is None:
            tls = self.server.lab.tls
            self._auth = AuthSession(org.users, channel_bindings=tls.channel_bindings() if tls is not None else None)
        try:
            out_token = self._auth.step(token)
        except AuthenticationFailed as exc:
            self._auth = None
            log.info("lab: authentication failed for a client on %s: %s", self.address_string(), exc)
            self._reply(401, b"", None, {"WWW-Authenticate": "Negotiate"})
            return False
        answer = {"WWW-Authenticate": f"{scheme} {base64.b64encode(out_token).decode()}"} if out_token else {}
        if not self._auth.complete:
            self._reply(401, b"", None, answer)
            return False
        self._final_token = answer
        org.count_logon(self._auth.protocol)
        return True

    def _dispatch(self, lab: LabServer, org: Organization, service: ShellService, body: bytes) -> None:
        assert self._auth is not None
        content_type = self.headers.get("Content-Type", "")
        sealed = content_type.startswith("multipart/encrypted")
        if not sealed and lab.tls is None:
            # WinRM over HTTP refuses unencrypted traffic unless AllowUnencrypted is set; over
            # HTTPS the TLS channel is the encryption, and the bodies come unsealed.
            self._reply(400, b"Unencrypted traffic is disabled on this endpoint.", "text/plain")
            return
        try:
            message = self._auth.unwrap(body, content_type) if sealed else body
            request = soap.parse_request(message)
        except (EncryptionError, ValueError) as exc:
            log.info("lab: unreadable request: %s", exc)
            self._reply(400, b"Bad Request", "text/plain")
            return
        try:
            status, response = 200, soap.build_response(request, service.handle(request))
        except soap.WSManFault as fault:
            status, response = 500, soap.build_fault(request.message_id, fault, org.machine_name)
        if sealed:
            content_type, response = self._auth.wrap(response, _sealing_protocol(content_type))
        else:
            content_type = "application/soap+xml;charset=UTF-8"
        self._reply(status, response, content_type)

    def _reply(self, status: int, body: bytes, content_type: str | None, headers: dict[str, str] | None = None) -> None:
        headers = {**self._final_token, **(headers or {})}
        self._final_token = {}
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _sealing_protocol(content_type: str) -> str:
    """The request's ``protocol=`` (SPNEGO or Kerberos session encryption); the answer uses the same."""
    match = re.search(r'protocol="?([^";]+)"?', content_type)
    return match.group(1) if match and match.group(1) == KERBEROS_PROTOCOL else SPNEGO_PROTOCOL


class LabServer:
    """The HTTP server and its lifecycle; ``route`` says which organization answers a path.

    ``Lab`` (below) is one organization at the root; ``compliance.lab.fleet.Fleet`` is many.
    """

    def __init__(self, port: int = 0, tls: LabTls | None = None) -> None:
        self.tls = tls  # None: plain HTTP with WinRM message encryption
        self._requested_port = port
        self._httpd: _LabHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._held = 0  # connections of hung organizations being held open
        self._held_lock = threading.Lock()

    def organizations(self) -> list[Organization]:
        raise NotImplementedError

    def route(self, path: str) -> tuple[Organization, ShellService] | None:
        """The organization and endpoint at ``path``; None gets IIS's 404 page."""
        raise NotImplementedError

    # --- lifecycle -------------------------------------------------------------------------

    def start(self: _Server) -> _Server:
        if self._httpd is not None:
            return self
        context = self.tls.server_context() if self.tls is not None else None
        httpd = _LabHTTPServer(("127.0.0.1", self._requested_port), _Handler)
        httpd.lab = self
        if context is not None:  # the listening socket, wrapped once; see finish_request
            httpd.socket = context.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
        self._httpd = httpd
        self._stopping.clear()
        for org in self.organizations():
            org.bind(self.base_url, self.ca_file)
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="uccx-lab", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # lets go of the connections hung organizations hold
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        for org in self.organizations():
            org.close()

    def __enter__(self: _Server) -> _Server:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the lab is not running")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``, or ``https://`` when the lab serves TLS."""
        return f"{'https' if self.tls is not None else 'http'}://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> Path | None:
        return self.tls.ca_file if self.tls is not None else None

    # --- hung organizations ------------------------------------------------------------------

    @property
    def held_connections(self) -> int:
        """Connections a hung organization holds open right now (tests, the benchmark)."""
        with self._held_lock:
            return self._held

    def hold(self, connection: socket.socket) -> None:
        """Say nothing on ``connection`` until the client closes it or the lab stops.

        A thread per held connection, as for any connection (ThreadingHTTPServer); it wakes every
        ``_HOLD_POLL_S`` to look for the client's FIN, so a client that gave up frees its thread.
        """
        with self._held_lock:
            self._held += 1
        try:
            while not self._stopping.is_set():
                readable, _, _ = select.select([connection], [], [], _HOLD_POLL_S)
                if not readable:
                    continue
                try:
                    # The raw socket's recv, also under TLS: peek at TCP bytes, decrypt nothing.
                    peeked = socket.socket.recv(connection, 1, socket.MSG_PEEK)
                except OSError:
                    return  # reset by the client
                if not peeked:
                    return  # the client closed its end: it gave up
                self._stopping.wait(_HOLD_POLL_S)  # more bytes (another request): still no answer
        finally:
            with self._held_lock:
                self._held -= 1


class Lab(LabServer):
    """A running simulated organization; a context manager that starts and stops the server."""

    def __init__(
        self,
        scenario: str | Path = "exchange2010-sp3-defaults",
        port: int = 0,
        password: str = "uccx-lab",
        faults: LabFaults | None = None,
        events_relative_to_now: bool = False,
        kerberos_keytab: Path | None = None,
        tls: LabTls | None = None,
    ) -> None:
        super().__init__(port, tls)
        folder = scenario_folder(scenario)
        state = LabState.from_folder(folder)
        if events_relative_to_now:
            move_events_to_now(state, folder)
        self._org = Organization(
            f"lab-{folder.name}", folder.name, state, password, faults or LabFaults(), kerberos_keytab=kerberos_keytab
        )

    def organizations(self) -> list[Organization]:
        return [self._org]

    def route(self, path: str) -> tuple[Organization, ShellService] | None:
        service = self._org.service_for(path)
        return None if service is None else (self._org, service)

    # --- what clients and tests use ------------------------------------------------------------

    @property
    def scenario(self) -> str:
        return self._org.scenario

    @property
    def state(self) -> LabState:
        return self._org.state

    @property
    def faults(self) -> LabFaults:
        return self._org.faults

    @property
    def requests(self) -> Counter[str]:
        """HTTP requests per endpoint URL."""
        return self._org.requests

    @property
    def logons(self) -> Counter[str]:
        """Completed handshakes by mechanism: ``ntlm``, ``kerberos``."""
        return self._org.logons

    @property
    def exchange_endpoint(self) -> str:
        return self._org.exchange_endpoint

    @property
    def host_endpoints(self) -> dict[str, str]:
        return self._org.host_endpoints

    @property
    def machine_name(self) -> str:
        return self._org.machine_name

    def write_inventory(self, path: str | Path, baseline: str = "uccx-exchange2010-sp1", **target: Any) -> Path:
        """The inventory that reaches this lab (NTLM); ``target`` overrides fields (``auth``, ``keytab``...)."""
        return write_inventory(self, Path(path), baseline, **target)
