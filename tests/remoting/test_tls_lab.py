"""HTTPS end to end: the real client against the lab's real TLS listener and a test CA.

A certificate the client trusts gives the same plan as plain HTTP; an unknown CA, a name the
certificate does not carry and an expired certificate each give their own line and exit 3, with
not one HTTP request reaching the lab; ``cert_validation: false`` works and warns on every run;
Basic over plain HTTP is refused before a connection is made.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from compliance.lab import Lab
from compliance.lab.inventory import PASSWORD_ENV
from compliance.lab.server import LabTls
from compliance.lab.tls import ServerFiles, TestCertificates, make_test_certificates
from compliance.remoting import errors
from tests.lab_serve import lab_serve

pytestmark = pytest.mark.server

PASSWORD = "lab-Pa55-tls"
SCENARIO = "exchange2010-sp3-defaults"  # drift: exit 2 when every fact was read
WARNING = (
    "uccx-compliance: warning: target lab-exchange2010-sp3-defaults: cert_validation is false: the server's "
    "certificate is not checked; anyone on the path can read and change the session"
)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> TestCertificates:
    return make_test_certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


def serving(files: ServerFiles | None, ca_file: Path | None = None) -> Lab:
    tls = LabTls(files.cert, files.key, ca_file) if files is not None else None
    return Lab(scenario=SCENARIO, port=0, password=PASSWORD, tls=tls)


def inventory(lab: Lab, path: Path, **fields: Any) -> Path:
    """The lab's own inventory, with ``fields`` set on its target (``None`` removes one)."""
    document = yaml.safe_load(lab.write_inventory(path).read_text(encoding="utf-8"))
    target = document["targets"][0]
    for name, value in fields.items():
        if value is None:
            target.pop(name, None)
        else:
            target[name] = value
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def without_endpoints(report: dict[str, Any]) -> dict[str, Any]:
    """The JSON report less what names where the facts came from (the URLs differ by scheme and port)."""
    text = json.dumps(report)
    for target in report["targets"]:
        text = text.replace(target["source"], "<endpoint>")
    return dict(json.loads(text))


