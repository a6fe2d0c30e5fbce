"""The lab's HTTPS and its test CA: the certificates say what they should, TLS carries unsealed
SOAP (plain HTTP still refuses it), and a client that rejects the certificate leaves the lab serving."""

from __future__ import annotations

import datetime
import socket
import ssl
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from pypsrp.exceptions import WinRMTransportError
from pypsrp.powershell import RunspacePool
from pypsrp.wsman import WSMan

from compliance.errors import InputError
from compliance.lab import LAB_USER, Lab
from compliance.lab.server import LabTls
from compliance.lab.tls import TestCertificates, make_test_certificates
from tests.lab.conftest import PASSWORD, host, run

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> TestCertificates:
    return make_test_certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def tls_lab(certs: TestCertificates) -> Iterator[Lab]:
    with Lab(port=0, password=PASSWORD, tls=LabTls(certs.good.cert, certs.good.key, certs.ca_file)) as running:
        yield running


def wsman(lab: Lab, *, ssl: bool = False, encryption: str = "auto", cert_validation: bool | str = True) -> WSMan:
    return WSMan(
        "127.0.0.1",
        port=lab.port,
        path="PowerShell/",
        ssl=ssl,
        auth="ntlm",
        username=LAB_USER,
        password=PASSWORD,
        encryption=encryption,
        cert_validation=cert_validation,  # type: ignore[arg-type]  # requests' verify: a CA path too
        no_proxy=True,
        reconnection_retries=0,
    )


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def names(certificate: x509.Certificate) -> set[str]:
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(n) for n in san.get_values_for_type(x509.DNSName)} | {
        str(a) for a in san.get_values_for_type(x509.IPAddress)
    }


def test_the_test_certificates_carry_their_names_dates_and_extensions(certs: TestCertificates) -> None:
    ca = load(certs.ca_file)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    now = datetime.datetime.now(datetime.timezone.utc)
    for files in (certs.good, certs.expired, certs.wrong_name, certs.unknown_ca):
        leaf = load(files.cert)
        assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
        assert leaf.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
        assert stat.S_IMODE(files.key.stat().st_mode) == 0o600
    assert stat.S_IMODE(certs.ca_file.with_suffix(".key").stat().st_mode) == 0o600
    assert names(load(certs.good.cert)) == {"localhost", "127.0.0.1"}
    assert names(load(certs.wrong_name.cert)) == {"other.lab.local"}
    assert load(certs.expired.cert).not_valid_after_utc == certs.expired_on < now
    assert load(certs.good.cert).issuer == ca.subject != load(certs.unknown_ca.cert).issuer


def test_python_default_verification_accepts_the_good_certificate(certs: TestCertificates, tls_lab: Lab) -> None:
    context = ssl.create_default_context(cafile=str(certs.ca_file))
    for name in ("127.0.0.1", "localhost"):
        with (
            socket.create_connection(("127.0.0.1", tls_lab.port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=name) as tls,
        ):
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
    assert tls_lab.exchange_endpoint == f"https://127.0.0.1:{tls_lab.port}/PowerShell/"
    assert all(url.startswith(f"https://127.0.0.1:{tls_lab.port}/wsman/") for url in tls_lab.host_endpoints.values())


@pytest.mark.parametrize("encryption", ["never", "always"])
def test_over_tls_the_lab_takes_unsealed_and_sealed_bodies(
    encryption: str, certs: TestCertificates, tls_lab: Lab
) -> None:
    client = wsman(tls_lab, ssl=True, cert_validation=str(certs.ca_file), encryption=encryption)
    with RunspacePool(client, configuration_name="Microsoft.Exchange", host=host()) as pool:
        ps = run(pool, "Get-ExchangeServer")
    assert [str(o.adapted_properties["Name"]) for o in ps.output] == ["EX01"]
    assert tls_lab.requests[tls_lab.exchange_endpoint] > 0


def test_plain_http_still_refuses_unsealed_bodies(lab: Lab) -> None:
    client = wsman(lab, encryption="never")
    with pytest.raises(WinRMTransportError) as raised:
        RunspacePool(client, configuration_name="Microsoft.Exchange", host=host()).open()
    assert raised.value.code == 400
    assert "Unencrypted traffic is disabled" in str(raised.value.response_text)


def test_a_rejected_handshake_and_a_non_tls_client_leave_the_lab_serving(certs: TestCertificates, tls_lab: Lab) -> None:
    strict = ssl.create_default_context()  # the system CAs only: the lab's CA is unknown to it
    with socket.create_connection(("127.0.0.1", tls_lab.port), timeout=5) as raw, pytest.raises(ssl.SSLError):
        strict.wrap_socket(raw, server_hostname="127.0.0.1")
    with socket.create_connection(("127.0.0.1", tls_lab.port), timeout=5) as raw:
        raw.sendall(b"POST /PowerShell/ HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")  # HTTP to a TLS port
        raw.recv(100)  # the lab ends the connection (perhaps with a TLS alert), not with an HTTP answer
    assert sum(tls_lab.requests.values()) == 0
    client = wsman(tls_lab, ssl=True, cert_validation=str(certs.ca_file))
    with RunspacePool(client, configuration_name="Microsoft.Exchange", host=host()) as pool:
        assert run(pool, "Get-ExchangeServer").output


def test_an_unloadable_certificate_is_one_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"^lab TLS: cannot load .*bad\.pem with key .*bad\.pem: "):
        Lab(port=0, tls=LabTls(bad, bad)).start()
