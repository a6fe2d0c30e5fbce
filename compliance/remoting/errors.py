"""Turn what pypsrp, requests and spnego raise into ONE line an Exchange admin can act on.

Transport failures (``describe_failure``) make every fact from that endpoint unreadable; error
records (``describe_record``) make only the fact of the command that wrote them unreadable.
The hints name the usual cause: the Exchange endpoint lives on port 80 at ``/PowerShell/``,
Kerberos wants the UPN form of the user name, a private CA needs ``ca_file``.
"""

from __future__ import annotations

import datetime
import errno
import socket
import ssl
from typing import Any
from urllib.parse import urlsplit

from compliance.remoting.causes import causes

HINT_UPN = "Kerberos wants the UPN form user@REALM, e.g. uccx-audit@LAB.LOCAL"
HINT_TICKET_REFUSED = (
    "the server refused a ticket the KDC issued for HTTP/{host}: its keys for that SPN differ from the "
    "KDC's (a stale keytab, e.g. a load balancer's alternate service account, or the SPN registered on two "
    "accounts: setspn -X)"
)
HINT_EXTENDED_PROTECTION = (
    "over HTTPS, a TLS-inspecting proxy or load balancer that re-encrypts between this machine and "
    "Exchange fails here too: Extended Protection refuses a handshake bound to another certificate than "
    "the server's (let {host}:{port} through uninspected)"
)
HINT_POWERSHELL_PATH = "the Exchange management endpoint path is /PowerShell/, e.g. http://ex01.lab.local/PowerShell/"
HINT_EXCHANGE_PORT = "the Exchange endpoint is on port 80 at /PowerShell/, not 5985/wsman"
HINT_CA_FILE = "set ca_file: to the CA certificate that signed the server's certificate"
HINT_CERT_NAME = "use the name the certificate was issued for in the URL, or reissue it for this name"
HINT_RENEW = "renew it on the server (or check this machine's clock)"

# OpenSSL's X509_V_ERR_* codes, as ssl.SSLCertVerificationError.verify_code gives them.
_UNTRUSTED = frozenset({2, 18, 19, 20, 21, 27})  # no trusted issuer, self-signed, chain ends untrusted
_NAME_MISMATCH = frozenset({62, 64})  # HOSTNAME_MISMATCH, IP_ADDRESS_MISMATCH
_EXPIRED, _NOT_YET_VALID = 10, 9
_PEEK_SECONDS = 5
HINT_CMDLET = (
    "the Exchange version does not have it, or the audit account lacks the RBAC role "
    "that grants it (see docs/remoting.md)"
)

# WS-Management fault codes ([MS-WSMV], winerror.h) that pypsrp reports as WSManFaultError.code.
WSMAN_INVALID_RESOURCE_URI = 2150858811  # ERROR_WSMAN_INVALID_RESOURCE_URI
WSMAN_OPERATION_TIMEOUT = 2150858793


