"""One PSRP runspace pool per endpoint per audit, opened on first use and closed at the end.

Two kinds of endpoint (docs/remoting.md): the Exchange management endpoint
(``http://ex01/PowerShell/``, configuration ``Microsoft.Exchange``, NoLanguage) and each server's
host endpoint (``http://ex01:5985/wsman``, ``Microsoft.PowerShell``) for registry, service and
event-log reads.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from compliance.errors import InputError, UnreachableError
from compliance.remoting.convert import keep_output_as_text
from compliance.remoting.errors import describe_failure
from compliance.remoting.kerberos import KerberosLogin

if TYPE_CHECKING:
    from pathlib import Path

    from compliance.inventory import Target

log = logging.getLogger(__name__)

EXCHANGE_CONFIGURATION = "Microsoft.Exchange"
HOST_CONFIGURATION = "Microsoft.PowerShell"
SPN_SERVICE = "HTTP"
# Auth schemes that can encrypt WS-Management messages themselves over plain HTTP.
_MESSAGE_ENCRYPTING = frozenset({"kerberos", "negotiate", "ntlm", "credssp"})


@dataclass(frozen=True)
class Endpoint:
    url: str
    configuration: str

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def ssl(self) -> bool:
        return urlsplit(self.url).scheme == "https"

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or (443 if self.ssl else 80)

    @property
    def path(self) -> str:
        # pypsrp builds "<scheme>://host:port/<path>"; keep the trailing slash Exchange's IIS expects.
        return urlsplit(self.url).path.lstrip("/") or "wsman"


@dataclass(frozen=True)
class ConnectOptions:
    """How to connect, decided once per audit. The password is never shown (``repr=False``)."""

    password: str | None = field(default=None, repr=False)
    allow_insecure_transport: bool = False


def check_transport(target: Target, endpoint: Endpoint, options: ConnectOptions) -> None:
    """Refuse to send a Basic password or a client certificate over plain HTTP.

    Kerberos, NTLM, Negotiate and CredSSP encrypt each message over HTTP (``encryption="auto"``);
    Basic would send the password in base64 and certificate auth needs TLS anyway.
    """
    if endpoint.ssl or target.auth in _MESSAGE_ENCRYPTING or options.allow_insecure_transport:
        return
    raise InputError(
        f"target {target.name}: {target.auth} authentication over plain http:// ({endpoint.url}) would send "
        "the credentials unencrypted; use https://, or kerberos/negotiate/ntlm (encrypted messages), "
        "or pass --allow-insecure-transport for a lab"
    )


def warn_unverified(target: Target) -> None:
    """Once per target per run (``output.reset`` starts a run), whichever command connects."""
    from compliance import output

    output.note_once(
        f"uccx-compliance: warning: target {target.name}: cert_validation is false: the server's certificate "
        "is not checked; anyone on the path can read and change the session"
    )


def build_wsman(target: Target, endpoint: Endpoint, options: ConnectOptions, login: KerberosLogin | None = None) -> Any:
    """pypsrp's ``WSMan`` for one endpoint. With ``login``, the credential is its memory ticket cache.

    The SPN is ``HTTP/<host of the URL>``: the one IIS (Exchange's /PowerShell/) and the WinRM
    service both accept from Windows clients; pypsrp's own default service is ``WSMAN``.
    """
    from pypsrp.wsman import WSMan

    check_transport(target, endpoint, options)
    # The inventory's files first: a missing one is an input error, before the KDC or the server hears anything.
    for name in ("ca_file", "certificate_pem", "certificate_key_pem"):
        path: Path | None = getattr(target, name)
        if path is not None and not path.is_file():
            raise InputError(f"{target.located(name)}: {path}: no such file")
    username: Any = target.username
    password = options.password
    if login is not None:
        # Acquired before the first request, so a KDC failure sends nothing to the server.
        username, password = login.credential(), None
    # pypsrp (typed bool) passes this to requests' ``verify``, which takes a CA bundle path too.
    cert_validation: Any = str(target.ca_file) if target.ca_file else target.cert_validation
    if endpoint.ssl and cert_validation is False:
        warn_unverified(target)
    extra: dict[str, Any] = {}
    if target.auth == "certificate":
        extra = {
            "certificate_pem": str(target.certificate_pem or ""),
            "certificate_key_pem": str(target.certificate_key_pem or ""),
        }
    encryption = "auto"
    if not endpoint.ssl and target.auth not in _MESSAGE_ENCRYPTING:
        encryption = "never"  # only reached with allow_insecure_transport: pypsrp refuses "auto" here
    wsman = WSMan(
        endpoint.host,
        port=endpoint.port,
        path=endpoint.path,
        ssl=endpoint.ssl,
        auth=target.auth,
        username=username,
        password=password,
        encryption=encryption,
        cert_validation=cert_validation,
        connection_timeout=target.timeouts.connection,
        read_timeout=target.timeouts.read,
        operation_timeout=target.timeouts.operation,
        no_proxy=True,  # an audit goes straight to the server; a proxy would see NTLM handshakes
        reconnection_retries=0,
        negotiate_service=SPN_SERVICE,
        **extra,
    )
    _environment_read_once(wsman)
    return wsman


def _environment_read_once(wsman: Any) -> None:
    """pypsrp reads the environment's TLS and proxy settings when it builds its HTTP session
    (``REQUESTS_CA_BUNDLE`` is honoured there); requests would read them again on every request
    after, iterating ``os.environ`` each time (about 5% of a live audit's client CPU). Its answer
    cannot change what is sent: pypsrp has already set the auth, and ``no_proxy`` the proxies."""
    transport = wsman.transport
    build = transport._build_session

    def build_session() -> Any:
        session = build()
        session.trust_env = False
        return session

    transport._build_session = build_session


def _recording_ui() -> Any:
    """A host UI that keeps what the remote side writes (``What if:`` lines, warnings)."""
    from pypsrp.host import PSHostUserInterface

    class RecordingUI(PSHostUserInterface):
        def __init__(self) -> None:
            super().__init__()
            self.lines: list[str] = []

        def WriteLine2(self, runspace: Any, pipeline: Any, value: str) -> None:
            self.lines.append(value)

        def WriteLine3(self, runspace: Any, pipeline: Any, fg: int, bg: int, value: str) -> None:
            self.lines.append(value)

        def Write1(self, runspace: Any, pipeline: Any, value: str) -> None:
            self.lines.append(value)

        def Write2(self, runspace: Any, pipeline: Any, fg: int, bg: int, value: str) -> None:
            self.lines.append(value)

        def WriteWarningLine(self, runspace: Any, pipeline: Any, message: str) -> None:
            self.lines.append(f"WARNING: {message}")

        def WriteErrorLine(self, runspace: Any, pipeline: Any, message: str) -> None:
            self.lines.append(message)

    return RecordingUI()


class RemoteSession:
    """A lazily opened runspace pool on one endpoint; ``pool`` opens it, ``close`` ends it.

    A failure to open is remembered as one line (``failure``) so the facts of this endpoint are
    reported unreadable once, without a second connection attempt per fact.
    """

    def __init__(
        self, target: Target, endpoint: Endpoint, options: ConnectOptions, login: KerberosLogin | None = None
    ) -> None:
        self.target = target
        self.endpoint = endpoint
        self._options = options
        self._login = login
        self._pool: Any = None
        self._ui: Any = None
        self.failure: str | None = None

    @property
    def host_lines(self) -> list[str]:
        """Lines the remote commands wrote to the host UI ("What if: ...", warnings)."""
        return list(self._ui.lines) if self._ui is not None else []

    def pool(self) -> Any:
        """The open ``RunspacePool``; raises ``UnreachableError`` with one line if it cannot open."""
        if self._pool is not None:
            return self._pool
        if self.failure is not None:
            raise UnreachableError(self.failure)
        from pypsrp.host import PSHost
        from pypsrp.powershell import RunspacePool

        try:
            wsman = build_wsman(self.target, self.endpoint, self._options, self._login)
            self._ui = _recording_ui()
            pool = RunspacePool(
                wsman,
                configuration_name=self.endpoint.configuration,
                host=PSHost(None, None, False, "uccx-compliance", None, self._ui, "1.0"),
            )
            keep_output_as_text(pool)
            pool.open()
        except InputError:
            raise
        except Exception as exc:  # every transport failure becomes one line; see remoting.errors
            self.failure = describe_failure(
                exc, self.endpoint.url, username=self.target.username, auth=self.target.auth
            )
            raise UnreachableError(self.failure) from None
        self._pool = pool
        return pool

    def fail(self, exc: BaseException) -> str:
        """Record a transport failure met while running a command; later commands skip the endpoint."""
        self.failure = describe_failure(exc, self.endpoint.url, username=self.target.username, auth=self.target.auth)
        return self.failure

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            pool.close()
        except Exception as exc:  # closing a broken shell must not hide the audit's result: say it, go on
            log.debug("closing the runspace pool on %s failed: %s: %s", self.endpoint.url, type(exc).__name__, exc)
        finally:
            pool.connection.close()


class Sessions:
    """Every endpoint of one audit: one ``RemoteSession`` each, all closed on exit."""

    def __init__(self, target: Target, options: ConnectOptions) -> None:
        self.target = target
        self.options = options
        self._open: dict[Endpoint, RemoteSession] = {}
        # One Kerberos ticket for all endpoints of the target, acquired on first use (kerberos.py).
        self._login = (
            KerberosLogin(target, options.password) if KerberosLogin.wanted(target, options.password) else None
        )

    def get(self, url: str, configuration: str) -> RemoteSession:
        endpoint = Endpoint(url, configuration)
        session = self._open.get(endpoint)
        if session is None:
            session = self._open[endpoint] = RemoteSession(self.target, endpoint, self.options, self._login)
        return session

    def exchange(self) -> RemoteSession:
        return self.get(self.target.exchange_endpoint, self.target.configuration or EXCHANGE_CONFIGURATION)

    def __enter__(self) -> Sessions:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        for session in self._open.values():
            session.close()
        self._open.clear()
        if self._login is not None:
            self._login.close()