@pytest.fixture
def quiet_lab(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Fails the test if the lab logged anything at INFO or above (a rejected handshake is routine)."""
    caplog.set_level(logging.INFO, logger="compliance.lab")
    yield caplog
    loud = [r for r in caplog.records if r.name.startswith("compliance.lab") and r.levelno >= logging.INFO]
    assert not loud, [r.getMessage() for r in loud]


def test_https_with_ca_file_plans_as_plain_http(
    certs: TestCertificates, tmp_path: Path, cli: Any, quiet_lab: Any
) -> None:
    with serving(None) as plain:
        over_http = cli("plan", "--inventory", plain.write_inventory(tmp_path / "http.yaml"), "--format", "json")
    with serving(certs.good, certs.ca_file) as secure:
        written = secure.write_inventory(tmp_path / "https.yaml")
        over_https = cli("plan", "--inventory", written, "--format", "json")
        asked = dict(secure.requests)
        endpoints = [secure.exchange_endpoint, *secure.host_endpoints.values()]
        base = f"https://127.0.0.1:{secure.port}/"
    assert yaml.safe_load(written.read_text())["targets"][0]["ca_file"] == str(certs.ca_file)
    assert (over_http.code, over_https.code) == (2, 2), over_https.err
    assert all(url.startswith(base) for url in endpoints)
    assert set(asked) == set(endpoints) and all(asked[url] > 0 for url in endpoints)
    report = json.loads(over_https.out)
    assert report["targets"][0]["source"] == endpoints[0]
    assert without_endpoints(report) == without_endpoints(json.loads(over_http.out))
    assert "cert_validation" not in over_https.err


def failure_lines(certs: TestCertificates) -> dict[str, tuple[ServerFiles, str]]:
    expired_on = certs.expired_on.strftime("%Y-%m-%d %H:%M:%S UTC")
    return {
        "unknown CA": (
            certs.unknown_ca,
            "certificate verification failed: the certificate is not signed by a CA this client trusts "
            f"(unable to get local issuer certificate); {errors.HINT_CA_FILE}",
        ),
        "wrong name": (
            certs.wrong_name,
            f"the certificate is not valid for host 127.0.0.1 (it names other.lab.local); {errors.HINT_CERT_NAME}",
        ),
        "expired": (certs.expired, f"the server's certificate expired on {expired_on}; {errors.HINT_RENEW}"),
    }


@pytest.mark.parametrize("case", ["unknown CA", "wrong name", "expired"])
def test_a_certificate_the_client_refuses_is_one_line_exit_3_and_no_request(
    case: str, certs: TestCertificates, tmp_path: Path, cli: Any, quiet_lab: Any
) -> None:
    files, line = failure_lines(certs)[case]
    with serving(files, certs.ca_file) as lab:
        result = cli("plan", "--inventory", lab.write_inventory(tmp_path / "inventory.yaml"), "--format", "json")
        endpoints = [lab.exchange_endpoint, *lab.host_endpoints.values()]
        asked = sum(lab.requests.values())
    assert result.code == 3, result.err
    assert asked == 0  # the handshake failed: not one HTTP request, so no credential either
    report = json.loads(result.out)
    assert report["summary"]["compliant"] == 0 and report["summary"]["drift"] == 0
    reasons = {u["reason"] for u in report["unreadable"]}
    # Every endpoint fails with the same line (a fact that needed an earlier one quotes its line).
    assert all("\n" not in r and any(f"{url}: {line}" in r for url in endpoints) for r in reasons), reasons
    assert {r for r in reasons if r.startswith(endpoints[0])} == {f"{endpoints[0]}: {line}"}


def test_the_three_certificate_lines_differ(certs: TestCertificates) -> None:
    lines = [line for _, line in failure_lines(certs).values()]
    assert len(set(lines)) == 3
    assert len({line.split(";")[-1] for line in lines}) == 3  # and each says a different thing to check


def test_cert_validation_false_connects_and_warns_on_every_run(
    certs: TestCertificates, tmp_path: Path, cli: Any, quiet_lab: Any
) -> None:
    with serving(certs.unknown_ca) as lab:
        path = inventory(lab, tmp_path / "inventory.yaml", cert_validation=False)
        runs = [cli("plan", "--inventory", path, "--format", "json") for _ in range(2)]
        asked = sum(lab.requests.values())
    assert [r.code for r in runs] == [2, 2], runs[0].err
    assert asked > 0
    for run in runs:
        assert run.err.splitlines().count(WARNING) == 1, run.err
        assert json.loads(run.out)["summary"]["unreadable"] == 0


def test_cert_validation_false_is_refused_beside_ca_file(certs: TestCertificates, tmp_path: Path, cli: Any) -> None:
    with serving(certs.good, certs.ca_file) as lab:
        path = inventory(lab, tmp_path / "inventory.yaml", cert_validation=False)
        result = cli("plan", "--inventory", path)
        asked = sum(lab.requests.values())
    assert result.code == 1 and asked == 0
    assert "cert_validation: false contradicts ca_file:" in result.err


def test_basic_over_plain_http_is_refused_before_the_lab_sees_a_request(tmp_path: Path, cli: Any) -> None:
    with serving(None) as lab:
        path = inventory(lab, tmp_path / "inventory.yaml", auth="basic")
        result = cli("plan", "--inventory", path, "--format", "json")
        asked = sum(lab.requests.values())
        endpoint = lab.exchange_endpoint
    assert result.code == 1, result.err
    assert asked == 0
    assert f"basic authentication over plain http:// ({endpoint}) would send" in result.err


def test_a_missing_ca_file_is_named(certs: TestCertificates, tmp_path: Path, cli: Any) -> None:
    with serving(certs.good, certs.ca_file) as lab:
        path = inventory(lab, tmp_path / "inventory.yaml", ca_file=str(tmp_path / "no-such-ca.crt"))
        result = cli("plan", "--inventory", path)
        asked = sum(lab.requests.values())
    assert result.code == 1 and asked == 0
    missing = re.escape(str(tmp_path / "no-such-ca.crt"))
    assert re.search(rf"inventory\.yaml:\d+:\d+: targets\[0\]\.ca_file: {missing}: no such file", result.err)


def test_apply_reads_the_target_several_times_and_warns_once(certs: TestCertificates, tmp_path: Path, cli: Any) -> None:
    with serving(certs.unknown_ca) as lab:
        path = inventory(lab, tmp_path / "inventory.yaml", cert_validation=False)
        argv = ["apply", "--inventory", path, "--auto-approve", "--dry-run", "--state-dir", tmp_path / "state"]
        result = cli(*argv, "--backup-dir", tmp_path / "backups", "--audit-log", tmp_path / "audit.jsonl")
        asked = lab.requests[lab.exchange_endpoint]
    assert result.code == 0, result.err
    assert asked > 0
    assert result.err.splitlines().count(WARNING) == 1, result.err


def test_https_to_a_plain_http_port_says_so(tmp_path: Path, cli: Any) -> None:
    with serving(None) as lab:
        plain = lab.exchange_endpoint
        secure = plain.replace("http://", "https://")
        path = inventory(lab, tmp_path / "inventory.yaml", exchange_endpoint=secure)
        result = cli("plan", "--inventory", path, "--format", "json")
        asked = lab.requests[plain]  # the host endpoints stay http:// and are read
        port = lab.port
    assert result.code == 3 and asked == 0
    reasons = {u["reason"] for u in json.loads(result.out)["unreadable"]}
    assert f"{secure}: 127.0.0.1:{port} does not answer in TLS (is it an http:// port?)" in reasons


def test_lab_serve_with_tls_flags_serves_https_that_the_written_inventory_trusts(
    certs: TestCertificates, tmp_path: Path, cli: Any
) -> None:
    written = tmp_path / "inventory.yaml"
    argv = ["--port", "0", "--password", PASSWORD, "--write-inventory", str(written)]
    argv += ["--tls-cert", str(certs.good.cert), "--tls-key", str(certs.good.key), "--tls-ca", str(certs.ca_file)]
    with lab_serve(*argv, "--extended-protection") as lab:
        assert any("Exchange endpoint: https://127.0.0.1:" in s for s in lab.said), lab.said
        assert any("Extended Protection: required" in s for s in lab.said), lab.said
        result = cli("plan", "--inventory", written, "--format", "json")
    assert result.code == 2, result.err
    assert json.loads(result.out)["summary"]["unreadable"] == 0
    assert yaml.safe_load(written.read_text())["targets"][0]["ca_file"] == str(certs.ca_file)
    assert lab.returncode == 0 and "lab stopped" in lab.out, lab.err


def test_lab_serve_wants_both_tls_files(certs: TestCertificates, cli: Any) -> None:
    result = cli("lab", "serve", "--port", "0", "--tls-cert", certs.good.cert)
    assert result.code == 1
    assert "--tls-cert and --tls-key go together" in result.err


def test_lab_serve_extended_protection_needs_tls(cli: Any) -> None:
    result = cli("lab", "serve", "--port", "0", "--extended-protection")
    assert result.code == 1
    assert "--extended-protection binds the handshake to the TLS channel: it needs --tls-cert" in result.err
