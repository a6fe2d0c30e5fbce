"""Benchmark: the size of a year of daily audits of 100 targets in the SQLite history.

Synthetic but shaped by real plans: each target's plan is one of the shipped example folders'
plans (``pipeline.plan_folder`` on examples/facts/*), mostly the compliant one. Every day a few
targets drift on one setting (an IMAP or receive connector change from the defaults plan, its
live value one of a few) and are fixed some days later; a few targets stay at defaults all year.
Each day is recorded with ``HistoryStore.record_run`` exactly as ``audit`` does.

For comparison it also writes the same results as one row per run x result (integers only: run,
subject, verdict, value id; values deduplicated the same way) into a second SQLite file: the
layout the history would have without run-length encoding.

    python3 bench/history_size.py [--targets 100] [--days 365] [--seed 13]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from compliance.history import open_history  # noqa: E402
from compliance.history.schema import digest  # noqa: E402
from compliance.pipeline import plan_folder  # noqa: E402
from compliance.plan import Change, Plan  # noqa: E402

BASELINE = REPO / "baselines" / "uccx-exchange2010-sp1.yaml"
FACTS = REPO / "examples" / "facts"
T0 = datetime.datetime(2026, 1, 1, 5, 0, tzinfo=datetime.timezone.utc)


def _copy(plan: Plan, target: str, extra: list[Change]) -> Plan:
    """``plan`` for ``target``, with ``extra`` drift replacing the compliant results it contradicts."""
    drifted = {(c.check, c.resource) for c in extra}
    return dataclasses.replace(
        plan,
        target=target,
        changes=[*plan.changes, *extra],
        findings=list(plan.findings),
        compliant=[c for c in plan.compliant if (c.check, c.resource) not in drifted],
        unreadable=list(plan.unreadable),
        waived=list(plan.waived),
    )


def _mib(path: Path) -> float:
    return path.stat().st_size / (1 << 20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=100)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    compliant = plan_folder(BASELINE, FACTS / "exchange2010-sp3-compliant", {})
    defaults = plan_folder(BASELINE, FACTS / "exchange2010-sp3-defaults", {})
    drifts = [c for c in defaults.changes if c.check.startswith(("UCCX-IMAP", "UCCX-SMTP"))]
    names = [f"uccx-{n:03d}" for n in range(args.targets)]
    at_defaults = set(names[: max(1, args.targets // 20)])  # 5 %: never remediated
    open_drift: dict[str, tuple[Change, int]] = {}  # target -> (its drift, the day it is fixed)

    work = Path(tempfile.mkdtemp(prefix="uccx-history-bench-"))
    history = work / "history.sqlite"
    naive = sqlite3.connect(work / "per-run-rows.sqlite")
    naive.execute(
        "CREATE TABLE results (run INTEGER, subject INTEGER, verdict INTEGER, fact INTEGER, PRIMARY KEY (run, subject))"
    )
    naive.execute("CREATE TABLE facts (id INTEGER PRIMARY KEY, key TEXT UNIQUE, content TEXT)")
    naive.execute("CREATE TABLE subjects (id INTEGER PRIMARY KEY, key TEXT UNIQUE, content TEXT)")
    naive_ids: dict[tuple[str, str], int] = {}
    verdicts = {"compliant": 0, "drift": 1, "waived": 2, "unreadable": 3}
    appeared = fixed = 0

    started = time.perf_counter()
    with open_history(history, state_dir=work) as store:
        for day in range(args.days):
            for name, (_, until) in list(open_drift.items()):
                if until == day:
                    del open_drift[name]
                    fixed += 1
            for name in rng.sample(names, 3):  # a few new drifts a day, fixed 1-14 days later
                if name not in at_defaults and name not in open_drift:
                    change = rng.choice(drifts)
                    live = dataclasses.replace(change, current=rng.choice([16, 20, 32, 100, 2000]))
                    open_drift[name] = (live, day + rng.randint(1, 14))
                    appeared += 1
            plans = [
                _copy(
                    defaults if name in at_defaults else compliant,
                    name,
                    [open_drift[name][0]] if name in open_drift else [],
                )
                for name in names
            ]
            at = T0 + datetime.timedelta(days=day)
            store.record_run(
                plans,
                run_id=f"day-{day:03d}",
                started_at=at,
                finished_at=at + datetime.timedelta(minutes=2),
                command="audit",
                exit_code=2,
            )
            for plan in plans:
                for result in [*plan.changes, *plan.findings, *plan.compliant]:
                    verdict = "compliant" if result in plan.compliant else "drift"
                    content = repr(result)
                    for table, key in (
                        ("subjects", digest(plan.target, result.check, result.resource)),
                        ("facts", digest(content)),
                    ):
                        if (table, key) not in naive_ids:
                            cursor = naive.execute(f"INSERT INTO {table} (key, content) VALUES (?, ?)", (key, content))
                            naive_ids[table, key] = int(cursor.lastrowid or 0)
                    naive.execute(
                        "INSERT INTO results VALUES (?, ?, ?, ?)",
                        (
                            day,
                            naive_ids["subjects", digest(plan.target, result.check, result.resource)],
                            verdicts[verdict],
                            naive_ids["facts", digest(content)],
                        ),
                    )
            naive.commit()
        counts = store.counts()
        episodes = store.episodes()
    elapsed = time.perf_counter() - started
    naive.execute("VACUUM")
    naive.close()
    with sqlite3.connect(history) as conn:
        conn.execute("VACUUM")
    per_run = sum(len(p.changes) + len(p.findings) + len(p.compliant) for p in plans)

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    shape = f"{args.targets} targets x {args.days} daily runs, ~{per_run} results per run"
    print(f"{shape}; {appeared} drifts appeared, {fixed} fixed")
    print(
        f"history (run-length encoded): {_mib(history):8.2f} MiB  rows: "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
    )
    naive_mib = _mib(work / "per-run-rows.sqlite")
    print(f"one row per run x result:     {naive_mib:8.2f} MiB  ({args.days * per_run} result rows)")
    print(f"episodes: {len(episodes)}; recording took {elapsed:.1f} s ({elapsed / args.days * 1000:.0f} ms per run)")
    print(f"files in {work}")


if __name__ == "__main__":
    main()
