"""The lab's NTLM acceptor: who gets in, and what it leaves in the process environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
import spnego
from pypsrp.exceptions import AuthenticationError
from pypsrp.powershell import RunspacePool
from pypsrp.wsman import WSMan

from compliance.lab import LAB_USER, Lab
from compliance.lab.auth import AuthenticationFailed, AuthSession, UserFile
from compliance.lab.ntlm_hash import md4, nt_hash
from tests.lab.conftest import run

ENV = "NTLM_USER_FILE"
SCENARIO = "exchange2010-sp3-defaults"


@pytest.fixture(autouse=True)
def _no_user_file_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)


# RFC 1320 appendix A.5, and the NT hash of "password" every NTLM tool agrees on.
@pytest.mark.parametrize(
    ("data", "digest"),
    [
        (b"", "31d6cfe0d16ae931b73c59d7e0c089c0"),
        (b"a", "bde52cb31de33e46245e05fbdbd6fb24"),
        (b"abc", "a448017aaf21d8525fc10ae87aa6729d"),
        (b"message digest", "d9130a8164549fe818874806e1c7014b"),
        (b"abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"),
        (b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "043f8582f241db351ce627e153e7f0e4"),
        (b"1234567890" * 8, "e33b4ddc9c38f2199c3e7b164fcc0536"),
    ],
)
def test_md4_matches_rfc_1320(data: bytes, digest: str) -> None:
    assert md4(data).hex() == digest


def test_nt_hash_is_md4_of_the_utf16_password() -> None:
    assert nt_hash("password").hex() == "8846f7eaee8fb117ad06bdd830b7586c"
    assert nt_hash("") == md4(b"")


def test_the_user_file_holds_the_hash_not_the_password() -> None:
    users = UserFile([LAB_USER, "LAB\\uccx-audit"], "s3cret-lab-password")
    try:
        text = users.path.read_text(encoding="utf-8")
        assert "s3cret" not in text
        assert text.count(nt_hash("s3cret-lab-password").hex().upper()) == 2
        assert users.path.stat().st_mode & 0o077 == 0
    finally:
        users.close()
    assert not users.path.exists()


def _exchange_servers(lab: Lab, password: str) -> list[str]:
    """Log on with pypsrp as the inventory does (``auth: ntlm``, raw NTLM tokens) and read."""
    client = WSMan(
        "127.0.0.1", port=lab.port, path="PowerShell/", ssl=False, auth="ntlm", username=LAB_USER, password=password
    )
    with RunspacePool(client, configuration_name="Microsoft.Exchange") as pool:
        return [str(o) for o in run(pool, "Get-ExchangeServer").output]


@pytest.mark.server
def test_two_labs_with_different_passwords_in_one_process_both_authenticate() -> None:
    with (
        Lab(scenario=SCENARIO, port=0, password="first-lab-password") as first,
        Lab(scenario=SCENARIO, port=0, password="second-lab-password") as second,
    ):
        jobs = [(first, "first-lab-password"), (second, "second-lab-password")] * 3
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:  # handshakes of both labs at once
            results = list(pool.map(lambda job: _exchange_servers(*job), jobs))
        assert results == [["EX01"]] * len(jobs)
        # Each lab knows only its own password.
        with pytest.raises(AuthenticationError):
            _exchange_servers(first, "second-lab-password")
        with pytest.raises(AuthenticationError):
            _exchange_servers(second, "first-lab-password")
    assert not os.environ.get(ENV)


@pytest.mark.server
def test_a_wrong_password_is_refused_and_the_right_one_still_works() -> None:
    with Lab(scenario=SCENARIO, port=0, password="right-password") as lab:
        with pytest.raises(AuthenticationError):
            _exchange_servers(lab, "wrong-password")
        assert _exchange_servers(lab, "right-password") == ["EX01"]


@pytest.mark.server
def test_a_handshake_leaves_no_user_file_in_the_environment() -> None:
    assert not os.environ.get(ENV)
    with Lab(scenario=SCENARIO, port=0, password="env-lab-password") as lab:
        assert not os.environ.get(ENV)
        assert _exchange_servers(lab, "env-lab-password") == ["EX01"]
        assert not os.environ.get(ENV)
    assert not os.environ.get(ENV)


@pytest.mark.parametrize("protocol", ["ntlm", "negotiate"])
def test_a_handshake_never_deletes_an_environment_variable(protocol: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A deletion races with a thread iterating os.environ (requests does, for its proxy variables,
    on every request a client in the same process sends): that thread gets a KeyError. A CI run
    failed so, a plan's internal error ``KeyError: 'NTLM_USER_FILE'``, while the lab served another."""

    def refuse(environ: object, name: str) -> None:
        raise AssertionError(f"{name} deleted from os.environ")

    users = UserFile([LAB_USER], "kept-keys-password")
    try:
        monkeypatch.setattr(type(os.environ), "__delitem__", refuse)
        _handshake(AuthSession(users), "kept-keys-password", protocol)
        _handshake(AuthSession(users), "kept-keys-password", protocol)  # a second, with the key now present
    finally:
        monkeypatch.undo()
        users.close()
    assert os.environ.get(ENV) == ""


def test_a_user_file_the_process_already_names_is_put_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "/somewhere/else")
    users = UserFile([LAB_USER], "kept-password")
    try:
        _handshake(AuthSession(users), "kept-password", "ntlm")
    finally:
        users.close()
    assert os.environ[ENV] == "/somewhere/else"


@contextmanager
def _recorded_windows(users: UserFile, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Record each time the user file is put in the environment, and what the environment was then."""
    windows: list[str] = []
    original = users.active

    @contextmanager
    def active() -> Iterator[None]:
        with original():
            windows.append(os.environ[ENV])
            yield

    monkeypatch.setattr(users, "active", active)
    yield windows


def _handshake(session: AuthSession, password: str, protocol: str, between: list[bool] | None = None) -> None:
    client = spnego.client(LAB_USER, password, hostname="127.0.0.1", service="HTTP", protocol=protocol)
    token = client.step()
    while not session.complete:
        assert token is not None
        reply = session.step(token)
        if between is not None:
            between.append(bool(os.environ.get(ENV)))
        token = client.step(reply) if reply else None
    assert client.complete


@pytest.mark.parametrize("protocol", ["ntlm", "negotiate"])
def test_the_user_file_is_in_the_environment_only_for_the_calls_that_read_it(
    protocol: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = UserFile([LAB_USER], "window-password")
    try:
        with _recorded_windows(users, monkeypatch) as windows:
            between: list[bool] = []
            _handshake(AuthSession(users), "window-password", protocol, between)
        # Two windows per handshake: creating the NTLM acceptor, and checking the AUTHENTICATE
        # message. Answering NEGOTIATE with a CHALLENGE needs no credential (raw NTLM), and after
        # every step the environment is as it was.
        assert windows == [str(users.path), str(users.path)]
        assert between == [False, False]
    finally:
        users.close()
    assert not os.environ.get(ENV)


@pytest.mark.parametrize("protocol", ["ntlm", "negotiate"])
def test_a_wrong_password_fails_the_session_step(protocol: str) -> None:
    users = UserFile([LAB_USER], "session-password")
    try:
        with pytest.raises(AuthenticationFailed):
            _handshake(AuthSession(users), "not-the-session-password", protocol)
        session = AuthSession(users)
        _handshake(session, "session-password", protocol)
        assert session.complete
    finally:
        users.close()
    assert not os.environ.get(ENV)
