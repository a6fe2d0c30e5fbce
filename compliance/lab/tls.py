"""A test certificate authority for the lab's HTTPS (docs/lab.md, "HTTPS").

Everything is made in memory with ``cryptography`` and written as PEM files into one folder; the
private keys are written 0600. ECDSA P-256 with SHA-256, and the extensions OpenSSL 3 checks with
Python's default verification: ``BasicConstraints(ca=True)`` and ``KeyUsage(keyCertSign)`` on the
CA; on a server certificate a subjectAltName (a DNS name or an IP address: OpenSSL matches an IP
only against an iPAddress entry, never against the common name), ``ExtendedKeyUsage(serverAuth)``
and ``KeyUsage(digitalSignature)``.

    certs = make_test_certificates(tmp_path)
    with Lab(tls=certs.good) as lab:  # https://127.0.0.1:<port>/PowerShell/, trusted through certs.ca_file
        ...
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LOOPBACK_NAMES = ("localhost",)
LOOPBACK_IPS = ("127.0.0.1",)
WRONG_NAME = "other.lab.local"
_DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class CertificateAuthority:
    """A CA's key and self-signed certificate; ``issue`` signs server certificates with them."""

    name: str
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    def issue(
        self,
        dns_names: Sequence[str] = LOOPBACK_NAMES,
        ip_addresses: Sequence[str] = LOOPBACK_IPS,
        *,
        not_before: datetime.datetime | None = None,
        not_after: datetime.datetime | None = None,
    ) -> IssuedCertificate:
        """A server certificate for those names, valid from a day ago for 30 days unless given."""
        now = _now()
        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
        names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]
        subject = (dns_names or ip_addresses or ("server",))[0]
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or now - _DAY)
            .not_valid_after(not_after or now + 30 * _DAY)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(_key_usage(digital_signature=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return IssuedCertificate(key, certificate)


@dataclass(frozen=True)
class IssuedCertificate:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    def write(self, folder: Path, stem: str) -> ServerFiles:
        """``<stem>.crt`` and ``<stem>.key`` (0600) in ``folder``."""
        cert = folder / f"{stem}.crt"
        key = folder / f"{stem}.key"
        cert.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))
        _write_private(key, self.key)
        return ServerFiles(cert, key)


@dataclass(frozen=True)
class ServerFiles:
    """The PEM files a TLS server needs: ``compliance.lab.server.LabTls`` takes them."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class TestCertificates:
    """The set the TLS tests use, all in one folder (``make_test_certificates``)."""

    __test__ = False  # not a pytest test class, despite the name

    ca_file: Path  # the CA a client is told to trust (inventory ``ca_file:``)
    good: ServerFiles  # 127.0.0.1 and localhost, signed by that CA, valid now
    expired: ServerFiles  # the same names, expired yesterday
    wrong_name: ServerFiles  # only other.lab.local
    unknown_ca: ServerFiles  # good names, signed by a second CA that no client is told about
    expired_on: datetime.datetime  # the expired certificate's notAfter


def create_ca(name: str = "uccx-compliance test CA") -> CertificateAuthority:
    """A new CA: a P-256 key and a self-signed certificate valid from a day ago for a year."""
    now = _now()
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _DAY)
        .not_valid_after(now + 365 * _DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CertificateAuthority(name, key, certificate)


def write_ca(ca: CertificateAuthority, folder: Path, stem: str = "ca") -> Path:
    """``<stem>.crt`` (what clients trust) and ``<stem>.key`` (0600); returns the certificate's path."""
    path = folder / f"{stem}.crt"
    path.write_bytes(ca.certificate.public_bytes(serialization.Encoding.PEM))
    _write_private(folder / f"{stem}.key", ca.key)
    return path


def make_test_certificates(folder: Path) -> TestCertificates:
    """A CA and four server certificates for loopback (good, expired, wrong name, unknown CA)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = create_ca()
    stranger = create_ca("uccx-compliance unknown CA")
    write_ca(stranger, folder, "unknown-ca")
    now = _now().replace(microsecond=0)
    expired_on = now - _DAY
    return TestCertificates(
        ca_file=write_ca(ca, folder),
        good=ca.issue().write(folder, "good"),
        expired=ca.issue(not_before=now - 30 * _DAY, not_after=expired_on).write(folder, "expired"),
        wrong_name=ca.issue((WRONG_NAME,), ()).write(folder, "wrong-name"),
        unknown_ca=stranger.issue().write(folder, "unknown-ca-server"),
        expired_on=expired_on,
    )


def _key_usage(
    *, digital_signature: bool = False, key_cert_sign: bool = False, crl_sign: bool = False
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _write_private(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    """The key in PEM, created 0600 (never world-readable, not even for an instant)."""
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)  # an existing file keeps its mode through O_CREAT
        handle.write(data)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)
