"""Shared paths and helpers for the test suite.

Every path is resolved from this file, never from the cwd. The real Exchange exports live in the
repository (``tests/fixtures/real``, each with a ``.SOURCE`` file naming where it was copied from), so
a clone of the project alone runs the whole suite; tests that need them under the names the
collector writes copy them into a temporary fact folder.

Test modules do not ``import conftest`` (another area has its own ``conftest.py``, and pytest keeps
only one module of that name); they use these fixtures, or compute paths from their own ``__file__``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

from compliance.cli import main

# hypothesis explores new examples on every local run (and keeps what fails in .hypothesis/); CI
# runs a fixed, derandomized set, so that a fresh clone's verdict does not depend on luck. A new
# failure found locally is pinned as a plain test beside the property.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parents[1]
CSS = REPO / "tests" / "fixtures" / "real"


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str


CliRunner = Callable[..., CliResult]
FactFolder = Callable[[Mapping[str, Path | str]], Path]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> CliRunner:
    """Run ``uccx-compliance ARGS...`` in-process; returns its exit code, stdout and stderr."""

    def run(*argv: str | Path) -> CliResult:
        capsys.readouterr()  # drop anything printed before this call
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def css() -> Path:
    """The real CSS-Exchange exports, shipped with the tests."""
    return CSS


@pytest.fixture
def fact_folder(tmp_path: Path) -> FactFolder:
    """Build a fact folder: ``{"GetReceiveConnector.xml": <source path or file text>}``."""

    def build(files: Mapping[str, Path | str]) -> Path:
        folder = tmp_path / "facts"
        folder.mkdir(exist_ok=True)
        for name, source in files.items():
            if isinstance(source, Path):
                shutil.copyfile(source, folder / name)
            else:
                (folder / name).write_text(source, encoding="utf-8")
        return folder

    return build


@pytest.fixture
def copy_of(tmp_path: Path) -> Callable[[Path], Path]:
    """A writable copy of an example fact folder, to delete or damage single files in."""

    def copy(folder: Path) -> Path:
        target = tmp_path / folder.name
        shutil.copytree(folder, target)
        return target

    return copy


@pytest.fixture(autouse=True)
def _private_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """apply records change times in a state dir that plan reads (restart pending); every test gets
    its own, so no test writes into the checkout or sees another test's records."""
    from compliance.apply.state import STATE_DIR_ENV

    monkeypatch.setenv(STATE_DIR_ENV, str(tmp_path / "state"))
