"""Inventory URLs never carry, and errors never echo, a password; names are unique per inventory."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.cli import main
from compliance.errors import InputError
from compliance.inventory import load_inventory, shown_url

SECRET = "hunter2-Sup3r"


def document(**target: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "site-a",
        "exchange_endpoint": "http://ex01.lab.local/PowerShell/",
        "username": "uccx-audit@lab.local",
        "password_env": "UCCX_TEST_PASSWORD",
        "baseline": "uccx-exchange2010-sp1",
        "servers": [{"name": "EX01", "roles": ["Mailbox"]}],
    }
    return {"apiVersion": "uccx-compliance/v1", "kind": "Inventory", "targets": [base | target]}


def write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def where(path: Path, text: str) -> tuple[int, int]:
    """Line and column of the last line of the file containing ``text``: what the error should point at."""
    lines = path.read_text(encoding="utf-8").splitlines()
    line = max(i for i, content in enumerate(lines, 1) if text in content)
    return line, lines[line - 1].index(text) + 1


def refusal(path: Path) -> str:
    with pytest.raises(InputError) as caught:
        load_inventory(path)
    return str(caught.value)


def test_userinfo_in_the_exchange_endpoint_is_refused_and_not_echoed(tmp_path: Path) -> None:
    path = write(tmp_path, document(exchange_endpoint=f"http://admin:{SECRET}@ex01/PowerShell/"))
    message = refusal(path)
    line, column = where(path, "exchange_endpoint:")
    assert message.startswith(
        f"{path}:{line}:{column}: targets[0].exchange_endpoint: a URL may not carry a user name or password"
    )
    assert "'http://***@ex01/PowerShell/'" in message
    assert SECRET not in message and "admin" not in message and "\n" not in message


def test_userinfo_in_a_host_endpoint_is_refused_and_not_echoed(tmp_path: Path) -> None:
    server = {"name": "EX01", "host_endpoint": f"https://{SECRET}@ex01:5986/wsman"}
    message = refusal(write(tmp_path, document(servers=[server])))
    assert "targets[0].servers[0].host_endpoint: a URL may not carry" in message
    assert SECRET not in message


def test_other_url_errors_never_echo_userinfo_either(tmp_path: Path) -> None:
    # Not http(s), and a netloc urlsplit itself rejects (its own message would quote it).
    for url in (f"ftp://u:{SECRET}@ex01/", f"u:{SECRET}@ex01", "http://ex01:99999/", "http://[::1/"):
        message = refusal(write(tmp_path, document(exchange_endpoint=url)))
        assert "targets[0].exchange_endpoint" in message and SECRET not in message


def test_the_cli_says_one_line_without_the_password(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, document(exchange_endpoint=f"http://admin:{SECRET}@ex01/PowerShell/"))
    assert main(["plan", "--inventory", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and SECRET not in err


def test_shown_url_hides_everything_before_the_last_at() -> None:
    assert shown_url("http://u:p@ss@host/x") == "http://***@host/x"
    assert shown_url("http://host/x") == "http://host/x"
    assert shown_url("u:p@host") == "***@host"


def test_two_targets_with_one_name_are_refused_at_the_second(tmp_path: Path) -> None:
    doc = document()
    doc["targets"].append(dict(doc["targets"][0], name="SITE-A"))
    path = write(tmp_path, doc)
    message = refusal(path)
    line, column = where(path, "name: SITE-A")
    assert message == (
        f"{path}:{line}:{column}: targets[1].name: 'SITE-A' is already the name of targets[0] "
        "(names are compared ignoring case)"
    )


def test_two_servers_with_one_name_in_a_target_are_refused_at_the_second(tmp_path: Path) -> None:
    path = write(tmp_path, document(servers=[{"name": "EX01"}, {"name": "EX02"}, {"name": "ex01"}]))
    message = refusal(path)
    line, column = where(path, "name: ex01")
    assert message.startswith(f"{path}:{line}:{column}: ")
    assert message.endswith(
        "targets[0].servers[2].name: 'ex01' is already the name of targets[0].servers[0] "
        "(names are compared ignoring case)"
    )


def test_the_same_server_name_in_two_targets_is_fine(tmp_path: Path) -> None:
    doc = document()
    doc["targets"].append(dict(doc["targets"][0], name="site-b"))
    assert len(load_inventory(write(tmp_path, doc)).targets) == 2


# -- hypothesis ---------------------------------------------------------------------------------

PASSWORDS = st.text(min_size=4, max_size=16).map(lambda s: "Pw" + s + "9z")
HOSTS = st.one_of(
    st.sampled_from(["ex01", "ex01.lab.local", "127.0.0.1", "[::1]", "éxchange.example", "ex01:5986", ""]),
    st.text(max_size=12),
)
SCHEMES = st.sampled_from(["http://", "https://", "ftp://", "HTTP://", "", "file:///", "http:/", "javascript:"])


@st.composite
def url_with_password(draw: st.DrawFn) -> tuple[str, str]:
    password = draw(PASSWORDS)
    user = draw(st.text(max_size=6))
    userinfo = draw(st.sampled_from([f"{user}:{password}@", f"{password}@", f":{password}@"]))
    return draw(SCHEMES) + userinfo + draw(HOSTS) + draw(
        st.sampled_from(["/PowerShell/", "/wsman", "", "/a@b"])
    ), password


def check(tmp: Path, doc: dict[str, Any], password: str | None) -> str:
    path = tmp / "inventory.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["plan", "--inventory", str(path)])  # refused while loading: nothing is contacted
    text = err.getvalue()
    assert code == 1, text
    assert text.count("\n") == 1 and text.startswith(f"uccx-compliance: error: {path}:"), text
    if password is not None:
        assert password not in text and repr(password)[1:-1] not in text
    return text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=url_with_password(), where=st.sampled_from(["exchange", "host"]))
def test_a_url_with_a_password_is_always_one_line_without_it(tmp_path: Path, case: tuple[str, str], where: str) -> None:
    url, password = case
    if where == "exchange":
        doc = document(exchange_endpoint=url)
    else:
        doc = document(servers=[{"name": "EX01", "host_endpoint": url}])
    check(tmp_path, doc, password)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    names=st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=4),
    data=st.data(),
    level=st.sampled_from(["targets", "servers"]),
)
def test_duplicate_names_are_one_located_line(
    tmp_path: Path, names: list[str], data: st.DataObject, level: str
) -> None:
    twin = data.draw(st.sampled_from(names))
    variant = data.draw(st.sampled_from([twin, twin.upper(), twin.lower()]))
    if variant.casefold() != twin.casefold():
        variant = twin  # case mapping that does not round-trip (e.g. 'ß'): use the name itself
    all_names = [*names, variant]
    if level == "targets":
        doc = document()
        doc["targets"] = [dict(doc["targets"][0], name=n) for n in all_names]
    else:
        doc = document(servers=[{"name": n} for n in all_names])
    text = check(tmp_path, doc, None)
    assert "is already the name of" in text and ".name: " in text
