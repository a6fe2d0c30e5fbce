"""Fixtures for history tests: each test that takes ``location`` runs on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from compliance.history import HistoryStore, open_history
from compliance.pipeline import plan_folder
from compliance.plan import Plan
from tests.history.pgserver import Postgres, PostgresUnavailable

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "facts"
BASELINES = Path(__file__).resolve().parents[2] / "baselines"
DAY = datetime.timedelta(days=1)
T0 = datetime.datetime(2026, 3, 1, 6, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One PostgreSQL server on 127.0.0.1 for the session; a missing server fails under CI=true."""
    server = Postgres()
    try:
        server.start()
    except PostgresUnavailable as exc:
        server.stop()
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL history tests: {exc}")
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty history: a SQLite file, or a new database on the test PostgreSQL."""
    if request.param == "sqlite":
        return str(tmp_path / "history.sqlite")
    server: Postgres = request.getfixturevalue("postgres")
    return server.new_database()


@pytest.fixture
def store(location: str, tmp_path: Path) -> Iterator[HistoryStore]:
    with open_history(location, state_dir=tmp_path / "state") as opened:
        yield opened


@pytest.fixture(scope="session")
def example_plans() -> dict[str, Plan]:
    """Real plans of the shipped example folders: at defaults (drift) and compliant."""
    baseline = BASELINES / "uccx-exchange2010-sp1.yaml"
    return {
        name: plan_folder(baseline, EXAMPLES / name, {})
        for name in ("exchange2010-sp3-defaults", "exchange2010-sp3-compliant")
    }


RecordRun = Callable[..., None]


def record(store: HistoryStore, plans: list[Plan], day: int, run_id: str | None = None) -> str:
    """Record ``plans`` as the audit of day ``day`` (T0 + day days); the run id."""
    started = T0 + day * DAY
    run = run_id or f"run-{day:03d}"
    code = max((int(p.exit_code) for p in plans), default=0)
    store.record_run(
        plans,
        run_id=run,
        started_at=started,
        finished_at=started + datetime.timedelta(seconds=30),
        command="audit",
        exit_code=code,
    )
    return run
