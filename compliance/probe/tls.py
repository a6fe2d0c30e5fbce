"""TLS for the probes: certificate validation on by default, and failures in words.

Exchange often serves IMAP/SMTP with a certificate from an internal CA; the admin names that CA
with ``--ca-file``. Skipping validation is possible but explicit (``--insecure-skip-verify``) and
the probe warns about it.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from compliance.errors import InputError

INSECURE_WARNING = (
    "certificate verification is OFF (--insecure-skip-verify): the probe cannot tell the real server from an impostor"
)


@dataclass(frozen=True)
class TlsOptions:
    ca_file: Path | None = None
    insecure_skip_verify: bool = False


def make_context(options: TlsOptions) -> ssl.SSLContext:
    """A client context: system CAs (or ``ca_file``), hostname checking, TLS 1.2 or later."""
    if options.ca_file is not None and not options.ca_file.is_file():
        raise InputError(f"--ca-file {options.ca_file}: no such file")
    try:
        context = ssl.create_default_context(cafile=str(options.ca_file) if options.ca_file else None)
    except ssl.SSLError as exc:
        message = f"--ca-file {options.ca_file}: not a PEM certificate bundle ({exc.reason})"
        raise InputError(message) from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if options.insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def describe_tls_error(exc: ssl.SSLError | ssl.CertificateError) -> str:
    """The reason an admin can act on: which check failed, not an OpenSSL error stack."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or exc.reason or "unknown reason"
        return f"certificate verification failed: {reason}"
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or exc.strerror or type(exc).__name__
        return f"TLS handshake failed: {reason}"
    return f"certificate check failed: {exc}"
