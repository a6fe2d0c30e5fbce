"""Kerberos through the CLI against the lab and a real MIT KDC: a keytab-only scheduled run, and
one line per Kerberos failure, each saying what to check (docs/remoting.md, "Kerberos error lines").

The failures are produced for real: an unknown principal and a wrong password are refused by the
KDC's AS exchange, a wrong SPN by its TGS exchange, clock skew by a second KDC whose clock runs an
hour ahead (libfaketime), an expired ticket by a cache whose ticket lived two seconds.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from compliance.lab import Lab
from compliance.lab.inventory import PASSWORD_ENV
from compliance.lab.kdc import Kdc
from tests.lab_serve import lab_serve

pytestmark = pytest.mark.server

REPO = Path(__file__).resolve().parents[2]
CliRunner = Any  # tests/conftest.py's ``cli`` fixture

PASSWORD = "uccx-lab"


def kerberos_inventory(lab: Lab, folder: Path, **target: Any) -> Path:
    fields: dict[str, Any] = {"auth": "kerberos", "username": "uccx-audit@LAB.LOCAL", "password_env": PASSWORD_ENV}
    fields.update(target)
    return lab.write_inventory(folder / "inventory.yaml", **fields)


def private_keytab(kdc: Kdc, folder: Path) -> Path:
    copy = folder / "uccx-audit.keytab"
    copy.write_bytes(kdc.user_keytab.read_bytes())
    copy.chmod(0o600)
    return copy


def test_a_keytab_only_scheduled_run_audits_the_lab_and_leaves_no_ticket_behind(
    kerberos_lab: Lab, kerberos: Kdc, tmp_path: Path
) -> None:
    home, scratch = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    scratch.mkdir()
    # The machine's default cache, if the tool used one, would be this file.
    default_cache = tmp_path / "krb5cc_default"
    conf = tmp_path / "krb5.conf"
    conf.write_text(
        kerberos.krb5_conf.read_text().replace("MEMORY:uccx-default", f"FILE:{default_cache}"), encoding="utf-8"
    )
    keytab = private_keytab(kerberos, tmp_path)
    # Written beside the inventory, as an administrator does; the job starts in another folder.
    inventory = kerberos_inventory(kerberos_lab, tmp_path, password_env=None, keytab=keytab.name)
    # What cron gives a job: a PATH and a HOME, which is its working directory. No password, no
    # KRB5CCNAME, no terminal.
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "TMPDIR": str(scratch),
        "KRB5_CONFIG": str(conf),
        "UCCX_COMPLIANCE_STATE_DIR": str(tmp_path / "state"),
        "PYTHONPATH": str(REPO),
    }
    assert PASSWORD not in "".join(env.values())
    done = subprocess.run(
        [sys.executable, "-m", "compliance", "plan", "--inventory", str(inventory), "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        cwd=home,
    )
    assert done.returncode == 2, done.stderr  # drift: the lab is at factory defaults
    plan = json.loads(done.stdout)
    assert plan["summary"]["unreadable"] == 0
    assert plan["summary"]["drift"] == 22
    assert kerberos_lab.logons["kerberos"] >= 2 and "ntlm" not in kerberos_lab.logons
    assert (
        "AS_REQ" in kerberos.log_text() and "uccx-audit@LAB.LOCAL for krbtgt/LAB.LOCAL@LAB.LOCAL" in kerberos.log_text()
    )
    # The ticket lived in the process's memory only.
    assert not default_cache.exists()
    assert list(home.iterdir()) == [] and list(scratch.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["home", "tmp", "krb5.conf", "uccx-audit.keytab", "inventory.yaml"]
    )


def test_a_kerberos_plan_equals_the_ntlm_plan(
    kerberos_lab: Lab, kerberos: Kdc, tmp_path: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    ntlm = cli("plan", "--inventory", kerberos_lab.write_inventory(tmp_path / "ntlm.yaml"), "--format", "json")
    keytab = private_keytab(kerberos, tmp_path)
    inventory = kerberos_inventory(kerberos_lab, tmp_path, password_env=None, keytab=str(keytab))
    krb = cli("plan", "--inventory", inventory, "--format", "json")
    assert (ntlm.code, krb.code) == (2, 2), krb.err
    assert kerberos_lab.logons["kerberos"] >= 2 and kerberos_lab.logons["ntlm"] >= 2
    assert _without_timing(json.loads(ntlm.out)) == _without_timing(json.loads(krb.out))


def _without_timing(plan: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in plan.items() if k not in ("generated_at", "duration_s", "collected_at")}


# --- one line per Kerberos failure --------------------------------------------------------------


def _plan_fails(cli: CliRunner, inventory: Path) -> str:
    """The plan is incomplete (exit 3) and every unreadable fact gives the same Kerberos cause."""
    result = cli("plan", "--inventory", inventory)
    assert result.code == 3, result.out + result.err
    causes = set(re.findall(r"Kerberos \(kerberos\): (.*?)(?:\s{2,}\[|$)", result.out + result.err, re.M))
    cause = min(causes, key=len)  # some lines quote it inside a parenthesis of their own
    assert all(c.startswith(cause) for c in causes), causes
    assert "Plan: 0 to change, 0 finding(s), 0 compliant" in result.out
    return str(cause)


def test_an_unknown_user_names_the_upn_form(
    kerberos_lab: Lab, tmp_path: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    line = _plan_fails(cli, kerberos_inventory(kerberos_lab, tmp_path, username="nobody@LAB.LOCAL"))
    assert "the KDC does not know the user nobody@LAB.LOCAL" in line and "UPN form user@REALM" in line
    assert kerberos_lab.requests == {}  # refused by the KDC before the first request to the server


def test_a_wrong_password_names_the_password_and_the_keytab_version(
    kerberos_lab: Lab, tmp_path: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "not-the-password")
    line = _plan_fails(cli, kerberos_inventory(kerberos_lab, tmp_path))
    assert "refused the password or keytab key of uccx-audit@LAB.LOCAL" in line and "kvno" in line
    assert kerberos_lab.requests == {}


def test_a_wrong_spn_names_the_fqdn_and_setspn(
    kerberos_lab: Lab, tmp_path: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The KDC holds HTTP/127.0.0.1 only; a URL naming "localhost" asks for HTTP/localhost.
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    inventory = kerberos_inventory(kerberos_lab, tmp_path)
    inventory.write_text(inventory.read_text().replace("127.0.0.1", "localhost"), encoding="utf-8")
    line = _plan_fails(cli, inventory)
    assert "the KDC has no service principal HTTP/localhost" in line and "setspn -Q HTTP/localhost" in line


def test_clock_skew_names_ntp(
    kerberos_lab: Lab, skewed_kdc: Kdc, tmp_path: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KRB5_CONFIG", str(skewed_kdc.krb5_conf))  # this KDC's clock runs an hour ahead
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    line = _plan_fails(cli, kerberos_inventory(kerberos_lab, tmp_path))
    assert "clocks of this machine and the KDC differ" in line and "NTP" in line


def test_an_expired_ticket_names_kinit_and_the_keytab(
    kerberos_lab: Lab, kerberos: Kdc, tmp_path: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    import krb5

    cache = f"FILE:{tmp_path / 'krb5cc_short'}"
    ctx = krb5.init_context()
    principal = krb5.parse_name_flags(ctx, kerberos.user_principal.encode())
    options = krb5.get_init_creds_opt_alloc(ctx)
    krb5.get_init_creds_opt_set_tkt_life(options, 2)
    creds = krb5.get_init_creds_password(ctx, principal, options, password=PASSWORD.encode())
    ccache = krb5.cc_resolve(ctx, cache.encode())
    krb5.cc_initialize(ctx, ccache, principal)
    krb5.cc_store_cred(ctx, ccache, creds)
    time.sleep(3)  # the ticket lived 2 s
    monkeypatch.setenv("KRB5CCNAME", cache)
    line = _plan_fails(cli, kerberos_inventory(kerberos_lab, tmp_path, username=None, password_env=None))
    assert f"the Kerberos ticket in {cache} has expired" in line and "kinit -kt" in line and "keytab:" in line


def test_no_ticket_at_all_names_kinit_keytab_and_password_env(
    kerberos_lab: Lab, tmp_path: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = f"FILE:{tmp_path / 'no-such-cache'}"
    monkeypatch.setenv("KRB5CCNAME", cache)
    line = _plan_fails(cli, kerberos_inventory(kerberos_lab, tmp_path, username=None, password_env=None))
    assert f"no Kerberos ticket (nothing in {cache})" in line and "kinit" in line and "keytab:" in line


def test_an_unreachable_kdc_names_krb5_conf_and_port_88(
    kerberos_lab: Lab, kerberos: Kdc, tmp_path: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "krb5.conf"
    conf.write_text(
        kerberos.krb5_conf.read_text().replace(f"127.0.0.1:{kerberos.port}", "127.0.0.1:9"), encoding="utf-8"
    )  # the discard port: nothing listens
    monkeypatch.setenv("KRB5_CONFIG", str(conf))
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    line = _plan_fails(cli, kerberos_inventory(kerberos_lab, tmp_path))
    assert "no KDC of the realm answered" in line and "port 88" in line


def test_the_lines_differ_for_each_cause() -> None:
    from compliance.remoting import kerberos as k

    lines = {
        k.describe_kerberos(_Krb5Error(code), "http://ex01/PowerShell/", username="u@R", auth="kerberos")
        for code in (
            k.KDC_ERR_C_PRINCIPAL_UNKNOWN,
            k.KDC_ERR_S_PRINCIPAL_UNKNOWN,
            k.KDC_ERR_PREAUTH_FAILED,
            k.KRB_AP_ERR_TKT_EXPIRED,
            k.KRB_AP_ERR_SKEW,
            k.KRB5_KDC_UNREACH,
            k.KRB5_REALM_UNKNOWN,
            k.KRB5_KT_NOTFOUND,
            k.KRB5_FCC_NOFILE,
        )
    }
    assert None not in lines and len(lines) == 9


class _Krb5Error(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(f"error {code}")
        self.err_code = code


# --- the keytab file ------------------------------------------------------------------------------


def test_a_keytab_others_can_read_is_refused_before_any_connection(
    kerberos_lab: Lab, kerberos: Kdc, tmp_path: Path, cli: CliRunner
) -> None:
    keytab = private_keytab(kerberos, tmp_path)
    keytab.chmod(0o644)
    result = cli(
        "plan", "--inventory", kerberos_inventory(kerberos_lab, tmp_path, password_env=None, keytab=str(keytab))
    )
    assert result.code == 1
    assert re.search(
        rf"inventory\.yaml:\d+:\d+: targets\[0\]\.keytab: {re.escape(str(keytab))} "
        r"can be read by other users \(mode 0644\)",
        result.err,
    )
    assert "chmod 600" in result.err
    assert kerberos_lab.requests == {}


def test_a_missing_keytab_is_one_line_exit_1(kerberos_lab: Lab, tmp_path: Path, cli: CliRunner) -> None:
    missing = tmp_path / "gone.keytab"
    result = cli(
        "plan", "--inventory", kerberos_inventory(kerberos_lab, tmp_path, password_env=None, keytab=str(missing))
    )
    assert result.code == 1
    assert re.search(
        rf"inventory\.yaml:\d+:\d+: targets\[0\]\.keytab: {re.escape(str(missing))}: no such file$",
        result.err.strip().splitlines()[-1],
    )
    assert kerberos_lab.requests == {}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"keytab": "/k.keytab"}, "give either a keytab or a password"),
        ({"keytab": "/k.keytab", "password_env": None, "auth": "ntlm"}, "a keytab is a Kerberos credential"),
    ],
)
def test_a_keytab_with_a_password_or_ntlm_is_refused_at_its_line(
    tmp_path: Path, cli: CliRunner, fields: dict[str, object], message: str
) -> None:
    with Lab() as lab:
        inventory = kerberos_inventory(lab, tmp_path, **fields)
    result = cli("plan", "--inventory", inventory)
    assert result.code == 1
    line = result.err.strip().splitlines()[-1]
    assert line.startswith(f"uccx-compliance: error: {inventory}:") and "targets[0].keytab: " in line
    assert message in line


def test_a_debug_kerberos_run_logs_no_ticket_token_or_key(kerberos_lab: Lab, kerberos: Kdc, tmp_path: Path) -> None:
    import base64

    keytab = private_keytab(kerberos, tmp_path)
    inventory = kerberos_inventory(kerberos_lab, tmp_path, password_env=None, keytab=str(keytab))
    env = {**os.environ, "KRB5_CONFIG": str(kerberos.krb5_conf), "PYTHONPATH": str(REPO)}
    env.pop(PASSWORD_ENV, None)
    done = subprocess.run(
        [sys.executable, "-m", "compliance", "--debug", "plan", "--inventory", str(inventory)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    log = done.stderr
    # Not vacuous: the exchange was logged, its tokens as [redacted].
    assert log.count("DEBUG pypsrp.wsman: ") > 20 and "[redacted]" in log
    raw = keytab.read_bytes()
    for form in (
        base64.b64encode(raw[:48]).decode()[:40],
        raw[16:48].hex(),
        "Authorization: Negotiate",
        "Authorization: Kerberos",
        "--Encrypted Boundary",
    ):
        assert form not in log, form
    # No Kerberos token (AP-REQ "YII...", AP-REP "oYG...") of a realistic length survives.
    assert not re.search(r"\b(YII|oYG|oRs)[A-Za-z0-9+/]{60,}", log)


def test_a_ticket_the_server_cannot_read_names_its_keys_and_setspn(
    kerberos: Kdc, tmp_path: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The KDC issues a ticket for HTTP/127.0.0.1, but this lab has no keytab: as a server whose keys
    # for the SPN are stale, it answers 401.
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    with Lab() as lab:
        result = cli("plan", "--inventory", kerberos_inventory(lab, tmp_path))
        assert lab.logons == {}
    assert result.code == 3
    assert "authentication failed for uccx-audit@LAB.LOCAL with kerberos; the server refused a ticket" in result.out
    assert "setspn -X" in result.out


def test_an_existing_ticket_cache_audits_without_user_or_password(
    kerberos_lab: Lab, kerberos: Kdc, tmp_path: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The kinit -kt route of docs/remoting.md: the job fills a cache of its own, the tool reads it.
    import krb5

    cache = f"FILE:{tmp_path / 'krb5cc_job'}"
    ctx = krb5.init_context()
    principal = krb5.parse_name_flags(ctx, kerberos.user_principal.encode())
    keytab = krb5.kt_resolve(ctx, f"FILE:{private_keytab(kerberos, tmp_path)}".encode())
    creds = krb5.get_init_creds_keytab(ctx, principal, krb5.get_init_creds_opt_alloc(ctx), keytab=keytab)
    ccache = krb5.cc_resolve(ctx, cache.encode())
    krb5.cc_initialize(ctx, ccache, principal)
    krb5.cc_store_cred(ctx, ccache, creds)
    monkeypatch.setenv("KRB5CCNAME", cache)
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    result = cli("plan", "--inventory", kerberos_inventory(kerberos_lab, tmp_path, username=None, password_env=None))
    assert result.code == 2, result.out + result.err
    assert "0 unreadable" in result.out
    assert set(kerberos_lab.logons) == {"kerberos"}


def test_lab_serve_kerberos_runs_a_kdc_whose_keytab_inventory_audits(
    kerberos: Kdc, tmp_path: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = tmp_path / "inventory.yaml"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with lab_serve("--kerberos", "--write-inventory", str(written), env=env) as lab:
        [export] = [s for s in lab.said if "export KRB5_CONFIG=" in s]
        conf = Path(export.split("export KRB5_CONFIG=", 1)[1].strip())
        monkeypatch.setenv("KRB5_CONFIG", str(conf))
        monkeypatch.delenv(PASSWORD_ENV, raising=False)
        result = cli("plan", "--inventory", written)
    assert result.code == 2, result.out + result.err
    assert "0 unreadable" in result.out
    import yaml

    target = yaml.safe_load(written.read_text())["targets"][0]
    assert target["auth"] == "kerberos" and "password_env" not in target and target["keytab"].endswith(".keytab")
    assert lab.returncode == 0 and "lab stopped" in lab.out, lab.err
    assert not conf.parent.exists()  # the KDC's folder, keytabs included, went with it


def test_a_missing_ca_file_stops_the_run_before_the_kdc_is_asked(
    kerberos_lab: Lab, kerberos: Kdc, tmp_path: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inventory's files are checked first: a missing one is exit 1 with its location, and
    neither the KDC nor the server hears anything (the ticket used to come first)."""
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    before = kerberos.log_text()
    result = cli("plan", "--inventory", kerberos_inventory(kerberos_lab, tmp_path, ca_file="pki/no-such-ca.crt"))
    assert result.code == 1, result.out + result.err
    assert re.search(
        r"inventory\.yaml:\d+:\d+: targets\[0\]\.ca_file: .*/pki/no-such-ca\.crt: no such file", result.err
    )
    assert kerberos.log_text() == before
    assert kerberos_lab.requests == {}
