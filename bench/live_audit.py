"""Benchmark: HTTP requests and wall time of one live audit against the lab, with added latency.

Side by side in one run: reads batched (several commands per PSRP pipeline, the default) against
one pipeline per cmdlet, each with the shipped 2010 SP1 baseline and with a baseline that has more
checks on the same settings. The target: requests per endpoint do not grow with the number of
checks (reads are per cmdlet, never per check), and batching cuts round trips.

    python3 bench/live_audit.py [--latency-ms 20] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from compliance import resources  # noqa: E402
from compliance.baseline import load_baseline  # noqa: E402
from compliance.baseline.model import iter_checks  # noqa: E402
from compliance.checks.engine import evaluate  # noqa: E402
from compliance.inventory import load_inventory  # noqa: E402
from compliance.lab.server import Lab  # noqa: E402
from compliance.pipeline import build_facts  # noqa: E402
from compliance.remoting.collect import collect  # noqa: E402
from compliance.yamlsource import read_yaml  # noqa: E402

PASSWORD = "bench-lab-password"


def more_checks_baseline(folder: Path) -> Path:
    """The SP1 baseline with every IMAP and receive-connector check repeated under new ids."""
    data: dict[str, Any] = read_yaml(resources.shipped_baseline("uccx-exchange2010-sp1")).data
    for area in ("imap_settings", "receive_connectors"):
        checks = data["rules"][area]["checks"]
        for copy in (1, 2):
            checks += [{**c, "id": c["id"][:-3] + f"{copy}{c['id'][-2:]}"} for c in list(checks[: len(checks) // copy])]
    path = folder / "more-checks.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def audit(lab: Lab, inventory: Path, baseline: Path, batch: bool) -> tuple[float, dict[str, int], int]:
    [target] = load_inventory(inventory).targets
    loaded = load_baseline(baseline, target.vars)
    lab.requests.clear()
    start = time.perf_counter()
    raw = collect(target, loaded.collection_request(), password=PASSWORD, batch=batch)
    plan = evaluate(loaded, build_facts(raw, source=target.exchange_endpoint))
    elapsed = time.perf_counter() - start
    assert not plan.unreadable, plan.unreadable
    return elapsed, dict(lab.requests), len(iter_checks(loaded.baseline.rules))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ["UCCX_LAB_PASSWORD"] = PASSWORD
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"lab latency {args.latency_ms} ms per HTTP request; median of {args.runs} runs"
    )
    print(f"{'reads':24} {'baseline':14} {'checks':>6} {'wall s':>7}  HTTP requests per endpoint")
    with (
        tempfile.TemporaryDirectory() as tmp,
        Lab(scenario="exchange2010-sp3-defaults", port=0, password=PASSWORD) as lab,
    ):
        inventory = lab.write_inventory(Path(tmp) / "inventory.yaml")
        baselines = {
            "shipped SP1": resources.shipped_baseline("uccx-exchange2010-sp1"),
            "more checks": more_checks_baseline(Path(tmp)),
        }
        lab.faults.latency_ms = args.latency_ms
        for batch in (True, False):
            for label, baseline in baselines.items():
                runs = [audit(lab, inventory, baseline, batch) for _ in range(args.runs)]
                wall = statistics.median(r[0] for r in runs)
                requests = runs[-1][1]
                shown = ", ".join(f"{_short(url)}: {n}" for url, n in sorted(requests.items()))
                mode = "batched" if batch else "one pipeline per cmdlet"
                print(f"{mode:24} {label:14} {runs[-1][2]:6d} {wall:7.2f}  {shown} (total {sum(requests.values())})")
    return 0


def _short(url: str) -> str:
    return url.split("127.0.0.1", 1)[-1].split("/", 1)[-1].join(("/", ""))


if __name__ == "__main__":
    raise SystemExit(main())
