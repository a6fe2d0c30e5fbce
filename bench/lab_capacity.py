"""Benchmark: what one `lab serve --organizations M` process can serve, so that the fleet
benchmark measures the client and not the lab.

1. Throughput: M organizations, 0 ms latency; the inventory is split over C client processes
   (`uccx-compliance plan`, each serial over its share) that run at once. Reports wall time, the
   lab's HTTP requests (requests/s) and the lab process's own CPU seconds (/proc/<pid>/stat), per
   request and per organization's full audit.
2. Idle connections: K keep-alive connections opened and held (one request each, then idle), the
   lab's threads and RSS with them, and that an audit still goes through meanwhile.

    python3 bench/lab_capacity.py [--organizations 100] [--clients 4] [--idle 1000]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "bench-fleet-password"
_TICKS = os.sysconf("SC_CLK_TCK")


def lab_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc/<pid>/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def lab_status(pid: int) -> tuple[int, float]:
    """Threads and RSS (MiB) of a process."""
    status = Path(f"/proc/{pid}/status").read_text()
    threads = int(re.search(r"Threads:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    rss_kib = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    return threads, rss_kib / 1024


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "UCCX_LAB_PASSWORD": PASSWORD}


def start_lab(organizations: int, inventory: Path) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "compliance", "lab", "serve", "--port", "0", "--password", PASSWORD]
    argv += ["--organizations", str(organizations), "--write-inventory", str(inventory)]
    lab = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment())
    assert lab.stdout is not None
    while (line := lab.stdout.readline()) and not line.startswith("Ctrl-C"):
        pass
    if lab.poll() is not None:
        raise SystemExit(f"the lab did not start: {lab.stderr.read() if lab.stderr else ''}")
    return lab


def stop_lab(lab: subprocess.Popen[str]) -> int:
    """Stop it with Ctrl-C; the number of requests it served (its last line says)."""
    lab.send_signal(signal.SIGINT)
    out, _ = lab.communicate(timeout=60)
    match = re.search(r"lab stopped after (\d+) requests", out)
    return int(match.group(1)) if match else -1


def split(inventory: Path, parts: int, folder: Path) -> list[Path]:
    document = yaml.safe_load(inventory.read_text())
    slices = []
    for index in range(parts):
        share = {**document, "targets": document["targets"][index::parts]}
        path = folder / f"slice-{index}.yaml"
        path.write_text(yaml.safe_dump(share, sort_keys=False), encoding="utf-8")
        slices.append(path)
    return slices


def throughput(organizations: int, clients: int, folder: Path) -> None:
    inventory = folder / "fleet.yaml"
    lab = start_lab(organizations, inventory)
    try:
        slices = split(inventory, clients, folder)
        cpu_before, started = lab_cpu_s(lab.pid), time.perf_counter()
        plans = [
            subprocess.Popen(
                [sys.executable, "-m", "compliance", "plan", "--inventory", str(s), "--format", "json"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=environment(),
            )
            for s in slices
        ]
        codes = [p.wait() for p in plans]
        wall = time.perf_counter() - started
        cpu = lab_cpu_s(lab.pid) - cpu_before
        threads, rss = lab_status(lab.pid)
    finally:
        requests = stop_lab(lab)
    print(f"throughput: {organizations} organizations, 0 ms latency, {clients} client processes at once")
    print(f"  plan exit codes {sorted(set(codes))} (2: every organization read, drift found)")
    print(f"  wall {wall:.1f} s; lab served {requests} requests = {requests / wall:.0f} requests/s")
    print(f"  lab CPU {cpu:.1f} s = {cpu / wall:.0%} of one core; {1000 * cpu / requests:.2f} ms per request,")
    print(f"  {1000 * cpu / organizations:.0f} ms per organization's audit; lab RSS {rss:.0f} MiB, {threads} threads")


def idle_connections(count: int, folder: Path) -> None:
    inventory = folder / "one.yaml"
    lab = start_lab(2, inventory)
    held: list[socket.socket] = []
    try:
        before_threads, before_rss = lab_status(lab.pid)
        port = int(re.search(r":(\d+)/", inventory.read_text()).group(1))  # type: ignore[union-attr]
        for _ in range(count):
            connection = socket.create_connection(("127.0.0.1", port))
            connection.sendall(b"GET /keep-alive HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            answer = b""
            while b"</html>" not in answer:
                answer += connection.recv(65536)
            held.append(connection)
        threads, rss = lab_status(lab.pid)
        started = time.perf_counter()
        audited = subprocess.run(
            [sys.executable, "-m", "compliance", "plan", "--inventory", str(inventory), "--format", "json"],
            capture_output=True,
            env=environment(),
            check=False,
        )
        took = time.perf_counter() - started
    finally:
        for connection in held:
            connection.close()
        stop_lab(lab)
    print(f"idle: {len(held)} keep-alive connections held open (one 404 each, then idle)")
    print(f"  lab threads {before_threads} -> {threads}; RSS {before_rss:.0f} -> {rss:.0f} MiB")
    print(f"  an audit of 2 organizations meanwhile: exit {audited.returncode} in {took:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--organizations", type=int, default=100)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--idle", type=int, default=1000)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"open files limit (ulimit -n): soft {soft}, hard {hard}; somaxconn {_somaxconn()}")
    with tempfile.TemporaryDirectory(prefix="uccx-lab-capacity-") as name:
        throughput(args.organizations, args.clients, Path(name))
        if args.idle:
            idle_connections(args.idle, Path(name))


def _somaxconn() -> str:
    try:
        return Path("/proc/sys/net/core/somaxconn").read_text().strip()
    except OSError:
        return "unknown"


if __name__ == "__main__":
    main()
