"""``--debug`` logs carry no credential: no password form, no NTLM/SPNEGO token, no auth header.

spnego logs every NTLM message at DEBUG; the AUTHENTICATE one holds the NTLMv2 response, and with
it and a guess a password can be confirmed offline. The live run goes through a subprocess so the
log is exactly what a user's terminal would get.
"""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from compliance.lab import LAB_USER, Lab
from compliance.lab.inventory import PASSWORD_ENV
from compliance.remoting.secrets import REDACTED, install_log_redaction, redact

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Debug-Log-P4ss-e81d"


def forbidden() -> list[str]:
    utf16 = PASSWORD.encode("utf-16-le")
    return [
        PASSWORD,
        base64.b64encode(PASSWORD.encode()).decode(),
        base64.b64encode(utf16).decode(),
        utf16.decode("latin-1"),
        base64.b64encode(f"{LAB_USER}:{PASSWORD}".encode()).decode(),
        "TlRMTVNT",  # base64 of "NTLMSSP\0": any NTLM message
        "NTLMSSP",
        "--Encrypted Boundary",
        "Authorization: Negotiate",
        "Authorization: NTLM",
        "'Authorization': '",
    ]


@pytest.fixture
def lab() -> Iterator[Lab]:
    with Lab(scenario="exchange2010-sp3-defaults", port=0, password=PASSWORD) as running:
        yield running


def cli(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, PASSWORD_ENV: PASSWORD, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "compliance", "--debug", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        check=False,
    )


def test_a_debug_plan_and_apply_log_no_secret(lab: Lab, tmp_path: Path) -> None:
    inventory = lab.write_inventory(tmp_path / "inventory.yaml", baseline="uccx-exchange2010-sp1")
    plan = tmp_path / "plan.json"
    planned = cli("plan", "--inventory", str(inventory), "--format", "json", "--out", str(plan))
    assert planned.returncode == 2, planned.stderr[-2000:]
    applied = cli(
        "apply",
        str(plan),
        "--inventory",
        str(inventory),
        "--backup-dir",
        str(tmp_path / "b"),
        "--audit-log",
        str(tmp_path / "a.log"),
    )
    assert applied.returncode == 0, applied.stderr[-2000:]
    log = planned.stderr + applied.stderr
    # Not vacuous: the libraries did log the whole exchange, tokens included (redacted).
    assert log.count("DEBUG pypsrp.wsman: ") > 50 and "DEBUG urllib3.connectionpool: " in log
    assert "DEBUG spnego._ntlm: NTLM step output: [redacted]" in log
    for form in forbidden():
        assert form not in log, form
    files = planned.stdout + applied.stdout + plan.read_text() + (tmp_path / "a.log").read_text()
    assert PASSWORD not in files


def test_every_logger_and_level_is_redacted_without_knowing_the_password(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction()
    install_log_redaction()  # idempotent: one factory, not a chain that grows per call
    ntlm = base64.b64encode(b"NTLMSSP\0\x03\0\0\0" + bytes(range(40))).decode()
    spnego = base64.b64encode(b"\x60\x82\x01\x00\x06\x06+\x06\x01\x05\x05\x02" + bytes(40)).decode()
    response = base64.b64encode(b"\xa1\x81\x90\x30\x81\x8d\xa0\x03\x0a\x01\x01" + bytes(40)).decode()
    logger = logging.getLogger("some.other.library")
    with caplog.at_level(logging.DEBUG):
        logger.error("headers %s", {"Authorization": f"Negotiate {ntlm}", "Host": "ex01"})
        logger.warning("WWW-Authenticate: Negotiate %s", spnego)
        logger.info("token %s and %s", response, b"NTLMSSP\x00\x02\x00\x00\x00\x01\x02")
        logger.debug(
            "body: --Encrypted Boundary\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n\x01\x02"
        )
        try:
            raise RuntimeError(f"auth failed with {ntlm}")
        except RuntimeError:
            logger.exception("failed")
        logger.info("oYes, bgColor and a PSRP stream AAAAAAAAAAEAAAAAAAAAAAMAAAD stay")
    text = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    for secret in (ntlm, spnego, response, "NTLMSSP", "Encrypted Boundary", "Negotiate"):
        assert secret not in text, secret
    assert text.count(REDACTED) >= 6
    assert "'Host': 'ex01'" in text
    assert "oYes, bgColor and a PSRP stream AAAAAAAAAAEAAAAAAAAAAAMAAAD stay" in text


def test_redact_keeps_plain_text() -> None:
    line = 'POST /PowerShell/ HTTP/1.1" 200 1490 Created wrapped message of content type multipart/encrypted'
    assert redact(line) == line
