"""Output that cannot be written: a closed pipe, a full disk, a path that is no regular file.

Each case runs the real CLI in a fresh interpreter and asserts one line on stderr, a non-zero exit
(1 for a bad ``--out``, 5 for lost stdout; docs/exit-codes.md), no traceback, and that whatever
stood at the path is left as it was. ``apply`` into a pipe that closes after one line runs against
the lab: the run finishes, and the audit log and the backup list every change of the plan.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from compliance import files
from compliance.apply.auditlog import AuditLog, AuditResult
from compliance.apply.saved_plan import write_saved_plan
from compliance.errors import InputError
from compliance.lab import Lab
from compliance.lab.inventory import PASSWORD_ENV
from compliance.pipeline import plan_inventory

REPO = Path(__file__).resolve().parents[2]
DEFAULTS = REPO / "examples" / "facts" / "exchange2010-sp3-defaults"
SP1 = REPO / "baselines" / "uccx-exchange2010-sp1.yaml"
PLAN = ["plan", "--baseline", str(SP1), "--facts", str(DEFAULTS)]
LOST = "uccx-compliance: error: cannot write to standard output ({}); the rest of the output was dropped\n"
PASSWORD = "hostile-output-password"


def run(
    *argv: str, stdout: Any = subprocess.PIPE, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "compliance", *argv],
        cwd=REPO,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def closed_pipe() -> int:
    """The write end of a pipe whose reader is already gone: the first write fails with EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    return write_end


def assert_refused(result: subprocess.CompletedProcess[str], path: Path, kind: str) -> None:
    assert result.returncode == 1, result.stderr
    assert result.stderr == (
        f"uccx-compliance: error: {path}: cannot write the report: it is {kind}, not a regular file (left as it is)\n"
    )


# --- stdout -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "json", "junit", "markdown"])
def test_plan_into_a_closed_pipe_is_one_line_and_exit_5(fmt: str) -> None:
    pipe = closed_pipe()
    try:
        result = run(*PLAN, "--format", fmt, stdout=pipe)
    finally:
        os.close(pipe)
    assert result.returncode == 5
    assert result.stderr == LOST.format("Broken pipe")  # and no "Exception ignored ... BrokenPipeError"


@pytest.mark.parametrize("argv", [["--help"], ["validate", str(SP1)], ["collector-script"]])
def test_other_commands_into_a_closed_pipe_are_one_line_and_exit_5(argv: list[str]) -> None:
    pipe = closed_pipe()
    try:
        result = run(*argv, stdout=pipe)
    finally:
        os.close(pipe)
    assert result.returncode == 5
    assert result.stderr.endswith(LOST.format("Broken pipe"))
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr


def test_plan_to_a_full_disk_is_one_line_and_exit_5() -> None:
    with Path("/dev/full").open("w") as full:
        result = run(*PLAN, stdout=full)
    assert result.returncode == 5
    assert result.stderr == LOST.format("No space left on device")