def describe_failure(exc: BaseException, url: str, *, username: str | None, auth: str) -> str:
    """One line for an exception raised while opening or using an endpoint."""
    from pypsrp.exceptions import AuthenticationError, WinRMTransportError, WSManFaultError
    from requests import exceptions as rex

    from compliance.remoting.kerberos import describe_kerberos

    host = urlsplit(url).hostname or url
    port = urlsplit(url).port or (443 if url.startswith("https") else 80)
    kerberos = describe_kerberos(exc, url, username=username, auth=auth)
    if kerberos is not None:
        return kerberos
    if isinstance(exc, AuthenticationError) or _is_spnego_error(exc):
        upn = username is None or "@" in username
        hint = f"; {HINT_UPN}" if auth == "negotiate" or (auth == "kerberos" and not upn) else ""
        if auth == "kerberos" and upn and isinstance(exc, AuthenticationError):
            # The KDC issued the ticket (a KDC failure is a Kerberos line above): the server refused it.
            hint = f"; {HINT_TICKET_REFUSED.format(host=host)}"
        if url.startswith("https"):
            # The server cannot say why it refused: a wrong password and a relayed channel look alike.
            hint += f"; {HINT_EXTENDED_PROTECTION.format(host=host, port=port)}"
        user = username or "(the current Kerberos ticket)"
        return f"{url}: authentication failed for {user} with {auth}{hint}"
    if isinstance(exc, rex.SSLError):
        return f"{url}: {_tls_problem(exc, host, port)}"
    if isinstance(exc, rex.ConnectTimeout):
        return f"{url}: timed out connecting to {host}:{port} (firewall, or the host is down)"
    if isinstance(exc, (rex.ReadTimeout, TimeoutError)):
        return f"{url}: timed out waiting for an answer (raise timeouts.read, or the server is overloaded)"
    if isinstance(exc, rex.ConnectionError):
        return f"{url}: {_connection_problem(exc, host, port)}"
    # pypsrp parses any HTTP error body as a WS-Management fault; IIS's XHTML 404 page parses too,
    # giving an empty fault whose context is the original HTTP error.
    transport = next((c for c in causes(exc) if isinstance(c, WinRMTransportError)), None)
    if isinstance(exc, WSManFaultError) and (exc.code or exc.reason or transport is None):
        return f"{url}: {_fault(exc)}"
    if transport is not None:
        return f"{url}: {_http_status(transport)}"
    return f"{url}: {type(exc).__name__}: {_first_line(exc)}"


def _connection_problem(exc: BaseException, host: str, port: int) -> str:
    from urllib3.exceptions import NameResolutionError

    for cause in causes(exc):
        if isinstance(cause, (NameResolutionError, socket.gaierror)):
            return f"host name {host} could not be resolved (check the name and DNS)"
        if isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", None) == errno.ECONNREFUSED:
            return f"connection refused by {host}:{port} (is WinRM or IIS listening on that port?)"
        if isinstance(cause, ConnectionResetError):
            return f"connection reset by {host}:{port}"
    text = str(exc)
    if "Name or service not known" in text or "getaddrinfo failed" in text or "Failed to resolve" in text:
        return f"host name {host} could not be resolved (check the name and DNS)"
    if "Connection refused" in text or "actively refused" in text:
        return f"connection refused by {host}:{port} (is WinRM or IIS listening on that port?)"
    if "RemoteDisconnected" in text or "Connection aborted" in text:
        return f"connection closed by {host}:{port} before it answered"
    return f"cannot connect to {host}:{port}: {_first_line(exc)}"


def _tls_problem(exc: BaseException, host: str, port: int) -> str:
    """What is wrong with the server's certificate, from OpenSSL's verify code where the chain kept it."""
    verify = next((c for c in causes(exc) if isinstance(c, ssl.SSLCertVerificationError)), None)
    code = getattr(verify, "verify_code", None)
    said = " ".join(str(getattr(verify, "verify_message", "") or "").split())[:200]  # one line, whatever it held
    if verify is None or code is None:
        if "CERTIFICATE_VERIFY_FAILED" in str(exc) or "certificate verify failed" in str(exc):
            return f"certificate verification failed; {HINT_CA_FILE}"
        tls = next((c for c in causes(exc) if isinstance(c, ssl.SSLError)), None)
        if tls is not None and tls.reason == "WRONG_VERSION_NUMBER":
            return f"{host}:{port} does not answer in TLS (is it an http:// port?)"
        return f"TLS handshake failed: {_first_line(exc)}"
    if code in _UNTRUSTED:
        return (
            "certificate verification failed: the certificate is not signed by a CA this client trusts "
            f"({said}); {HINT_CA_FILE}"
        )
    if code in _NAME_MISMATCH:
        served = _served_certificate(host, port)
        names = f" (it names {', '.join(_certificate_names(served)) or 'no host'})" if served is not None else ""
        return f"the certificate is not valid for host {host}{names}; {HINT_CERT_NAME}"
    if code in (_EXPIRED, _NOT_YET_VALID):
        served = _served_certificate(host, port)
        if code == _EXPIRED:
            when = f" on {_utc(served.not_valid_after_utc)}" if served is not None else ""
            return f"the server's certificate expired{when}; {HINT_RENEW}"
        when = f" until {_utc(served.not_valid_before_utc)}" if served is not None else " yet"
        return f"the server's certificate is not valid{when}; check this machine's clock"
    return f"certificate verification failed: {said} (OpenSSL error {code})"


