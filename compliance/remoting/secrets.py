"""Keep the audit password out of logs, even with ``--debug``.

pypsrp logs whole WS-Management messages at DEBUG, spnego and urllib3 log their steps; none is
meant to log a credential, but "meant to" is not a guarantee. So: the libraries stay at WARNING
unless ``--debug`` is given, and while a session is open every log record, from any logger, is
scrubbed of the password and the encodings it travels in (Basic ``user:password`` in base64,
UTF-16-LE as NTLM and CredSSP carry it).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

LIBRARY_LOGGERS = ("pypsrp", "psrpcore", "requests", "urllib3", "spnego", "requests_credssp")
REDACTED = "[redacted]"


def configure_library_logging(debug: bool) -> None:
    """Libraries say only warnings unless the user asked for ``--debug``."""
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if debug else logging.WARNING)


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


@contextmanager
def redacting_logs(password: str | None, username: str | None = None) -> Iterator[None]:
    """While active, every log record's message has the password's forms replaced."""
    if not password:
        yield
        return
    forms = secret_forms(password, username)
    previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed format string: keep the record as logging would
            return record
        cleaned = scrub(message, forms)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # A traceback would print str(exc); format it now, scrubbed, so the handler reuses it.
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info), forms)
        return record

    logging.setLogRecordFactory(factory)
    try:
        yield
    finally:
        logging.setLogRecordFactory(previous)