def test_plan_with_stdout_closed_is_one_line_and_exit_5() -> None:
    result = subprocess.run(
        ["sh", "-c", 'exec "$0" -m compliance "$@" >&-', sys.executable, *PLAN],  # started with fd 1 closed
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 5
    assert result.stderr == LOST.format("it is closed")


# --- --out onto something that is not a regular file ---------------------------------------------


def test_out_onto_a_fifo_is_refused_and_the_fifo_stays(tmp_path: Path) -> None:
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    assert_refused(run(*PLAN, "--out", str(fifo)), fifo, "a FIFO (named pipe)")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.fifo"]  # no temp file left behind


def test_out_onto_a_symlink_is_refused_and_neither_link_nor_target_changes(tmp_path: Path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n", encoding="utf-8")
    link = tmp_path / "report.txt"
    link.symlink_to(target)
    assert_refused(run(*PLAN, "--out", str(link)), link, "a symbolic link")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text(encoding="utf-8") == "keep me\n"


def test_out_onto_a_device_is_refused_and_the_device_stays(tmp_path: Path) -> None:
    # A private device node first (root only): had the refusal regressed, this replaces a node in
    # tmp_path, not the machine's /dev/null. Without root, /dev itself is not writable anyway.
    if os.geteuid() == 0:
        node = tmp_path / "null"
        os.mknod(node, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        assert_refused(run(*PLAN, "--out", str(node)), node, "a character device")
        assert stat.S_ISCHR(os.lstat(node).st_mode)
    devnull = Path("/dev/null")
    assert_refused(run(*PLAN, "--out", str(devnull)), devnull, "a character device")
    assert stat.S_ISCHR(os.lstat(devnull).st_mode)


def test_out_under_a_parent_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    parent = tmp_path / "afile"
    parent.write_text("", encoding="utf-8")
    out = parent / "sub" / "report.txt"
    result = run(*PLAN, "--out", str(out))
    assert result.returncode == 1
    assert (
        result.stderr == f"uccx-compliance: error: {out}: cannot write the report: {parent} is a file, not a folder\n"
    )


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "report.txt"
    out.write_text("the old report\n", encoding="utf-8")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)  # the one os module files.py uses
    with pytest.raises(InputError, match=r"report\.txt: cannot write the report: No space left on device$"):
        files.write_atomic(out, "the new report\n")
    assert out.read_text(encoding="utf-8") == "the old report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.txt"]


# --- the audit log and the backup -----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["fifo", "symlink"])
def test_the_audit_log_refuses_a_target_that_is_no_regular_file(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "audit.log"
    target = tmp_path / "elsewhere.log"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        target.write_text("", encoding="utf-8")
        path.symlink_to(target)
    log = AuditLog(path, "apply", None)
    with pytest.raises(InputError, match=r"audit\.log: cannot write the audit log: it is a .*; nothing was sent$"):
        log.ensure_writable()
    with pytest.raises(InputError, match="not a regular file"):
        log.record("LAB", None, old=1, new=2, result=AuditResult.APPLIED, resource="r")
    assert stat.S_ISFIFO(os.lstat(path).st_mode) if kind == "fifo" else path.is_symlink()
    assert kind == "fifo" or target.read_text(encoding="utf-8") == ""


def test_the_audit_log_writes_any_text_a_server_sends(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.log", "apply", None)
    log.record("LAB", None, old="a\ud800b", new="é\x1b", result=AuditResult.APPLIED, resource="r\u202e")
    [line] = (tmp_path / "audit.log").read_text(encoding="utf-8").splitlines()
    entry = json.loads(line)
    assert (entry["old"], entry["new"], entry["resource"]) == ("a\ud800b", "é\x1b", "r\u202e")  # exactly


# --- apply into a pipe that closes after one line, against the lab --------------------------------


@pytest.fixture
def lab() -> Iterator[Lab]:
    with Lab(scenario="exchange2010-sp3-defaults", port=0, password=PASSWORD) as running:
        yield running


@pytest.mark.server
def test_apply_into_a_pipe_closed_after_one_line_finishes_and_exits_5(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    inventory = lab.write_inventory(tmp_path / "inventory.yaml", baseline="uccx-exchange2010-sp1")
    plans = plan_inventory(inventory, {})
    planned = {(c.check, c.resource, c.setting) for p in plans for c in p.changes}
    assert len(planned) > 10
    write_saved_plan(tmp_path / "plan.json", plans, inventory, {})
    audit, backups = tmp_path / "audit.log", tmp_path / "backups"
    workspace_args = ["--inventory", str(inventory), "--audit-log", str(audit), "--backup-dir", str(backups)]

    child = subprocess.Popen(
        [sys.executable, "-m", "compliance", "apply", str(tmp_path / "plan.json"), *workspace_args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, PASSWORD_ENV: PASSWORD},
    )
    assert child.stdout is not None and child.stderr is not None
    first = child.stdout.readline()  # `| head -1`
    child.stdout.close()
    err = child.stderr.read()
    code = child.wait(timeout=120)

    assert first.strip()
    assert code == 5
    assert err == LOST.format("Broken pipe"), err
    lines = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]
    results: dict[tuple[str, str, str | None], set[str]] = {}
    for line in lines:
        if line["check"] is not None:
            results.setdefault((line["check"], line["resource"], line["setting"]), set()).add(line["result"])
    assert set(results) == planned  # every change of the plan, with its result
    assert all(outcome == {"applied", "verified"} for outcome in results.values()), results
    [backup_file] = backups.glob("*.json")
    backup = json.loads(backup_file.read_text(encoding="utf-8"))
    assert {
        (e["change"]["check"], e["change"]["resource"], e["change"]["setting"]) for e in backup["entries"]
    } == planned
    assert {e["status"] for e in backup["entries"]} == {"applied"}


def test_the_default_warning_shows_control_characters_and_never_obeys_them(capsys: pytest.CaptureFixture[str]) -> None:
    """``pipeline.stderr_warning`` is the warning of every caller that passes none (audit, apply,
    the fleet runner); its line can quote a name read from Exchange or a waiver's text."""
    from compliance import pipeline

    pipeline.stderr_warning("connector EX01\\Evil\x1b]0;owned\x07\u202e: not planned")
    err = capsys.readouterr().err
    assert err.startswith("uccx-compliance: warning: connector EX01\\Evil")
    assert "\x1b" not in err and "\x07" not in err and "\u202e" not in err
    assert "not planned" in err
