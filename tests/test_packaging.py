"""What `pip install .` ships: every package, the baselines, the lab scenarios, the collector."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_every_source_folder_is_a_package() -> None:
    # A folder without __init__.py is a namespace package that setuptools' find_packages skips:
    # the wheel would then lack it (this once left out compliance/commands).
    folders = {p.parent for p in (REPO / "compliance").rglob("*.py")} - {REPO / "compliance/_shipped"}
    missing = sorted(str(f.relative_to(REPO)) for f in folders if not (f / "__init__.py").is_file())
    assert missing == []


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )
    [built] = out.glob("uccx_compliance-*.whl")
    return zipfile.ZipFile(built)


def test_wheel_has_every_module(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    sources = {str(p.relative_to(REPO)) for p in (REPO / "compliance").rglob("*.py")}
    assert sources - names == set()


def test_wheel_ships_baselines_scenarios_and_collector(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    for baseline in (REPO / "baselines").glob("*.yaml"):
        assert f"compliance/_shipped/baselines/{baseline.name}" in names
    for scenario in ("exchange2010-sp3-defaults", "exchange2010-sp3-compliant"):
        assert f"compliance/_shipped/facts/{scenario}/GetExchangeServer.xml" in names
        assert f"compliance/_shipped/facts/{scenario}/collection.txt" in names
    # The collector script is assembled from the kinds' fragments by this module, shipped as code.
    assert "compliance/facts/collector.py" in names and "compliance/kinds/service_start.py" in names


def test_installed_wheel_plans_by_baseline_name_and_auto(wheel: zipfile.ZipFile, tmp_path: Path) -> None:
    # Installed outside the checkout (no baselines/ beside it): the names resolve to package data.
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel.filename)],
        check=True,
        capture_output=True,
    )
    facts = target / "compliance/_shipped/facts/exchange2010-sp3-compliant"

    def installed(*args: str) -> subprocess.CompletedProcess[str]:
        code = "import sys; from compliance.cli import main; sys.exit(main(sys.argv[1:]))"
        env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}
        return subprocess.run(
            [sys.executable, "-c", code, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )

    listed = installed("baselines", "--paths")
    assert listed.returncode == 0, listed.stderr
    assert (
        f"uccx-exchange2010-sp1  applies to Exchange >=14.1,<15  {target}/compliance/_shipped/baselines/"
        in listed.stdout
    )
    for baseline in ("uccx-exchange2010-sp1", "auto"):
        result = installed("plan", "--facts", str(facts), "--baseline", baseline)
        assert result.returncode == 0, result.stderr
        assert "baseline uccx-exchange2010-sp1 against" in result.stdout
        assert result.stdout.endswith("Result: compliant (exit 0)\n")
    wrong = installed("plan", "--facts", str(facts), "--baseline", "uccx-exchange2013")
    assert wrong.returncode == 1 and "use --baseline uccx-exchange2010-sp1" in wrong.stderr
