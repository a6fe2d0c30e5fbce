"""The inventory: what is accepted, and the one-line errors for what is not."""

from __future__ import annotations

from pathlib import Path

import pytest

from compliance.errors import InputError
from compliance.inventory import load_inventory

VALID = """\
apiVersion: uccx-compliance/v1
kind: Inventory
targets:
  - name: lab
    exchange_endpoint: http://ex01.lab.local/PowerShell/
    username: uccx-audit@lab.local
    password_env: UCCX_TEST_PASSWORD
    baseline: site.yaml
    vars: {uccx_mailbox: uccx}
    servers:
      - name: EX01
        roles: [Mailbox, ClientAccess, HubTransport]
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "site.yaml").write_text("# a baseline\n", encoding="utf-8")
    path = tmp_path / "inventory.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_inventory_gets_defaults_and_resolves_the_baseline(tmp_path: Path) -> None:
    target = load_inventory(write(tmp_path, VALID)).targets[0]
    assert target.auth == "kerberos"
    assert target.configuration == "Microsoft.Exchange"
    assert target.cert_validation is True
    assert (target.timeouts.connection, target.timeouts.read, target.timeouts.operation) == (30, 60, 20)
    assert target.baseline_path == (tmp_path / "site.yaml").resolve()
    assert target.servers[0].host_url == "http://EX01:5985/wsman"
    assert target.server("ex01") is target.servers[0]


def test_a_literal_password_is_refused_with_what_to_do_instead(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("    password_env: UCCX_TEST_PASSWORD\n", "    password: hunter2\n"))
    with pytest.raises(InputError) as caught:
        load_inventory(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:7:5: targets[0].password: ")
    assert "password_env" in message and "prompted" in message
    assert "hunter2" not in message


def test_a_misspelt_key_names_file_line_column_and_the_right_key(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("    username:", "    usernme:"))
    with pytest.raises(InputError) as caught:
        load_inventory(path)
    assert str(caught.value) == f"{path}:6:5: targets[0].usernme: unknown key 'usernme' (did you mean 'username'?)"


def test_an_unknown_baseline_name_is_an_input_error(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("baseline: site.yaml", "baseline: no-such-baseline"))
    with pytest.raises(InputError, match=r"targets\[0\]\.baseline: no shipped baseline named 'no-such-baseline'"):
        load_inventory(path)


def test_password_env_missing_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UCCX_TEST_PASSWORD", raising=False)
    target = load_inventory(write(tmp_path, VALID)).targets[0]
    with pytest.raises(InputError, match="UCCX_TEST_PASSWORD"):
        target.password()
    monkeypatch.setenv("UCCX_TEST_PASSWORD", "from-env")
    assert target.password() == "from-env"


def test_no_password_source_and_no_terminal_is_an_input_error(tmp_path: Path) -> None:
    target = load_inventory(write(tmp_path, VALID.replace("    password_env: UCCX_TEST_PASSWORD\n", ""))).targets[0]
    # pytest's stdin is not a terminal, so there is nobody to prompt.
    with pytest.raises(InputError, match="set password_env"):
        target.password()


def test_basic_auth_over_plain_http_is_refused_unless_allowed(tmp_path: Path) -> None:
    from compliance.facts.collection import CollectionRequest
    from compliance.remoting.collect import collect

    target = load_inventory(write(tmp_path, VALID.replace("    username:", "    auth: basic\n    username:"))).targets[
        0
    ]
    with pytest.raises(InputError, match=r"basic authentication over plain http:// .* --allow-insecure-transport"):
        collect(target, CollectionRequest(uccx_mailbox="uccx"), password="x")


def test_target_vars_may_be_lists_and_reach_the_baseline(tmp_path: Path) -> None:
    from compliance import resources
    from compliance.pipeline import target_baseline

    text = VALID.replace(
        "vars: {uccx_mailbox: uccx}", "vars: {uccx_mailbox: uccx-mail, receive_connectors: ['EX01\\Client *']}"
    )
    target = load_inventory(write(tmp_path, text)).targets[0]
    loaded = target_baseline(target, {"agents": 50}, resources.shipped_baseline("uccx-exchange2010-sp1"))
    rules = loaded.baseline.rules
    assert rules.receive_connectors is not None and rules.mailbox_policy is not None
    assert rules.receive_connectors.selector.identity == ["EX01\\Client *"]
    assert rules.mailbox_policy.mailbox == "uccx-mail"
    assert loaded.vars["agents"] == 50


def test_a_prompted_password_is_asked_once_per_target_and_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass
    import sys

    asked: list[str] = []

    def typed(prompt: str) -> str:
        asked.append(prompt)
        return "typed-secret"

    monkeypatch.setattr(getpass, "getpass", typed)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    text = VALID.replace("    password_env: UCCX_TEST_PASSWORD\n", "").replace("name: lab", "name: prompted-lab")
    path = write(tmp_path, text)
    first = load_inventory(path).targets[0].password()
    again = load_inventory(path).targets[0].password()  # apply --inventory loads it a second time
    assert first == again == "typed-secret"
    assert len(asked) == 1 and "typed-secret" not in asked[0]


def test_a_target_var_the_baseline_refuses_is_located_in_the_inventory(tmp_path: Path) -> None:
    from compliance import resources
    from compliance.pipeline import target_baseline

    text = VALID.replace("vars: {uccx_mailbox: uccx}", "vars:\n      uccx_mailbox: uccx\n      agents: -5")
    path = write(tmp_path, text)
    target = load_inventory(path).targets[0]
    sp1 = resources.shipped_baseline("uccx-exchange2010-sp1")
    with pytest.raises(InputError) as refused:
        target_baseline(target, {}, sp1)
    assert str(refused.value) == f"{path}:11:7: targets[0].vars.agents: -5 is below the minimum 0"
    # A --var given for it replaces the inventory's value, so the error is the --var's own.
    with pytest.raises(InputError) as overridden:
        target_baseline(target, {"agents": -6}, sp1)
    assert str(overridden.value) == "--var agents:1:1: agents: -6 is below the minimum 0"


def keytab_inventory(keytab: str, ca_file: str) -> str:
    """VALID over HTTPS with a keytab instead of a password (``keytab:`` on line 7, ``ca_file:`` on 8)."""
    fields = f"    keytab: {keytab}\n    ca_file: {ca_file}\n"
    return VALID.replace("http://", "https://").replace("    password_env: UCCX_TEST_PASSWORD\n", fields)


def test_file_fields_are_read_from_the_inventory_folder_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scheduled run starts elsewhere (cron in $HOME, systemd in /): ``keytab: audit.keytab``
    must still name the file beside the inventory, as ``baseline:`` does."""
    folder = tmp_path / "etc"
    folder.mkdir()
    path = write(folder, keytab_inventory("audit.keytab", "pki/ca.crt"))
    monkeypatch.chdir(tmp_path)
    target = load_inventory(path.relative_to(tmp_path)).targets[0]
    assert target.keytab == folder / "audit.keytab"
    assert target.ca_file == folder / "pki" / "ca.crt"
    assert target.keytab.is_absolute() and target.ca_file.is_absolute()
    # Where each is written, for the errors found when the file is opened.
    assert target.located("keytab") == "etc/inventory.yaml:7:5: targets[0].keytab"
    assert target.located("ca_file") == "etc/inventory.yaml:8:5: targets[0].ca_file"
    assert target.baseline_path == (folder / "site.yaml").resolve()


def test_absolute_and_home_relative_file_fields_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = write(tmp_path, keytab_inventory("~/audit.keytab", "/etc/pki/ca.crt"))
    target = load_inventory(path).targets[0]
    assert target.keytab == tmp_path / "home" / "audit.keytab"
    assert target.ca_file == Path("/etc/pki/ca.crt")
