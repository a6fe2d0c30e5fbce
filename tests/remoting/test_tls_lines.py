"""The TLS failure line is one line for any verify code and message OpenSSL may report, and the
chain requests and urllib3 build around the verification error is walked to find its code."""

from __future__ import annotations

import ssl

import requests
import urllib3.exceptions
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.remoting import errors

URL = "https://127.0.0.1:1/PowerShell/"  # port 1: nothing listens, the certificate peek is refused at once


def wrapped(code: int, message: str) -> Exception:
    """What requests raises: SSLError(MaxRetryError(reason=urllib3 SSLError(SSLCertVerificationError)))."""
    verify = ssl.SSLCertVerificationError(1, f"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {message}")
    verify.verify_code = code
    verify.verify_message = message
    inner = urllib3.exceptions.SSLError(verify)
    return requests.exceptions.SSLError(urllib3.exceptions.MaxRetryError(None, "/PowerShell/", inner))  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(code=st.integers(min_value=0, max_value=100), message=st.text(max_size=300))
def test_any_verify_code_and_message_is_one_line_naming_the_url(code: int, message: str) -> None:
    line = errors.describe_failure(wrapped(code, message), URL, username="u", auth="ntlm")
    assert line.startswith(f"{URL}: ")
    assert len(line.splitlines()) == 1 and "\r" not in line and "\x0b" not in line and "\x85" not in line
    assert len(line) < 600


def test_each_cause_has_its_own_line_without_a_certificate_to_read() -> None:
    lines = {
        code: errors.describe_failure(wrapped(code, "m"), URL, username="u", auth="ntlm") for code in (20, 64, 10, 9, 7)
    }
    assert lines[20] == (
        f"{URL}: certificate verification failed: the certificate is not signed by a CA this client trusts (m); "
        f"{errors.HINT_CA_FILE}"
    )
    assert lines[64] == f"{URL}: the certificate is not valid for host 127.0.0.1; {errors.HINT_CERT_NAME}"
    assert lines[10] == f"{URL}: the server's certificate expired; {errors.HINT_RENEW}"
    assert lines[9] == f"{URL}: the server's certificate is not valid yet; check this machine's clock"
    assert lines[7] == f"{URL}: certificate verification failed: m (OpenSSL error 7)"
