"""Benchmarks: wall time and peak memory of `--help` and of an offline plan.

Targets (issue 2): `uccx-compliance --help` under 0.3 s, an offline plan under 1 s on the project
machine (2 cores). Each command runs in a fresh interpreter, as a user runs it; we report the
median of N runs and the peak resident memory of the child (ru_maxrss).

    python3 bench/run.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CASES = {
    "--help": [sys.executable, "-m", "compliance", "--help"],
    "plan (offline, 2010 SP3 defaults)": [
        sys.executable,
        "-m",
        "compliance",
        "plan",
        "--baseline",
        str(REPO / "baselines/uccx-exchange2010-sp1.yaml"),
        "--facts",
        str(REPO / "examples/facts/exchange2010-sp3-defaults"),
    ],
    "plan (offline, 2010 SP3 compliant)": [
        sys.executable,
        "-m",
        "compliance",
        "plan",
        "--baseline",
        str(REPO / "baselines/uccx-exchange2010-sp1.yaml"),
        "--facts",
        str(REPO / "examples/facts/exchange2010-sp3-compliant"),
    ],
}
TARGETS = {"--help": 0.3}


def measure(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one child process, from that child's own rusage."""
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    child.returncode = 0  # reaped by wait4; stop Popen from waiting again
    return elapsed, usage.ru_maxrss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.platform()}"
    )
    print(f"{'case':40} {'median s':>9} {'min s':>7} {'max s':>7} {'peak RSS MiB':>13} {'target s':>9}")
    print("(peak RSS: median of the runs' own maximum resident set size)")
    for name, command in CASES.items():
        subprocess.run(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times, peaks = [], []
        for _ in range(args.runs):
            elapsed, peak = measure(command)
            times.append(elapsed)
            peaks.append(peak)
        target = TARGETS.get(name, 1.0)
        print(
            f"{name:40} {statistics.median(times):9.3f} {min(times):7.3f} {max(times):7.3f} "
            f"{statistics.median(peaks) / 1024:13.1f} {target:9.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
