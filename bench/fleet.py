"""Benchmark: a fleet audit of N organizations at 50 ms latency, serial and parallel, side by side.

Lab processes (`uccx-compliance lab serve --organizations`, each serving a slice of the fleet on
its own port) stand in for the organizations, so the lab's CPU is not the client's. Each row runs
`uccx-compliance plan --inventory FLEET --quiet --format json` in a fresh subprocess and reports:
wall time, the client's peak RSS, HTTP requests per organization (the labs' counters, read when the
labs stop), and CPU seconds per organization of the client and of the labs: on a machine where both
share the cores, their sum is what bounds the wall time. The last row is a run of 100 with one hung
organization (accepts TCP, never answers) and `--target-timeout`, against the same run without it.

    python3 bench/fleet.py [--sizes 10,100,1000] [--latency-ms 50] [--labs 2] [--serial-up-to 100]

Serial runs above --serial-up-to are not run (1,000 at 50 ms take about 20 minutes); their row
says "not run" and the note gives the serial figure per organization instead.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from compliance.fleet import DEFAULT_PARALLEL  # noqa: E402

PASSWORD = "fleet-bench-password"
_MEASURE = (
    "import resource, subprocess, sys, time; t = time.perf_counter(); "
    "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE); "
    "w = time.perf_counter() - t; "
    "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "print(r.returncode, w, u.ru_maxrss, u.ru_utime + u.ru_stime, flush=True); "
    "sys.stderr.write(r.stderr.decode()[-2000:] if r.returncode not in (0, 2, 3) else '')"
)


@contextmanager
def labs(total: int, processes: int, latency_ms: int, hung: int, folder: Path) -> Iterator[tuple[Path, list[Any]]]:
    """``processes`` lab processes serving ``total`` organizations; yields the merged inventory."""
    running: list[subprocess.Popen[str]] = []
    targets: list[dict[str, Any]] = []
    per = -(-total // processes)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        for number in range(processes):
            first = number * per + 1
            count = min(per, total - number * per)
            if count <= 0:
                break
            inventory = folder / f"lab-{number}.yaml"
            argv = [sys.executable, "-m", "compliance", "lab", "serve", "--organizations", str(count)]
            argv += ["--first-org", str(first), "--latency-ms", str(latency_ms), "--password", PASSWORD]
            argv += ["--write-inventory", str(inventory)]
            if hung and number == 0:
                argv += ["--hung", str(hung)]
            lab = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
            running.append(lab)
            assert lab.stdout is not None
            while (line := lab.stdout.readline()) and not line.startswith("Ctrl-C"):
                pass
            targets += yaml.safe_load(inventory.read_text())["targets"]
        fleet = folder / "fleet.yaml"
        document = {"apiVersion": "uccx-compliance/v1", "kind": "Inventory", "targets": targets}
        fleet.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        yield fleet, running
    finally:
        for lab in running:
            lab.send_signal(signal.SIGINT)
        for lab in running:
            lab.wait(timeout=60)


def stop_and_count(running: list[Any]) -> int:
    """Stop the labs; the requests they answered, from their last line."""
    total = 0
    for lab in running:
        lab.send_signal(signal.SIGINT)
        out, _ = lab.communicate(timeout=60)
        found = re.search(r"lab stopped after (\d+) requests", out or "")
        total += int(found.group(1)) if found else 0
    running.clear()
    return total


def cpu_seconds(running: list[Any]) -> float:
    """User and system CPU the lab processes have used so far (Linux /proc; 0 elsewhere)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for lab in running:
        try:
            fields = Path(f"/proc/{lab.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14 and 15)
    return total


def audit(fleet: Path, parallel: int, timeout: float | None = None) -> tuple[int, float, float, float]:
    argv = [sys.executable, "-m", "compliance", "plan", "--inventory", str(fleet), "--format", "json", "--quiet"]
    argv += ["--parallel", str(parallel)]
    if timeout is not None:
        argv += ["--target-timeout", str(timeout)]
    env = {**os.environ, "UCCX_LAB_PASSWORD": PASSWORD, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", _MEASURE, *argv], capture_output=True, text=True, env=env)
    code, wall, rss_kib, cpu = done.stdout.split()
    if done.stderr.strip():
        print(f"  (stderr: {done.stderr.strip()[-300:]})")
    return int(code), float(wall), int(rss_kib) / 1024, float(cpu)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--labs", type=int, default=2, help="lab processes serving the fleet (default: 2)")
    parser.add_argument("--parallel", type=int, default=DEFAULT_PARALLEL)
    parser.add_argument("--serial-up-to", type=int, default=100)
    parser.add_argument("--hung-timeout", type=float, default=10.0)
    parser.add_argument("--hung-of", type=int, default=100, help="the run with one hung organization has this many")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"{args.latency_ms} ms latency per request; {args.labs} lab processes; one run per row"
    )
    header = (
        "organizations",
        "--parallel",
        "exit",
        "wall s",
        "per org s",
        "RSS MiB",
        "req/org",
        "client CPU/org",
        "labs CPU/org",
    )
    widths = (13, 10, 4, 8, 9, 8, 8, 14, 12)
    print(" ".join(f"{h:>{w}}" for h, w in zip(header, widths, strict=True)))
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            for parallel in (1, args.parallel):
                if parallel == 1 and size > args.serial_up_to:
                    print(f"{size:13d} {parallel:10d}  not run (serial above --serial-up-to)")
                    continue
                with labs(size, args.labs, args.latency_ms, 0, Path(tmp)) as (fleet, running):
                    before = cpu_seconds(running)  # the labs' start-up (loading the scenario) left out
                    code, wall, rss, client_cpu = audit(fleet, parallel)
                    labs_cpu = cpu_seconds(running) - before
                    requests = stop_and_count(running)
                print(
                    f"{size:13d} {parallel:10d} {code:4d} {wall:8.1f} {wall / size:9.3f} {rss:8.0f} "
                    f"{requests / size:8.1f} {client_cpu / size:14.3f} {labs_cpu / size:12.3f}"
                )
        for hung in (0, 1):
            with labs(args.hung_of, args.labs, args.latency_ms, hung, Path(tmp)) as (fleet, running):
                code, wall, rss, _ = audit(fleet, args.parallel, args.hung_timeout)
                stop_and_count(running)
            label = f"{args.hung_of}, {hung} hung, --target-timeout {args.hung_timeout:g}"
            print(f"{label:>40}: exit {code}, wall {wall:.1f} s, RSS {rss:.0f} MiB")
    print(
        "wall time includes starting Python and reading the inventory; req/org from the labs' counters; "
        "CPU is user+system seconds per organization (the client's includes its start-up)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
