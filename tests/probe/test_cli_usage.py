"""Usage errors: one line, exit 1, and nothing sent anywhere."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["imap", "--host", "127.0.0.1", "--user", "u", "--password-env", "P", "--connections", "65"],
            "--connections 65 is above the cap of 64; raise it with --max-connections 65",
        ),
        (
            ["smtp", "--host", "127.0.0.1", "--connections", "10", "--max-connections", "5"],
            "--connections 10 is above the cap of 5",
        ),
        (["imap", "--host", "127.0.0.1", "--connections", "0"], "--connections 0: must be 1 or more"),
        (["imap", "--host", "127.0.0.1", "--connections", "2"], "--connections above 1 needs --user"),
        (["imap", "--host", "127.0.0.1", "--tls", "--starttls"], "--tls and --starttls exclude each other"),
        (
            ["imap", "--host", "127.0.0.1", "--user", "u", "--password-env", "UCCX_UNSET_VARIABLE"],
            "--password-env UCCX_UNSET_VARIABLE: that environment variable is not set",
        ),
        (["imap", "--host", "127.0.0.1", "--timeout", "0"], "--timeout 0: must be more than 0 seconds"),
        (["smtp", "--host", "127.0.0.1", "--send-test"], "--send-test needs --from ADDRESS and --to ADDRESS"),
        (
            ["imap", "--host", "127.0.0.1", "--starttls", "--ca-file", "/nonexistent/ca.pem"],
            "--ca-file /nonexistent/ca.pem: no such file",
        ),
    ],
)
def test_usage_error_is_one_line_exit_1(probe_cli: Any, argv: list[str], message: str) -> None:
    run = probe_cli(*argv)
    assert run.code == 1
    assert run.out == ""
    assert run.err.count("\n") == 1
    assert run.err.startswith("uccx-compliance: error: ")
    assert message in run.err


def test_user_without_password_source_and_no_terminal(probe_cli: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    run = probe_cli("imap", "--host", "127.0.0.1", "--user", "u")
    assert run.code == 1
    assert "--user needs --password-env VAR" in run.err
