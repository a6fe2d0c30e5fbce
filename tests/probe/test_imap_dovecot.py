"""The IMAP probe against a real Dovecot whose per-user limit stands in for Exchange's."""

from __future__ import annotations

import base64
import json
import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

Server = Any  # tests/probe/conftest.py DovecotServer: port, tls_port, cert, user, password

pytestmark = pytest.mark.server


def imap_args(server: Server, *extra: str) -> list[str]:
    return [
        "imap",
        "--host",
        "127.0.0.1",
        "--port",
        str(server.port),
        "--user",
        server.user,
        "--password-env",
        "UCCX_PROBE_PASSWORD",
        *extra,
        # Dovecot on loopback without TLS: the login in clear text is refused without this.
        *([] if {"--tls", "--starttls"} & set(extra) else ["--allow-insecure-transport"]),
    ]


@contextmanager
def logged_in_sessions(server: Server, count: int) -> Iterator[None]:
    """Hold ``count`` sessions of the account open, as UCCX and agent desktops already would."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            reader = sock.makefile("rb")
            reader.readline()
            sock.sendall(f'T1 LOGIN "{server.user}" "{server.password}"\r\n'.encode())
            assert reader.readline().startswith(b"T1 OK")
            socks.append((sock, reader))
        yield
    finally:
        for sock, reader in socks:
            reader.close()
            sock.close()


def test_one_connection_is_ok(dovecot: Server, probe_cli: Any) -> None:
    run = probe_cli(*imap_args(dovecot), "--format", "json")
    result = json.loads(run.out)
    assert run.code == 0, run.out
    assert result["outcome"] == "ok"
    assert (result["requested"], result["accepted"]) == (1, 1)
    assert result["refusal"] is None
    names = [s["name"] for s in result["steps"]]
    assert names == ["tcp_connect", "greeting", "capability", "login", "select", "connections", "logout"]
    assert all(s["ok"] for s in result["steps"])
    greeting = next(s for s in result["steps"] if s["name"] == "greeting")
    assert "Dovecot" in greeting["detail"] and "not Microsoft Exchange" in greeting["detail"]
    assert result["server"] == "other IMAP server"
    assert "clear text" in run.err  # LOGIN without TLS warns


def test_six_connections_against_limit_three_is_throttled(dovecot: Server, probe_cli: Any) -> None:
    run = probe_cli(*imap_args(dovecot, "--connections", "6"), "--format", "json")
    result = json.loads(run.out)
    assert run.code == 2
    assert result["outcome"] == "throttled"
    assert (result["requested"], result["accepted"]) == (6, dovecot.userip_limit)
    # Dovecot's own words, verbatim, tag included.
    assert "Maximum number of connections from user+IP exceeded" in result["refusal"]
    assert result["refusal"].startswith("A2 NO ")
    assert result["refusal_kind"] == "no"
    advice = result["advice"]
    assert "MaxConnectionsPerUser" in advice and "IMAPMaxConcurrency" in advice
    assert "Maximum Allowed Service Sessions Per User" in advice
    connections = next(s for s in result["steps"] if s["name"] == "connections")
    assert not connections["ok"]
    assert "3 of 6" in connections["detail"] and "session 4" in connections["detail"]
    logout = next(s for s in result["steps"] if s["name"] == "logout")
    assert logout["ok"] and "3 of 3" in logout["detail"]


def test_sessions_are_released_after_the_probe(dovecot: Server, probe_cli: Any) -> None:
    """The probe closes what it opened: a later probe gets the full limit again."""
    first = json.loads(probe_cli(*imap_args(dovecot, "--connections", "3"), "--format", "json").out)
    assert first["outcome"] == "ok"
    # Dovecot's anvil forgets a session a moment after the socket closes: allow it that moment.
    for _ in range(50):
        again = json.loads(probe_cli(*imap_args(dovecot, "--connections", "3"), "--format", "json").out)
        if again["outcome"] == "ok":
            break
    assert again["accepted"] == 3 and again["outcome"] == "ok"


def test_limit_already_used_by_others_is_throttled_at_zero(dovecot: Server, probe_cli: Any) -> None:
    """UCCX and agents already hold every slot: the first login is refused with a limit, not a
    password error, and the probe says so instead of blaming the credentials."""
    with logged_in_sessions(dovecot, dovecot.userip_limit):
        run = probe_cli(*imap_args(dovecot), "--format", "json")
    result = json.loads(run.out)
    assert result["outcome"] == "throttled"
    assert result["accepted"] == 0
    assert "[UNAVAILABLE]" in result["refusal"]
    assert run.code == 2


def test_wrong_password_is_auth_rejected(dovecot: Server, probe_cli: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("UCCX_PROBE_PASSWORD", "not-the-password")
    run = probe_cli(*imap_args(dovecot), "--format", "json")
    result = json.loads(run.out)
    assert run.code == 2
    assert result["outcome"] == "auth_rejected"
    assert result["accepted"] == 0
    assert "AUTHENTICATIONFAILED" in result["refusal"]
    assert "NO AUTHENTICATE failed." in result["advice"]  # says Exchange's same words hide limits


def test_authenticate_plain_is_used_when_asked(dovecot: Server, probe_cli: Any) -> None:
    result = json.loads(probe_cli(*imap_args(dovecot, "--auth", "plain"), "--format", "json").out)
    login = next(s for s in result["steps"] if s["name"] == "login")
    assert result["outcome"] == "ok"
    assert login["detail"].startswith("AUTHENTICATE PLAIN as ")


def test_closed_port_is_unreachable(probe_cli: Any, closed_port: int) -> None:
    run = probe_cli("imap", "--host", "127.0.0.1", "--port", str(closed_port), "--format", "json")
    result = json.loads(run.out)
    assert run.code == 3
    assert result["outcome"] == "unreachable"
    assert result["refusal_kind"] == "connect_failed"
    assert [s["name"] for s in result["steps"]] == ["tcp_connect"]
    assert "refused" in result["steps"][0]["detail"].lower()


def test_starttls_self_signed_fails_validation_by_default(dovecot: Server, probe_cli: Any) -> None:
    run = probe_cli(*imap_args(dovecot, "--starttls"), "--format", "json")
    result = json.loads(run.out)
    assert run.code == 3
    assert result["outcome"] == "tls_failed"
    starttls = next(s for s in result["steps"] if s["name"] == "starttls")
    assert not starttls["ok"] and "self-signed" in starttls["detail"]
    assert "--ca-file" in result["advice"]


def test_starttls_with_ca_file_succeeds(dovecot: Server, probe_cli: Any) -> None:
    run = probe_cli(*imap_args(dovecot, "--starttls", "--ca-file", str(dovecot.cert)), "--format", "json")
    result = json.loads(run.out)
    assert run.code == 0, run.out
    assert result["outcome"] == "ok"
    starttls = next(s for s in result["steps"] if s["name"] == "starttls")
    assert "TLSv1" in starttls["detail"]
    assert "clear text" not in run.err


def test_implicit_tls_993_style(dovecot: Server, probe_cli: Any) -> None:
    args = [
        "imap",
        "--host",
        "127.0.0.1",
        "--port",
        str(dovecot.tls_port),
        "--tls",
        "--ca-file",
        str(dovecot.cert),
        "--user",
        dovecot.user,
        "--password-env",
        "UCCX_PROBE_PASSWORD",
        "--connections",
        "4",
        "--format",
        "json",
    ]
    result = json.loads(probe_cli(*args).out)
    assert result["outcome"] == "throttled" and result["accepted"] == 3
    assert result["steps"][1]["name"] == "tls_handshake"


def test_insecure_skip_verify_warns(dovecot: Server, probe_cli: Any) -> None:
    text = probe_cli(*imap_args(dovecot, "--starttls", "--insecure-skip-verify"))
    assert text.code == 0
    assert "warning: certificate verification is OFF" in text.out  # in the report itself
    machine = probe_cli(*imap_args(dovecot, "--starttls", "--insecure-skip-verify"), "--format", "json")
    assert "certificate verification is OFF" in machine.err  # JSON on stdout: the person hears it here
    assert json.loads(machine.out)["warnings"] == [
        "certificate verification is OFF (--insecure-skip-verify): "
        "the probe cannot tell the real server from an impostor"
    ]


def test_budget_stops_opening_and_closes(dovecot: Server, probe_cli: Any) -> None:
    """A budget too small for even one session: the probe stops and reports, it does not hang."""
    run = probe_cli(*imap_args(dovecot, "--connections", "3", "--budget", "0.000001"), "--format", "json")
    result = json.loads(run.out)
    assert result["outcome"] == "incomplete"
    assert run.code == 3
    assert result["accepted"] < 3


def test_junit_has_a_testcase_per_step_and_one_for_the_count(dovecot: Server, probe_cli: Any, tmp_path: Path) -> None:
    report = tmp_path / "probe.xml"
    run = probe_cli(*imap_args(dovecot, "--connections", "5"), "--format", "junit", "--out", str(report))
    assert run.code == 2
    assert "outcome: throttled" in run.out  # the text report still goes to the terminal
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert list(cases) == [
        "tcp_connect",
        "greeting",
        "capability",
        "login",
        "select",
        "connections",
        "logout",
    ]
    assert suite.get("tests") == "7" and suite.get("failures") == "1"
    failure = cases["connections"].find("failure")
    assert failure is not None and "3 of 5" in (failure.get("message") or "")
    assert cases["login"].find("failure") is None


def test_text_report_reads_as_lines(dovecot: Server, probe_cli: Any) -> None:
    run = probe_cli(*imap_args(dovecot, "--connections", "4"))
    lines = run.out.splitlines()
    assert lines[0].startswith("IMAP probe of 127.0.0.1:")
    assert any(line.strip().startswith("FAIL  connections") for line in lines)
    assert any(line.startswith("outcome: throttled (3 of 4 sessions accepted)") for line in lines)
    assert any(line.startswith("refusal (server answered NO): A2 NO [UNAVAILABLE]") for line in lines)


@pytest.mark.parametrize(
    ("wrong", "connections", "outcome"),
    [(False, "1", "ok"), (False, "5", "throttled"), (True, "1", "auth_rejected")],
)
def test_password_never_appears(
    dovecot: Server,
    probe_cli: Any,
    monkeypatch: Any,
    caplog: Any,
    tmp_path: Path,
    wrong: bool,
    connections: str,
    outcome: str,
) -> None:
    """Every output, report file and debug log line is free of the password (and of its
    AUTHENTICATE PLAIN base64 form), whatever the outcome, format and mechanism."""
    password = ("Wr0ng-" if wrong else "") + dovecot.password
    monkeypatch.setenv("UCCX_PROBE_PASSWORD", password)
    caplog.set_level("DEBUG")
    # Each format once, with both mechanisms between them (Dovecot slows repeated failed logins).
    for fmt, auth in (("text", "login"), ("json", "plain"), ("junit", "login")):
        token = base64.b64encode(f"\0{dovecot.user}\0{password}".encode()).decode()
        report = tmp_path / f"report.{fmt}"
        run = probe_cli(
            "--debug",
            *imap_args(dovecot, "--connections", connections, "--auth", auth),
            "--format",
            fmt,
            "--out",
            str(report),
        )
        assert f"outcome: {outcome}" in run.out
        everything = run.out + run.err + report.read_text() + caplog.text
        assert password not in everything
        assert dovecot.password not in everything
        assert token not in everything
    assert "C: A2 " in caplog.text  # the debug log did record the commands, redacted
