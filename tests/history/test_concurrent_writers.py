"""Many shards write one history at once (docs/fleet.md, docs/history.md): on a real PostgreSQL
and on one SQLite file, each writer's run is stored whole, and none fails.

The shards audit different targets, but their results share deduplicated values (one fact row
for "16, at least 2400" serves every target that shows it). Each writer inserts those shared rows
inside its own transaction; two writers that insert the same new keys in opposite orders wait on
each other, which PostgreSQL ends with "deadlock detected" for one of them unless the keys are
taken in one order. The writers here are built to do exactly that: shard A's values ascend, shard
B's descend, and they start together.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from compliance.errors import InputError
from compliance.history import open_history
from compliance.plan import Action, Change, ChangeKind, Plan
from tests.history.conftest import T0, record

pytestmark = pytest.mark.server

WRITERS = 4
TARGETS_PER_WRITER = 3
VALUES = 150  # shared values per target: the overlap that the writers insert at once


def shard_plans(writer: int) -> list[Plan]:
    """The plans of one shard: its own targets, every one with the same VALUES drifts, in an order
    that ascends for even writers and descends for odd ones."""
    order = range(VALUES) if writer % 2 == 0 else range(VALUES - 1, -1, -1)
    plans = []
    for t in range(TARGETS_PER_WRITER):
        target = f"shard{writer}-org{t}"
        plan = Plan(baseline="b", baseline_path="b.yaml", baseline_sha256="0" * 64, source=target, target=target)
        plan.changes = [
            Change(
                check=f"UCCX-TEST-{k:03d}",
                title="a shared value",
                severity="high",
                resource=f"connector {k}",
                identity=f"connector {k}",
                setting="MaxInboundConnectionPerSource",
                current=k,
                desired=k + 1000,
                requirement=f"at least {k + 1000}",
                action=Action.UPDATE,
                server="EX01",
                kind=ChangeKind.RECEIVE_CONNECTOR,
            )
            for k in order
        ]
        plans.append(plan)
    return plans


def test_shards_writing_one_history_at_once_all_succeed(location: str, tmp_path: Path) -> None:
    """From an empty history: the shards create and migrate it at the same moment too."""
    start = threading.Barrier(WRITERS)
    failures: list[BaseException] = []

    def write(writer: int) -> None:
        plans = shard_plans(writer)
        try:
            start.wait(timeout=30)
            with open_history(location, state_dir=tmp_path / "state") as store:
                for day in range(2):
                    record(store, plans, day, f"shard{writer}-day{day}")
        except BaseException as exc:  # reported below, with the writer that failed
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []

    with open_history(location, state_dir=tmp_path / "state") as store:
        episodes = store.episodes()
        points = store.timeline()
    assert len(episodes) == WRITERS * TARGETS_PER_WRITER * VALUES
    assert all(e.last_seen == T0 + datetime.timedelta(days=1) and e.fixed_at is None for e in episodes)
    # Every run of every target is recorded, with all its drift.
    assert sorted((p.target, p.at) for p in points) == sorted(
        (f"shard{w}-org{t}", T0 + datetime.timedelta(days=day))
        for w in range(WRITERS)
        for t in range(TARGETS_PER_WRITER)
        for day in range(2)
    )
    assert all(p.drift == VALUES for p in points)
    # Each target's episodes carry their own values, read through the rows the shards share.
    assert {(e.target, e.check, e.current, e.desired) for e in episodes} == {
        (f"shard{w}-org{t}", f"UCCX-TEST-{k:03d}", k, k + 1000)
        for w in range(WRITERS)
        for t in range(TARGETS_PER_WRITER)
        for k in range(VALUES)
    }


class _Deadlock(Exception):
    sqlstate = "40P01"  # what psycopg's DeadlockDetected carries


class _PrunedMeanwhile(Exception):
    sqlstate = "23503"  # ForeignKeyViolation: another host's prune deleted a value this run refers to


class _Constraint(Exception):
    sqlstate = "23505"


def test_a_write_the_server_rolled_back_for_a_deadlock_is_tried_again(tmp_path: Path) -> None:
    """What PostgreSQL does to one of two writers in a cycle: it rolls that one back. The write
    is run again from the start, as after a value pruned under it; any other error is not retried."""
    import sqlalchemy as sa

    def failing(times: int, error: Exception) -> tuple[list[int], Callable[[object], str]]:
        """A write that raises ``error`` on its first ``times`` calls, then stores; and its calls."""
        calls: list[int] = []

        def work(conn: object) -> str:
            calls.append(1)
            if len(calls) <= times:
                raise error
            return "stored"

        return calls, work

    deadlock = sa.exc.OperationalError("INSERT INTO facts ...", {}, _Deadlock("deadlock detected"))
    with open_history(tmp_path / "history.sqlite", state_dir=tmp_path) as store:
        calls, work = failing(2, deadlock)
        assert store._write(work) == "stored" and len(calls) == 3

        calls, work = failing(1, sa.exc.IntegrityError("INSERT INTO observations ...", {}, _PrunedMeanwhile("fk")))
        assert store._write(work) == "stored" and len(calls) == 2

        calls, work = failing(9, sa.exc.IntegrityError("INSERT INTO runs ...", {}, _Constraint("duplicate key")))
        with pytest.raises(InputError, match="not a usable history database: duplicate key"):
            store._write(work)
        assert len(calls) == 1

        calls, work = failing(9, deadlock)
        with pytest.raises(InputError, match="deadlock detected"):
            store._write(work)
        assert len(calls) == 4  # then it gives up, with one line
