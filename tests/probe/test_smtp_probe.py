"""The SMTP probe against a real SMTP server (aiosmtpd) on loopback, including one that refuses
like an Exchange receive connector whose MaxInboundConnectionPerSource is reached."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

pytestmark = pytest.mark.server

Server = Any  # tests/probe/conftest.py SmtpServer: port, mailbox, gate, cert


def smtp_args(server: Server, *extra: str) -> list[str]:
    return ["smtp", "--host", "127.0.0.1", "--port", str(server.port), "--format", "json", *extra]


def test_one_session_is_ok(smtp_server: Server, probe_cli: Any) -> None:
    run = probe_cli(*smtp_args(smtp_server))
    result = json.loads(run.out)
    assert run.code == 0
    assert result["probe"] == "smtp" and result["outcome"] == "ok"
    assert [s["name"] for s in result["steps"]] == ["tcp_connect", "greeting", "ehlo", "connections", "quit"]
    greeting = result["steps"][1]["detail"]
    assert greeting.startswith("220 mx.example.test") and "not Exchange" in greeting
    assert "250-mx.example.test" in result["steps"][2]["detail"]
    # The probe said QUIT and closed: the server sees no connection left (it notices asynchronously).
    deadline = time.monotonic() + 5
    while smtp_server.gate.active and time.monotonic() < deadline:
        time.sleep(0.02)
    assert smtp_server.gate.active == 0
    assert result["steps"][-1]["detail"] == "QUIT answered by 1 of 1 sessions; all 1 closed"


def test_421_4_3_2_past_the_limit_is_throttled(limited_smtp_server: Server, probe_cli: Any) -> None:
    run = probe_cli(*smtp_args(limited_smtp_server, "--connections", "7"))
    result = json.loads(run.out)
    assert run.code == 2
    assert result["outcome"] == "throttled"
    assert (result["requested"], result["accepted"]) == (7, limited_smtp_server.gate.limit)
    assert result["refusal"].startswith("421 4.3.2 The maximum number of concurrent connections")
    assert result["refusal_kind"] == "reply"
    assert "Set-ReceiveConnector" in result["advice"]
    assert "-MaxInboundConnectionPerSource" in result["advice"]
    assert "1021" in result["advice"]
    connections = next(s for s in result["steps"] if s["name"] == "connections")
    assert "4 of 7 sessions open at once from this host" in connections["detail"]
    assert "session 5 stopped at greeting" in connections["detail"]
    quit_step = next(s for s in result["steps"] if s["name"] == "quit")
    assert quit_step["ok"] and "4 of 4" in quit_step["detail"]


def test_at_the_limit_is_ok(limited_smtp_server: Server, probe_cli: Any) -> None:
    result = json.loads(probe_cli(*smtp_args(limited_smtp_server, "--connections", "4")).out)
    assert result["outcome"] == "ok" and result["accepted"] == 4


def test_send_test_delivers_a_message(smtp_server: Server, probe_cli: Any) -> None:
    run = probe_cli(*smtp_args(smtp_server, "--send-test", "--from", "uccx@example.test", "--to", "queue@example.test"))
    result = json.loads(run.out)
    assert run.code == 0, run.out
    send = next(s for s in result["steps"] if s["name"] == "send_test")
    assert send["ok"] and send["detail"].startswith("250 2.6.0 Queued mail for delivery")
    assert len(smtp_server.mailbox.envelopes) == 1
    envelope = smtp_server.mailbox.envelopes[0]
    assert envelope.mail_from == "uccx@example.test"
    assert envelope.rcpt_tos == ["queue@example.test"]
    content = envelope.content.decode() if isinstance(envelope.content, bytes) else envelope.content
    assert "Subject: uccx-compliance SMTP probe test" in content
    message_id = send["detail"].split("(")[1].split(" ")[0]
    assert f"Message-ID: {message_id}" in content


def test_send_test_with_connections_sends_once(limited_smtp_server: Server, probe_cli: Any) -> None:
    result = json.loads(
        probe_cli(
            *smtp_args(
                limited_smtp_server,
                "--connections",
                "6",
                "--send-test",
                "--from",
                "a@example.test",
                "--to",
                "b@example.test",
            )
        ).out
    )
    assert result["outcome"] == "throttled" and result["accepted"] == 4
    assert len(limited_smtp_server.mailbox.envelopes) == 1


def test_starttls_needs_the_ca(tls_smtp_server: Server, probe_cli: Any) -> None:
    failed = probe_cli(*smtp_args(tls_smtp_server, "--starttls"))
    assert failed.code == 3
    assert json.loads(failed.out)["outcome"] == "tls_failed"
    ok = probe_cli(*smtp_args(tls_smtp_server, "--starttls", "--ca-file", str(tls_smtp_server.cert)))
    result = json.loads(ok.out)
    assert ok.code == 0, ok.out
    starttls = next(s for s in result["steps"] if s["name"] == "starttls")
    assert starttls["detail"].startswith("220") and "TLSv1" in starttls["detail"]


def test_starttls_not_offered_is_tls_failed(smtp_server: Server, probe_cli: Any) -> None:
    result = json.loads(probe_cli(*smtp_args(smtp_server, "--starttls")).out)
    assert result["outcome"] == "tls_failed"
    assert "does not offer STARTTLS" in result["advice"]


def test_closed_port_is_unreachable(closed_port: int, probe_cli: Any) -> None:
    run = probe_cli("smtp", "--host", "127.0.0.1", "--port", str(closed_port), "--format", "json")
    assert run.code == 3
    assert json.loads(run.out)["outcome"] == "unreachable"
