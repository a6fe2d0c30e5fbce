"""The operations examples (docs/operations.md): they parse, and say what the docs say they say."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CRONJOB = REPO / "examples" / "kubernetes" / "cronjob.yaml"
UPGRADE = REPO / "examples" / "github" / "uccx-upgrade-gate.yml"
CI = REPO / ".github" / "workflows" / "ci.yml"
SYSTEMD = REPO / "examples" / "systemd"


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_the_cronjob_is_forbid_nonroot_and_read_only() -> None:
    cronjob, claim = yaml.safe_load_all(CRONJOB.read_text(encoding="utf-8"))
    assert (cronjob["kind"], claim["kind"]) == ("CronJob", "PersistentVolumeClaim")
    spec = cronjob["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    [container] = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["args"][0] == "audit"
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert set(mounts) == set(volumes)
    assert volumes["keytab"]["secret"]["secretName"] and volumes["config"]["configMap"]["name"]
    assert volumes["state"]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    # A mount inside the read-only configMap mount would need a folder kubelet cannot create there.
    paths = sorted(mounts.values())
    assert not any(b.startswith(a + "/") for a in paths for b in paths if a != b)
    history = next(a for a in container["args"] if a.startswith("--history="))
    assert history.removeprefix("--history=").startswith(mounts["state"] + "/")


def test_the_upgrade_example_gates_the_upgrade() -> None:
    workflow = _load(UPGRADE)
    jobs = workflow["jobs"]
    assert jobs["upgrade"]["needs"] == "compliance-gate"
    [gate] = [s for s in jobs["compliance-gate"]["steps"] if "uccx-gate" in s.get("uses", "")]
    assert gate["uses"].endswith("/.github/actions/uccx-gate@v1")
    assert gate["with"]["waivers"] and gate["with"]["inventory"]
    assert all(v.startswith("${{ secrets.") for v in gate["env"].values())  # the password only from secrets


def test_the_ci_workflow_runs_the_gate_against_the_lab_both_ways() -> None:
    jobs = _load(CI)["jobs"]
    assert any(s.get("run") == "bash .ci/run" for s in jobs["ci"]["steps"])
    steps = jobs["gate"]["steps"]
    gates = {s["id"]: s for s in steps if s.get("uses") == "./.github/actions/uccx-gate"}
    assert set(gates) == {"drift", "compliant"}
    assert gates["drift"].get("continue-on-error") is True and "continue-on-error" not in gates["compliant"]
    checks = "\n".join(s.get("run", "") for s in steps)
    assert '[ "$OUTCOME" = failure ]' in checks and '[ "$CODE" = 2 ]' in checks and '[ "$CODE" = 0 ]' in checks
    assert "lab serve --write-inventory lab.yaml" in checks


def test_the_systemd_units_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        if os.environ.get("CI"):
            pytest.fail("CI must verify the systemd units: systemd-analyze (Debian's systemd package) is missing")
        pytest.skip("systemd-analyze is not installed (Debian's systemd package)")
    # verify checks that ExecStart's program exists; the tool is not installed at that path here.
    for unit in SYSTEMD.iterdir():
        text = unit.read_text(encoding="utf-8").replace("/usr/local/bin/uccx-compliance", shutil.which("true") or "")
        (tmp_path / unit.name).write_text(text, encoding="utf-8")
    units = sorted(str(p) for p in tmp_path.iterdir())
    assert len(units) == 2
    checked = subprocess.run([analyze, "verify", *units], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0 and not checked.stderr.strip(), checked.stderr
    service = (SYSTEMD / "uccx-compliance-audit.service").read_text(encoding="utf-8")
    for line in ("ProtectSystem=strict", "PrivateTmp=yes", "NoNewPrivileges=yes", "StateDirectory=", "User="):
        assert line in service
    assert "LoadCredential=audit.keytab:" in service
