"""Keep the audit password, and anything it can be recovered from, out of logs, even with ``--debug``.

pypsrp logs whole WS-Management messages at DEBUG, spnego and urllib3 log their steps. spnego
logs every NTLM token (``NTLM step output: TlRMTVNTUAAD...``): the AUTHENTICATE message carries
the NTLMv2 response, from which a guessed password can be confirmed offline. So two layers:

* ``install_log_redaction`` (called once by ``cli.main``, always): every record from every logger,
  at every level, has authentication headers, NTLM/Kerberos/SPNEGO tokens (base64 or raw
  ``NTLMSSP``) and encrypted WS-Management bodies replaced by ``[redacted]``. It needs no
  password, so it also covers a prompt, the keyring and a failed login.
* ``redacting_logs(password)`` while a session is open: the password itself and the encodings it
  travels in (Basic ``user:password`` in base64, UTF-16-LE as NTLM and CredSSP carry it).

The libraries stay at WARNING unless ``--debug`` is given.
"""

from __future__ import annotations

import base64
import itertools
import logging
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

LIBRARY_LOGGERS = ("pypsrp", "psrpcore", "requests", "urllib3", "spnego", "requests_credssp")
REDACTED = "[redacted]"


def configure_library_logging(debug: bool) -> None:
    """Libraries say only warnings unless the user asked for ``--debug``."""
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if debug else logging.WARNING)


# A header that carries a credential or a challenge, as text (``Authorization: Negotiate ...``) or
# inside a logged dict (``'WWW-Authenticate': 'Negotiate ...'``): the whole value goes.
_AUTH_HEADER = re.compile(
    r"""((?:Proxy-)?(?:Authorization|WWW-Authenticate|Authenticate)['"]?\s*[:=]\s*['"]?)[^'"\r\n,}]+""",
    re.IGNORECASE,
)
# Base64 security tokens: NTLM ("NTLMSSP\0" is TlRMTVNT), SPNEGO/Kerberos initial tokens (ASN.1
# [APPLICATION 0] 0x60, so Y[A-P]) and SPNEGO responses (0xa1, so o[Q-f]).
# The length floor keeps ordinary words ("oYes", "bgColor") intact.
_TOKEN = re.compile(r"(?<![A-Za-z0-9+/])(?:TlRMTVNT|Y[A-P]|o[Q-Za-f])[A-Za-z0-9+/]{20,}={0,2}")
# A raw NTLM message, as a bytes repr (b'NTLMSSP\x00\x03...') or decoded text.
_RAW_NTLM = re.compile(r"NTLMSSP(?:\\x00|\x00)(?:\\.|[^'\"\s])*")
# An encrypted WS-Management body (multipart/encrypted, HTTP-SPNEGO/Kerberos/CredSSP-session-encrypted).
_ENCRYPTED_BODY = re.compile(r"--Encrypted Boundary.*?(?:--Encrypted Boundary--|\Z)", re.DOTALL)


def redact(text: str) -> str:
    """``text`` with authentication headers, security tokens and encrypted bodies replaced."""
    if not text:
        return text
    text = _ENCRYPTED_BODY.sub(REDACTED, text)
    text = _AUTH_HEADER.sub(lambda m: m.group(1) + REDACTED, text)
    text = _RAW_NTLM.sub(REDACTED, text)
    return _TOKEN.sub(REDACTED, text)


def _scrubbing_factory(previous: Callable[..., logging.LogRecord], clean: Callable[[str], str]) -> Any:
    """A record factory that formats each record's message now and keeps only ``clean(message)``."""

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed format string: keep the record as logging would
            return record
        cleaned = clean(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # A traceback would print str(exc); format it now, cleaned, so the handler reuses it.
            record.exc_text = clean(logging.Formatter().formatException(record.exc_info))
        return record

    factory.uccx_redaction = True  # type: ignore[attr-defined]  # marks it installed (idempotence)
    return factory


def install_log_redaction() -> None:
    """From now on, for the whole process, every log record goes through ``redact``.

    A record factory rather than a handler filter: it sees records of every logger, including
    handlers added later (pytest's capture, a library's own), and runs before any is formatted.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "uccx_redaction", False):
        return
    logging.setLogRecordFactory(_scrubbing_factory(previous, lambda text: redact(_scrub_active(text))))


def secret_forms(password: str, username: str | None = None) -> list[str]:
    """The password and the forms it may appear in on the wire, longest first."""
    forms = {password}
    raw = password.encode("utf-8")
    forms.add(base64.b64encode(raw).decode())
    forms.add(base64.b64encode(password.encode("utf-16-le")).decode())
    if username:
        forms.add(base64.b64encode(f"{username}:{password}".encode()).decode())
    return sorted((f for f in forms if f), key=len, reverse=True)


def scrub(text: str, forms: list[str]) -> str:
    for form in forms:
        text = text.replace(form, REDACTED)
    return text


# The secret forms of every session open now, by session. Targets audited in parallel
# (compliance/fleet.py) each open and close their own at any time, so this is one shared table
# read by one installed factory, never a chain of factories that would unwind out of order.
_ACTIVE_FORMS: dict[int, list[str]] = {}
_ACTIVE_LOCK = threading.Lock()
_NEXT_ID = itertools.count()


def _scrub_active(text: str) -> str:
    with _ACTIVE_LOCK:
        sessions = list(_ACTIVE_FORMS.values())
    for forms in sessions:
        text = scrub(text, forms)
    return text


@contextmanager
def redacting_logs(password: str | None, username: str | None = None) -> Iterator[None]:
    """While active, every log record's message has the password's forms replaced (any thread)."""
    if not password:
        yield
        return
    install_log_redaction()
    key = next(_NEXT_ID)
    with _ACTIVE_LOCK:
        _ACTIVE_FORMS[key] = secret_forms(password, username)
    try:
        yield
    finally:
        with _ACTIVE_LOCK:
            del _ACTIVE_FORMS[key]
