"""Shared paths and helpers for the test suite.

Every path is resolved from this file, never from the cwd. The real Exchange exports live in the
repository (``tests/fixtures/real``, each with a ``.SOURCE`` file naming where it was copied from), so
a clone of the project alone runs the whole suite; tests that need them under the names the
collector writes copy them into a temporary fact folder.

Test modules do not ``import conftest`` (another area has its own ``conftest.py``, and pytest keeps
only one module of that name); they use these fixtures, or compute paths from their own ``__file__``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

from compliance.cli import main
from compliance.lab import Lab
from compliance.lab.kdc import REALM, Kdc, KdcUnavailable, client_krb5_conf
from compliance.lab.tls import TestCertificates, make_test_certificates
from tests.transports import TRANSPORTS, LabTransport, transport

# hypothesis explores new examples on every local run (and keeps what fails in .hypothesis/); CI
# runs a fixed, derandomized set, so that a fresh clone's verdict does not depend on luck. A new
# failure found locally is pinned as a plain test beside the property.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parents[1]
CSS = REPO / "tests" / "fixtures" / "real"


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str


CliRunner = Callable[..., CliResult]
FactFolder = Callable[[Mapping[str, Path | str]], Path]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> CliRunner:
    """Run ``uccx-compliance ARGS...`` in-process; returns its exit code, stdout and stderr."""

    def run(*argv: str | Path) -> CliResult:
        capsys.readouterr()  # drop anything printed before this call
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def css() -> Path:
    """The real CSS-Exchange exports, shipped with the tests."""
    return CSS


@pytest.fixture
def fact_folder(tmp_path: Path) -> FactFolder:
    """Build a fact folder: ``{"GetReceiveConnector.xml": <source path or file text>}``."""

    def build(files: Mapping[str, Path | str]) -> Path:
        folder = tmp_path / "facts"
        folder.mkdir(exist_ok=True)
        for name, source in files.items():
            if isinstance(source, Path):
                shutil.copyfile(source, folder / name)
            else:
                (folder / name).write_text(source, encoding="utf-8")
        return folder

    return build


@pytest.fixture
def copy_of(tmp_path: Path) -> Callable[[Path], Path]:
    """A writable copy of an example fact folder, to delete or damage single files in."""

    def copy(folder: Path) -> Path:
        target = tmp_path / folder.name
        shutil.copytree(folder, target)
        return target

    return copy


@pytest.fixture(autouse=True)
def _private_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """apply records change times in a state dir that plan reads (restart pending); every test gets
    its own, so no test writes into the checkout or sees another test's records."""
    from compliance.apply.state import STATE_DIR_ENV

    monkeypatch.setenv(STATE_DIR_ENV, str(tmp_path / "state"))


# --- Kerberos: a loopback-only configuration for every test, a real KDC for those that ask ---------

_KERBEROS_ENV = ("KRB5_CONFIG", "KRB5CCNAME", "KRB5_KTNAME", "KRB5_CLIENT_KTNAME", "KRB5_TRACE")


@pytest.fixture(scope="session", autouse=True)
def _kerberos_stays_on_loopback(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test's Kerberos library reads the machine's krb5.conf or ticket cache, or asks DNS.

    A Negotiate client tries Kerberos first; with the system krb5.conf that would mean DNS SRV
    lookups for the realm. This config knows LAB.LOCAL with no KDC and has every lookup off; the
    ``kerberos`` fixture points a test at the real KDC instead.
    """
    folder = tmp_path_factory.mktemp("krb5-offline")
    conf = folder / "krb5.conf"
    conf.write_text(client_krb5_conf(REALM, None), encoding="utf-8")
    saved = {name: os.environ.pop(name, None) for name in _KERBEROS_ENV}
    os.environ["KRB5_CONFIG"] = str(conf)
    os.environ["KRB5CCNAME"] = "MEMORY:uccx-tests-empty"
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _start_kdc(**options: object) -> Kdc:
    try:
        return Kdc(**options).start()  # type: ignore[arg-type]
    except KdcUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Kerberos tests: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def kdc() -> Iterator[Kdc]:
    """A real MIT KDC on 127.0.0.1 for realm LAB.LOCAL, for the whole session (compliance/lab/kdc.py)."""
    running = _start_kdc()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def kerberos(kdc: Kdc, monkeypatch: pytest.MonkeyPatch) -> Kdc:
    """This test's process uses the real KDC's realm (``KRB5_CONFIG``) and an empty ticket cache."""
    try:
        import gssapi  # noqa: F401
        import krb5  # noqa: F401
    except ImportError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Kerberos tests: {exc}; pip install -e '.[kerberos]'")
        pytest.skip(f"{exc}; pip install -e '.[kerberos]'")
    monkeypatch.setenv("KRB5_CONFIG", str(kdc.krb5_conf))
    monkeypatch.setenv("KRB5CCNAME", f"MEMORY:uccx-test-{os.getpid()}-{id(monkeypatch)}")
    return kdc


@pytest.fixture
def skewed_kdc() -> Iterator[Kdc]:
    """A second KDC whose clock runs an hour ahead (libfaketime), for the clock-skew error."""
    running = _start_kdc(clock_offset_s=3600)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def kerberos_lab(kerberos: Kdc) -> Iterator[Lab]:
    """The lab at factory defaults, accepting Kerberos (its HTTP/127.0.0.1 keys) as well as NTLM."""
    with Lab(scenario="exchange2010-sp3-defaults", port=0, kerberos_keytab=kerberos.service_keytab) as lab:
        yield lab


# --- the two ways the live tests reach the lab (tests/transports.py) ---------------------------------


@pytest.fixture(scope="session")
def test_certificates(tmp_path_factory: pytest.TempPathFactory) -> TestCertificates:
    """A test CA and its server certificates (compliance/lab/tls.py), made once per session."""
    return make_test_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(params=TRANSPORTS)
def lab_transport(request: pytest.FixtureRequest, tmp_path: Path) -> LabTransport:
    """Each live test that takes this runs twice: NTLM with WinRM message encryption over HTTP, and
    Kerberos from a keytab (real KDC) over HTTPS with the test CA, as a scheduled run does."""
    if request.param == "ntlm-http":
        return transport("ntlm-http")
    kdc: Kdc = request.getfixturevalue("kerberos")
    certs: TestCertificates = request.getfixturevalue("test_certificates")
    return transport("kerberos-https", kdc, certs, tmp_path)