def _served_certificate(host: str, port: int) -> Any:
    """The certificate the server presents, read through a second handshake that verifies nothing
    and sends nothing after it: only to name its hosts or dates in the error line. None if unread."""
    from cryptography import x509  # pyspnego's dependency

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((host, port), timeout=_PEEK_SECONDS) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
        return x509.load_der_x509_certificate(der) if der else None
    except (OSError, ValueError):
        return None


def _certificate_names(certificate: Any) -> list[str]:
    from cryptography import x509

    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(n) for n in san.get_values_for_type(x509.DNSName)] + [
        str(a) for a in san.get_values_for_type(x509.IPAddress)
    ]


def _utc(when: datetime.datetime) -> str:
    return when.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _fault(exc: Any) -> str:
    reason = " ".join(str(exc.reason or "").split())
    if exc.code == WSMAN_INVALID_RESOURCE_URI or "not found in the WS-Management catalog" in reason:
        return f"WS-Management: {reason or 'invalid resource URI'} ({HINT_EXCHANGE_PORT})"
    if exc.code == WSMAN_OPERATION_TIMEOUT:
        return f"WS-Management operation timed out (raise timeouts.operation): {reason}"
    return f"WS-Management fault {exc.code}: {reason or 'no reason given'}"


def _http_status(exc: Any) -> str:
    code = exc.code
    body = str(exc.response_text or "")
    if code == 404:
        kind = "an HTML page" if "<html" in body.lower() else "no WS-Management answer"
        return f"HTTP 404 Not Found ({kind}); {HINT_POWERSHELL_PATH}"
    if code in (401, 403):
        return f"HTTP {code}: access denied"
    return f"HTTP {code} from the server: {_first_line(_strip_tags(body)) or 'no body'}"


def _is_spnego_error(exc: BaseException) -> bool:
    return any(type(c).__module__.startswith("spnego") for c in causes(exc))


def _strip_tags(text: str) -> str:
    import re

    return " ".join(re.sub(r"<[^>]+>", " ", text).split())


def _first_line(exc: object) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else ""


# --- error records written by a command --------------------------------------------------------


def record_message(record: Any) -> str:
    """The text PowerShell shows for an error record (the exception's Message)."""
    exception = getattr(record, "exception", None)
    for props in ("adapted_properties", "extended_properties"):
        message = getattr(exception, props, {}).get("Message") if exception is not None else None
        if message:
            return " ".join(str(message).split())
    return " ".join(str(record).split()) or "unknown error"


def record_id(record: Any) -> str:
    return str(getattr(record, "fq_error", "") or "")


def record_exception_types(record: Any) -> tuple[str, ...]:
    exception = getattr(record, "exception", None)
    return tuple(getattr(exception, "types", ()) or ())


def describe_record(record: Any, command: str) -> str:
    """One line for an error record that ``command`` wrote, with Exchange's own message."""
    message = record_message(record)
    kinds = " ".join(record_exception_types(record)) + " " + record_id(record)
    if "CommandNotFoundException" in kinds:
        return f"{command}: cmdlet not found ({HINT_CMDLET}): {message}"
    if "no-language mode" in message or "ScriptsNotAllowed" in kinds:
        return f"{command}: refused by the NoLanguage endpoint (only cmdlets with parameters run there): {message}"
    return f"{command}: {message}"
