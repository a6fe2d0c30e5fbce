"""Helpers for the hostile-input tests: the one-line error forms, a small baseline to put hostile
values into, and the real CLI run in a subprocess under a time and memory bound."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from compliance.baseline import LoadedBaseline, load_baseline
from compliance.errors import InputError

REPO = Path(__file__).resolve().parents[2]
SP1 = REPO / "baselines" / "uccx-exchange2010-sp1.yaml"
DEFAULTS = REPO / "examples" / "facts" / "exchange2010-sp3-defaults"

# FILE:LINE:COL: field: message, one line (docs/baselines.md); a --var error names "--var NAME".
LOCATED = re.compile(r"^[^\n]+:\d+:\d+: [^\n]+: [^\n]+$")
VAR_LOCATED = re.compile(r"^--var [^\n]*:\d+:\d+: [^\n]+: [^\n]+$")

MEMORY_LIMIT = 2 * 1024**3  # RLIMIT_AS for the subprocess: an alias bomb took more than 1.7 GB


def assert_one_located_line(exc: InputError, form: re.Pattern[str] = LOCATED) -> str:
    message = str(exc)
    assert len(message.splitlines()) == 1, message
    assert form.match(message), message
    return message


def assert_located_lines(exc: InputError, form: re.Pattern[str] = LOCATED) -> list[str]:
    """A baseline that breaks the model in several places gets one located line per mistake
    (``modelerrors.validate`` reports them all); everything else is one line."""
    lines = str(exc).split("\n")
    assert lines and all(form.match(line) for line in lines), str(exc)
    return lines


def load_text(text: str) -> tuple[Path, LoadedBaseline | InputError]:
    """Load baseline text from a fresh file: hypothesis examples cannot share pytest's tmp_path."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "baseline.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            return path, load_baseline(path)
        except InputError as exc:
            return path, exc


def small_baseline(*, at_least: str = "10240", vars_block: str = "  agents: 100\n  names: [a, b]\n") -> str:
    """A valid baseline with one check whose ``at_least`` and whose ``vars:`` the test chooses."""
    return (
        "apiVersion: uccx-compliance/v1\n"
        "kind: Baseline\n"
        "metadata: {name: small, description: hostile input tests, source: tests/baseline}\n"
        'applies_to: ">=14.1,<15"\n'
        f"vars:\n{vars_block}"
        "rules:\n"
        "  imap_settings:\n"
        "    checks:\n"
        "      - id: UCCX-IMAP-001\n"
        "        title: IMAP MaxCommandSize\n"
        "        severity: medium\n"
        "        setting: MaxCommandSize\n"
        f"        at_least: {at_least}\n"
        "        rationale: checklist value\n"
        "        remediation: Set-ImapSettings -MaxCommandSize 10240\n"
    )


def at_least_field(path: Path) -> str:
    """How an error about the small baseline's templated ``at_least`` begins."""
    lines = small_baseline().splitlines()
    number = next(i for i, line in enumerate(lines, 1) if "at_least:" in line)
    column = lines[number - 1].index("at_least") + 1
    return f"{path}:{number}:{column}: rules.imap_settings.checks[0].at_least: "


@dataclass(frozen=True)
class Bounded:
    code: int
    out: str
    err: str


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_bounded(*argv: str | Path) -> Bounded:
    """``python -m compliance ARGV`` in a subprocess, at most 30 s and 2 GiB (a safety bound on
    hostile input, not a benchmark)."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "compliance", *map(str, argv)],
            capture_output=True,
            text=True,
            timeout=30,
            preexec_fn=_limit_memory,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{argv}: still running after 30 s")
    return Bounded(done.returncode, done.stdout, done.stderr)
