"""The two ways the live tests reach the lab: NTLM over HTTP, and Kerberos over HTTPS (with
Extended Protection required: the handshake must carry the TLS channel binding).

``lab_transport`` (tests/conftest.py) runs a test once with each; a test that needs both at once
builds them here with ``transport()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compliance.lab.kdc import Kdc
from compliance.lab.server import LabTls
from compliance.lab.tls import TestCertificates

TRANSPORTS = ("ntlm-http", "kerberos-https")


@dataclass(frozen=True)
class LabTransport:
    """``Lab(**lab_options)`` serves it; ``lab.write_inventory(**inventory_fields)`` reaches it."""

    name: str
    lab_options: dict[str, Any] = field(default_factory=dict)
    inventory_fields: dict[str, Any] = field(default_factory=dict)

    @property
    def kerberos(self) -> bool:
        return self.name.startswith("kerberos")


def transport(
    name: str, kdc: Kdc | None = None, certs: TestCertificates | None = None, folder: Path | None = None
) -> LabTransport:
    """NTLM over HTTP (the lab's own default); or Kerberos with a private copy of the audit user's
    keytab, no password anywhere, over HTTPS with a certificate of the test CA and Extended
    Protection required."""
    if name == "ntlm-http":
        return LabTransport(name)
    assert name == "kerberos-https" and kdc is not None and certs is not None and folder is not None
    keytab = folder / "uccx-audit.keytab"
    keytab.write_bytes(kdc.user_keytab.read_bytes())
    keytab.chmod(0o600)
    return LabTransport(
        name,
        lab_options={
            "kerberos_keytab": kdc.service_keytab,
            # Extended Protection (channel binding) required, as an Exchange that turned it on has it.
            "tls": LabTls(certs.good.cert, certs.good.key, certs.ca_file, extended_protection=True),
        },
        inventory_fields={
            "auth": "kerberos",
            "username": kdc.user_principal,
            "password_env": None,
            "keytab": str(keytab),
        },
    )
