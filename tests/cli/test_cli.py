"""The ``uccx-compliance`` command line: help, exit codes, errors, report output.

Exit codes (docs/exit-codes.md): 0 compliant, 1 bad input or usage, 2 drift, 3 incomplete.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from compliance.cli import COMMANDS, main

REPO = Path(__file__).resolve().parents[2]
DEFAULTS = REPO / "examples" / "facts" / "exchange2010-sp3-defaults"
SP1 = REPO / "baselines" / "uccx-exchange2010-sp1.yaml"
MISSING_FOLDER_ERROR = "facts folder not found (expected a folder of Export-Clixml files)"


def python_m(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    """``python -m compliance ARGS`` in a fresh interpreter, from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "compliance", *map(str, argv)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_help_lists_every_command_and_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert f"\n    {name}" in out
    flat = " ".join(out.split())
    assert (
        "exit codes: 0 compliant; 1 bad input or usage; 2 drift (every fact was read); 3 incomplete "
        "(something could not be read)" in flat
    )


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_command_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    assert f"usage: uccx-compliance {command}" in capsys.readouterr().out


def test_no_arguments_prints_help_and_exits_1(cli: Any) -> None:
    result = cli()
    assert result.code == 1
    assert result.out.startswith("usage: uccx-compliance")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["plan"], "uccx-compliance plan: error: one of the arguments --facts --inventory is required"),
        (["validate"], "uccx-compliance validate: error: the following arguments are required: FILE"),
        (["bogus"], "uccx-compliance: error: argument COMMAND: invalid choice: 'bogus'"),
        (
            ["plan", "--facts", "x", "--format", "xml"],
            "uccx-compliance plan: error: argument --format: invalid choice: 'xml'",
        ),
        (["--no-such-option"], "uccx-compliance: error: unrecognized arguments: --no-such-option"),
    ],
    ids=["plan-without-source", "validate-without-file", "unknown-command", "bad-format", "unknown-option"],
)
def test_usage_errors_exit_1_never_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    # argparse's own exit code for a usage error is 2, which here would read as "drift" to a pipeline.
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("usage: uccx-compliance")
    assert err.splitlines()[-1].startswith(message)


def test_facts_without_baseline_is_one_line(cli: Any) -> None:
    result = cli("plan", "--facts", DEFAULTS)
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "uccx-compliance: error: plan --facts needs --baseline FILE, NAME or auto "
        "(uccx-compliance baselines lists them)\n"
    )


def test_python_m_compliance_runs_and_a_user_error_is_one_line(tmp_path: Path) -> None:
    done = python_m("plan", "--facts", tmp_path / "nope", "--baseline", SP1)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == f"uccx-compliance: error: {tmp_path / 'nope'}: {MISSING_FOLDER_ERROR}\n"


def test_debug_shows_the_traceback_of_a_user_error(tmp_path: Path) -> None:
    done = python_m("--debug", "plan", "--facts", tmp_path / "nope", "--baseline", SP1)
    assert done.returncode == 1
    assert "Traceback (most recent call last):" in done.stderr
    assert "compliance.errors.InputError" in done.stderr
    assert done.stderr.endswith(f"uccx-compliance: error: {tmp_path / 'nope'}: {MISSING_FOLDER_ERROR}\n")


def test_debug_is_accepted_after_the_command_too(tmp_path: Path, cli: Any) -> None:
    result = cli("plan", "--debug", "--facts", tmp_path / "nope", "--baseline", SP1)
    assert result.code == 1
    assert result.err.endswith(f"{MISSING_FOLDER_ERROR}\n")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("uccx-compliance ")


def test_text_plan_and_verbose_evidence(cli: Any) -> None:
    quiet = cli("plan", "--facts", DEFAULTS, "--baseline", SP1)
    loud = cli("plan", "--facts", DEFAULTS, "--baseline", SP1, "-v")
    assert quiet.code == loud.code == 2
    assert "      ~ MaxConnectionsPerUser: 16 -> at least 2400    [UCCX-IMAP-004 critical]\n" in quiet.out
    evidence = "  = UCCX-SMTP-002 EX01\\Default EX01: MessageRateLimit is Unlimited (at least 250)\n"
    assert evidence not in quiet.out
    assert "Compliant (5):\n" in loud.out and evidence in loud.out
    assert quiet.out.endswith("Result: drift (exit 2)\n")


@pytest.mark.parametrize("fmt", ["json", "junit"])
def test_out_writes_the_report_to_a_file(fmt: str, tmp_path: Path, cli: Any) -> None:
    out = tmp_path / "reports" / f"uccx.{fmt}"  # the folder does not exist yet
    result = cli("plan", "--facts", DEFAULTS, "--baseline", SP1, "--format", fmt, "--out", out)
    assert result.code == 2
    assert result.out == ""
    assert result.err == f"wrote {fmt} report to {out}\n"
    text = out.read_text(encoding="utf-8")
    assert text == cli("plan", "--facts", DEFAULTS, "--baseline", SP1, "--format", fmt).out
    if fmt == "json":
        assert json.loads(text)["summary"] == {"compliant": 5, "drift": 24, "unreadable": 0, "waived": 0}
    if fmt == "junit":
        assert ET.fromstring(text.encode()).find("testsuite") is not None
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temporary file left behind


def test_out_that_cannot_be_written_is_one_line(tmp_path: Path, cli: Any) -> None:
    result = cli("plan", "--facts", DEFAULTS, "--baseline", SP1, "--out", tmp_path)  # a folder
    assert result.code == 1
    [line] = result.err.splitlines()
    assert line == (
        f"uccx-compliance: error: {tmp_path}: cannot write the report: it is a folder, not a regular file "
        "(left as it is)"
    )


def test_a_bug_is_one_line_with_its_own_exit_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from compliance.commands import validate

    def broken(args: object) -> int:
        raise KeyError("no such thing")

    monkeypatch.setattr(validate, "run", broken)
    assert main(["validate", "x.yaml"]) == 4
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "uccx-compliance: internal error (a bug): KeyError: 'no such thing'; rerun with --debug for the traceback"
    ]
    assert main(["--debug", "validate", "x.yaml"]) == 4
    debug = capsys.readouterr().err
    assert "Traceback (most recent call last)" in debug and "KeyError" in debug
