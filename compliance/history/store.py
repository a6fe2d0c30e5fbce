"""The history store: record audits and applies, and read back drift episodes and the timeline.

Every method that depends on time takes it (``started_at``, ``since``, ``now``): the store never
reads the clock for anything it decides, so tests can put two audits a "day" apart.
Layout and the run-length encoding of results: ``compliance.history.schema``.
"""

from __future__ import annotations

import datetime
import fnmatch
import json
import random
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from compliance import __version__
from compliance.errors import InputError, UnreachableError
from compliance.files import refuse_non_regular
from compliance.history import schema
from compliance.history.location import Location, engine, resolve
from compliance.history.schema import digest
from compliance.plan import Change, Compliant, Finding, Plan, Result, Unreadable, Waived
from compliance.reporters.context import TimelinePoint

_T = TypeVar("_T")
_CHUNK = 500  # rows per IN (...) list: far below SQLite's limit of bound variables
_MAX_LINE = 1 << 20  # an audit line is ~400 bytes; a longer one is not apply's
_FIXING_RESULTS = ("applied", "verified")
# When two plans of one target report the same result (coexistence), the worst verdict is kept.
_WORST_FIRST = ("unreadable", "drift", "waived", "compliant")
# An advisory lock id of our own: two hosts opening one PostgreSQL history migrate one at a time.
_MIGRATION_LOCK = 0x55434358
# PostgreSQL's deadlock_detected and serialization_failure: the server rolled this writer back so
# that another could go on. The write is tried again from the start (the PostgreSQL manual,
# "Serialization Failure Handling"); shared rows are taken in key order, so a deadlock between
# two runs' inserts does not arise, but a prune beside a record still can. And
# foreign_key_violation: another host's prune deleted a value this run had just looked up and
# refers to; run again, the run inserts the value anew. (SQLite serializes writers: neither arises.)
_RETRIED_SQLSTATES = frozenset({"40P01", "40001", "23503"})
_WRITE_ATTEMPTS = 4
_WRITES = "uccx_writes"  # the execution option of a connection that will write (_write)


@dataclass(frozen=True)
class FixingApply:
    """An apply (one run of it) that changed the episode's setting between its last drift and its fix."""

    run: str
    time: datetime.datetime  # its first audit line for this result
    operator: str  # "LOCAL" or "LOCAL as REMOTE": who applied (never a password; docs/apply.md)
    results: tuple[str, ...]  # applied, verified, ... in the order logged

    def as_dict(self) -> dict[str, Any]:
        return {"run": self.run, "time": _iso(self.time), "operator": self.operator, "results": list(self.results)}


@dataclass(frozen=True)
class Episode:
    """One stretch of drift (or waived drift) of one target x check x resource."""

    target: str
    check: str
    resource: str
    first_seen: datetime.datetime
    last_seen: datetime.datetime
    first_run: str
    last_run: str
    fixed_at: datetime.datetime | None = None  # the first later run where it was compliant
    fixed_run: str | None = None
    fixed_by: tuple[FixingApply, ...] = ()
    waived: bool = False  # waived in at least one of its runs
    # An open episode's applies: logged since its first drift, with no compliant audit after them.
    # A setting that needs a restart stays drift after apply until the service restarts (restart
    # pending), and so does a change that did not hold; either way the apply is shown, not hidden.
    applied_while_open: tuple[FixingApply, ...] = ()
    current: Any = None  # the last drift's live and desired value and its requirement or message
    desired: Any = None
    text: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "check": self.check,
            "resource": self.resource,
            "first_seen": _iso(self.first_seen),
            "last_seen": _iso(self.last_seen),
            "first_run": self.first_run,
            "last_run": self.last_run,
            "fixed_at": _iso(self.fixed_at) if self.fixed_at else None,
            "fixed_run": self.fixed_run,
            "fixed_by": [a.as_dict() for a in self.fixed_by],
            "waived": self.waived,
            "applied_while_open": [a.as_dict() for a in self.applied_while_open],
            "current": self.current,
            "desired": self.desired,
            "text": self.text,
        }


@dataclass(frozen=True)
class _Row:
    """One result of one target in a run, as the store keeps it."""

    check: str
    resource: str
    verdict: str
    content: dict[str, Any]  # the facts row's columns


@dataclass
class _Run:
    pk: int
    run_id: str
    started_at: datetime.datetime
    finished_at: datetime.datetime


@dataclass
class _Open:
    """An episode being walked (``HistoryStore.episodes``)."""

    first: _Run
    last: _Run
    fact: int
    waived: bool = False
    facts: list[int] = field(default_factory=list)


def open_history(location: str | Path | None, *, state_dir: Path) -> HistoryStore:
    """The history at ``location`` (None: ``<state_dir>/history.sqlite``), migrated to this version."""
    place = resolve(location, state_dir=state_dir)
    store = HistoryStore(place, engine(place))
    try:
        store.migrate()
    except BaseException:
        store.close()
        raise
    return store


class HistoryStore:
    def __init__(self, location: Location, db: Engine) -> None:
        self.location = location
        self._db = db
        if not location.is_postgres:
            _sqlite_transactions(db)

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """One transaction; a driver's error becomes one line naming the history, never its password."""
        try:
            with self._db.begin() as conn:
                yield conn
        except sa.exc.DBAPIError as exc:
            raise self._failure(exc) from None

    def _write(self, work: Callable[[Connection], _T]) -> _T:
        """``work`` in one transaction, run again from the start when PostgreSQL rolled it back for
        a deadlock or a serialization failure (another shard writing the same history)."""
        for attempt in range(1, _WRITE_ATTEMPTS + 1):
            try:
                with self._db.connect() as conn:
                    conn.execution_options(**{_WRITES: True})  # SQLite: BEGIN IMMEDIATE (_sqlite_transactions)
                    with conn.begin():
                        return work(conn)
            except sa.exc.DBAPIError as exc:
                if attempt == _WRITE_ATTEMPTS or getattr(exc.orig, "sqlstate", None) not in _RETRIED_SQLSTATES:
                    raise self._failure(exc) from None
                time.sleep(random.uniform(0.05, 0.2) * attempt)  # apart, so the writers do not meet again
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _failure(self, exc: sa.exc.DBAPIError) -> InputError | UnreachableError:
        message = self.location.scrub(str(exc.orig))
        if isinstance(exc, sa.exc.OperationalError):
            if self.location.is_postgres:
                return UnreachableError(f"history {self.location.shown}: {message}")
            return InputError(f"history {self.location.shown}: cannot use the database: {message}")
        return InputError(f"history {self.location.shown}: not a usable history database: {message}")

    # --- schema -----------------------------------------------------------------------------------

    def version(self) -> int:
        with self._tx() as conn:
            return _version(conn)

    def migrate(self, *, upto: int = schema.SCHEMA_VERSION) -> int:
        """Run the forward migrations up to ``upto`` (tests build old databases with it); the version.

        A history already at ``upto`` is only read, so that ``history`` opens a file it may not
        write; otherwise the migrations run as a write, checked again under its lock, since
        another shard may have migrated in between."""
        with self._tx() as conn:
            current = self._checked_version(conn)
        if current >= upto:
            return current

        def work(conn: Connection) -> int:
            if self.location.is_postgres:
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
            current = self._checked_version(conn)
            for number in range(current + 1, upto + 1):
                schema.MIGRATIONS[number - 1](conn)
                conn.execute(
                    sa.insert(schema.schema_version).values(
                        version=number, applied_at=datetime.datetime.now(datetime.timezone.utc)
                    )
                )
            return max(current, upto)

        return self._write(work)

    def _checked_version(self, conn: Connection) -> int:
        """The schema version, refusing a database that is not a history or is newer than this tool."""
        inspector = sa.inspect(conn)
        if not inspector.has_table("schema_version") and inspector.get_table_names():
            raise InputError(f"history {self.location.shown}: not a uccx-compliance history (no schema_version table)")
        current = _version(conn)
        if current > schema.SCHEMA_VERSION:
            raise InputError(
                f"history {self.location.shown}: schema version {current} is newer than this "
                f"uccx-compliance {__version__} knows ({schema.SCHEMA_VERSION}); upgrade uccx-compliance"
            )
        return current

    # --- writing ----------------------------------------------------------------------------------

    def record_run(
        self,
        plans: Sequence[Plan],
        *,
        run_id: str,
        started_at: datetime.datetime,
        finished_at: datetime.datetime,
        command: str,
        exit_code: int,
    ) -> None:
        """Store one audit: the run, each target's counts, and each result (run-length encoded)."""
        by_target = _by_target(plans)

        def work(conn: Connection) -> None:
            if conn.execute(sa.select(schema.runs.c.id).where(schema.runs.c.run_id == run_id)).first():
                raise InputError(f"history {self.location.shown}: run {run_id} is already recorded")
            inserted = conn.execute(
                sa.insert(schema.runs).values(
                    run_id=run_id,
                    started_at=started_at,
                    finished_at=finished_at,
                    command=command,
                    tool_version=__version__,
                    exit_code=exit_code,
                    hostname=socket.gethostname(),
                )
            )
            run_pk = int(inserted.inserted_primary_key[0])  # type: ignore[index]
            target_ids = _ensure(conn, schema.targets, {digest(name): {"name": name} for name in by_target})
            # The values of every target at once: shards share them, and one statement in key
            # order cannot wait on another shard's in a cycle.
            contents = {digest(r.content): r.content for rows, _ in by_target.values() for r in rows}
            fact_ids = _ensure(conn, schema.facts, contents)
            for name, (rows, counts) in by_target.items():
                target_pk = target_ids[digest(name)]
                previous = _previous_target_run(conn, target_pk, started_at, run_pk, latest=True)
                if previous is not None and previous.started_at > started_at:
                    raise InputError(
                        f"history {self.location.shown}: run {run_id} started before run "
                        f"{previous.run_id}, which is already recorded for {name}; runs are recorded in order"
                    )
                conn.execute(sa.insert(schema.target_runs).values(run=run_pk, target=target_pk, **counts))
                self._record_rows(conn, name, target_pk, rows, run_pk, previous, fact_ids)

        self._write(work)

    def _record_rows(
        self,
        conn: Connection,
        target: str,
        target_pk: int,
        rows: Sequence[_Row],
        run_pk: int,
        previous: _Run | None,
        fact_ids: Mapping[str, int],
    ) -> None:
        subject_ids = _ensure(
            conn,
            schema.subjects,
            {
                digest(target, r.check, r.resource): {"target": target_pk, "check_id": r.check, "resource": r.resource}
                for r in rows
            },
        )
        # The observations still open: those that reached the target's previous run.
        open_rows: dict[int, tuple[int, str, int]] = {}
        if previous is not None:
            obs = schema.observations
            for chunk in _chunks(list(subject_ids.values())):
                query = sa.select(obs.c.id, obs.c.subject, obs.c.verdict, obs.c.fact).where(
                    obs.c.last_run == previous.pk, obs.c.subject.in_(chunk)
                )
                for row in conn.execute(query):
                    open_rows[row.subject] = (row.id, row.verdict, row.fact)
        extend: list[int] = []
        start: list[dict[str, Any]] = []
        for r in rows:
            subject = subject_ids[digest(target, r.check, r.resource)]
            fact = fact_ids[digest(r.content)]
            found = open_rows.get(subject)
            if found is not None and found[1] == r.verdict and found[2] == fact:
                extend.append(found[0])
            else:
                start.append({"subject": subject, "verdict": r.verdict, "fact": fact, "first_run": run_pk})
        for chunk in _chunks(extend):
            obs = schema.observations
            conn.execute(sa.update(obs).where(obs.c.id.in_(chunk)).values(last_run=run_pk))
        if start:
            conn.execute(sa.insert(schema.observations), [{**s, "last_run": run_pk} for s in start])

    def record_applies(self, audit_log: Path) -> int:
        """Store apply's audit log lines not stored yet (a line seen twice is stored once); how many
        were new. A log that does not exist yet has nothing to store."""
        lines = _audit_lines(audit_log)

        def work(conn: Connection) -> int:
            table = schema.applies
            known: set[str] = set()
            for chunk in _chunks(list(lines)):
                query = sa.select(table.c.line_key).where(table.c.line_key.in_(chunk))
                known.update(conn.scalars(query))
            new = [row for key, row in lines.items() if key not in known]
            for chunk in _chunks(sorted(new, key=lambda row: str(row["line_key"]))):
                conn.execute(_insert_ignore(conn, table, "line_key"), chunk)
            return len(new)

        return self._write(work)

    def prune(self, *, keep_days: int, now: datetime.datetime) -> int:
        """Forget runs and applies older than ``keep_days`` before ``now``; how many runs went. A
        result still seen in a kept run keeps its row, its first run moved to the oldest one kept."""
        if keep_days < 1:
            raise InputError(f"--keep-days {keep_days}: keep at least 1 day")
        cutoff = now - datetime.timedelta(days=keep_days)
        runs, obs, target_runs = schema.runs, schema.observations, schema.target_runs

        def work(conn: Connection) -> int:
            old = list(conn.scalars(sa.select(runs.c.id).where(runs.c.started_at < cutoff)))
            if not old:
                conn.execute(sa.delete(schema.applies).where(schema.applies.c.time < cutoff))
                return 0
            old_set = set(old)
            kept_first: dict[int, int] = {}  # target -> its oldest kept run
            query = (
                sa.select(target_runs.c.target, target_runs.c.run)
                .join(runs, runs.c.id == target_runs.c.run)
                .where(runs.c.started_at >= cutoff)
                .order_by(runs.c.started_at.desc(), runs.c.id.desc())
            )
            for row in conn.execute(query):
                kept_first[row.target] = row.run
            spans = conn.execute(
                sa.select(obs.c.id, obs.c.first_run, obs.c.last_run, schema.subjects.c.target).join(
                    schema.subjects, schema.subjects.c.id == obs.c.subject
                )
            ).all()
            for span in spans:
                if span.last_run in old_set:
                    conn.execute(sa.delete(obs).where(obs.c.id == span.id))
                elif span.first_run in old_set:
                    conn.execute(sa.update(obs).where(obs.c.id == span.id).values(first_run=kept_first[span.target]))
            for chunk in _chunks(old):
                conn.execute(sa.delete(target_runs).where(target_runs.c.run.in_(chunk)))
                conn.execute(sa.delete(runs).where(runs.c.id.in_(chunk)))
            conn.execute(sa.delete(schema.facts).where(~schema.facts.c.id.in_(sa.select(obs.c.fact))))
            conn.execute(sa.delete(schema.subjects).where(~schema.subjects.c.id.in_(sa.select(obs.c.subject))))
            conn.execute(
                sa.delete(schema.targets).where(
                    ~schema.targets.c.id.in_(sa.select(schema.subjects.c.target)),
                    ~schema.targets.c.id.in_(sa.select(target_runs.c.target)),
                )
            )
            conn.execute(sa.delete(schema.applies).where(schema.applies.c.time < cutoff))
            return len(old)

        return self._write(work)

    # --- reading ----------------------------------------------------------------------------------

    def episodes(
        self, *, target: str | None = None, check: str | None = None, since: datetime.datetime | None = None
    ) -> list[Episode]:
        """Each stretch of drift per target x check x resource: first and last seen, and when and by
        which apply it was fixed. ``target`` is a glob (case-insensitive); ``since`` keeps the
        episodes last seen or fixed at or after it. Sorted by target, check, resource, first seen."""
        subjects, obs, targets = schema.subjects, schema.observations, schema.targets
        with self._tx() as conn:
            runs = _runs(conn)
            query = sa.select(subjects.c.id, subjects.c.check_id, subjects.c.resource, targets.c.name).join(
                targets, targets.c.id == subjects.c.target
            )
            if check is not None:
                query = query.where(subjects.c.check_id == check)
            chosen = {
                row.id: (row.name, row.check_id, row.resource)
                for row in conn.execute(query)
                if target is None or fnmatch.fnmatchcase(row.name.casefold(), target.casefold())
            }
            by_subject: dict[int, list[Any]] = {}
            for chunk in _chunks(list(chosen)):
                spans = conn.execute(
                    sa.select(obs.c.subject, obs.c.verdict, obs.c.fact, obs.c.first_run, obs.c.last_run).where(
                        obs.c.subject.in_(chunk)
                    )
                )
                for span in spans:
                    by_subject.setdefault(span.subject, []).append(span)
            found: list[tuple[tuple[str, str, str], _Open, _Run | None]] = []
            for subject, subject_spans in by_subject.items():
                found.extend((chosen[subject], episode, fix) for episode, fix in _walk(subject_spans, runs))
            facts = _facts(conn, {e.fact for _, e, _ in found})
            applies = _applies_by_subject(conn, {digest(*key) for key, _, _ in found})
            episodes = [self._episode(key, e, fix, facts, applies.get(digest(*key), [])) for key, e, fix in found]
        if since is not None:
            episodes = [e for e in episodes if (e.fixed_at or e.last_seen) >= since]
        return sorted(episodes, key=lambda e: (e.target.casefold(), e.check, e.resource, e.first_seen))

    def _episode(
        self,
        key: tuple[str, str, str],
        walked: _Open,
        fix: _Run | None,
        facts: Mapping[int, Any],
        applies: Sequence[Any],
    ) -> Episode:
        target, check, resource = key
        fact = facts[walked.fact]
        return Episode(
            target=target,
            check=check,
            resource=resource,
            first_seen=walked.first.started_at,
            last_seen=walked.last.started_at,
            first_run=walked.first.run_id,
            last_run=walked.last.run_id,
            fixed_at=fix.started_at if fix else None,
            fixed_run=fix.run_id if fix else None,
            fixed_by=_fixing_applies(applies, walked.last, fix) if fix else (),
            applied_while_open=() if fix else _fixing_applies(applies, walked.first, None),
            waived=walked.waived,
            current=fact.current,
            desired=fact.desired,
            text=fact.text,
        )

    def timeline(
        self, *, since: datetime.datetime | None = None, targets: Iterable[str] | None = None
    ) -> list[TimelinePoint]:
        """Each audit of each target (counts by verdict), oldest first."""
        runs, target_runs, table = schema.runs, schema.target_runs, schema.targets
        query = (
            sa.select(runs.c.started_at, table.c.name, target_runs)
            .join(runs, runs.c.id == target_runs.c.run)
            .join(table, table.c.id == target_runs.c.target)
            .order_by(runs.c.started_at, runs.c.id)
        )
        if since is not None:
            query = query.where(runs.c.started_at >= since)
        wanted = None if targets is None else {t.casefold() for t in targets}
        with self._tx() as conn:
            rows = conn.execute(query).all()
        return [
            TimelinePoint(
                at=row.started_at,
                target=row.name,
                compliant=row.compliant,
                drift=row.drift,
                waived=row.waived,
                unreadable=row.unreadable,
            )
            for row in rows
            if wanted is None or row.name.casefold() in wanted
        ]

    def previous_drift(self, *, before_run: str) -> set[tuple[str, str, str]]:
        """(target, check, resource) of each drift (not waived) in the run before ``before_run``,
        per target: a target's previous run is its own, so shards that audit different targets at
        different times compare each target with itself. When ``before_run`` is not recorded (yet),
        each target's latest run is the previous one."""
        runs, target_runs, obs, subjects = schema.runs, schema.target_runs, schema.observations, schema.subjects
        with self._tx() as conn:
            this = conn.execute(sa.select(runs).where(runs.c.run_id == before_run)).first()
            pairs: list[tuple[int, int]] = []  # (target, its previous run)
            if this is None:
                latest = (
                    sa.select(target_runs.c.target, sa.func.max(runs.c.started_at).label("at"))
                    .join(runs, runs.c.id == target_runs.c.run)
                    .group_by(target_runs.c.target)
                    .subquery()
                )
                query = (
                    sa.select(target_runs.c.target, target_runs.c.run)
                    .join(runs, runs.c.id == target_runs.c.run)
                    .join(latest, sa.and_(latest.c.target == target_runs.c.target, latest.c.at == runs.c.started_at))
                )
                pairs = [(row.target, row.run) for row in conn.execute(query)]
            else:
                covered = conn.scalars(sa.select(target_runs.c.target).where(target_runs.c.run == this.id))
                for target_pk in list(covered):
                    previous = _previous_target_run(conn, target_pk, this.started_at, this.id)
                    if previous is not None:
                        pairs.append((target_pk, previous.pk))
            found: set[tuple[str, str, str]] = set()
            at = {r.pk: r for r in _runs(conn).values()}
            for target_pk, run_pk in pairs:
                moment = at[run_pk].started_at
                first, last = runs.alias("first"), runs.alias("last")
                query = (
                    sa.select(schema.targets.c.name, subjects.c.check_id, subjects.c.resource)
                    .select_from(obs)
                    .join(subjects, subjects.c.id == obs.c.subject)
                    .join(schema.targets, schema.targets.c.id == subjects.c.target)
                    .join(first, first.c.id == obs.c.first_run)
                    .join(last, last.c.id == obs.c.last_run)
                    .where(
                        subjects.c.target == target_pk,
                        obs.c.verdict == "drift",
                        first.c.started_at <= moment,
                        last.c.started_at >= moment,
                    )
                )
                found.update((row.name, row.check_id, row.resource) for row in conn.execute(query))
            return found

    def counts(self) -> dict[str, int]:
        """Rows per table (the size benchmark and the dedup tests read it)."""
        with self._tx() as conn:
            return {
                table.name: int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
                for table in schema.metadata.sorted_tables
            }


# --- helpers ----------------------------------------------------------------------------------------


def _sqlite_transactions(db: Engine) -> None:
    """pysqlite runs DDL outside a transaction: a migration cut short would leave half a schema.
    SQLAlchemy's documented recipe: let SQLAlchemy emit BEGIN itself, so DDL is transactional too.

    ``BEGIN IMMEDIATE`` for a write (``_write``), ``BEGIN`` for a read. A deferred transaction that
    reads and then writes asks for the write lock while another writer holds it, and SQLite answers
    "database is locked" at once, without waiting (its busy handler would deadlock there). Taking
    the write lock at BEGIN makes a second writer (another shard's audit on this file, or
    ``history --keep-days``) wait its turn, up to the connection's 30 s timeout."""

    @sa.event.listens_for(db, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(db, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITES) else "BEGIN")


def _version(conn: Connection) -> int:
    if not sa.inspect(conn).has_table("schema_version"):
        return 0
    return int(conn.execute(sa.select(sa.func.max(schema.schema_version.c.version))).scalar() or 0)


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _insert_ignore(conn: Connection, table: sa.Table, key: str) -> Any:
    """INSERT ... ON CONFLICT (key) DO NOTHING: two hosts writing one history never collide."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=[key])


def _ensure(conn: Connection, table: sa.Table, rows: Mapping[str, dict[str, Any]]) -> dict[str, int]:
    """The id of each row by its ``key`` (a digest), inserting those not stored yet."""
    ids: dict[str, int] = {}
    keys = sorted(rows)  # key order: two writers inserting the same new keys take them in one order
    for chunk in _chunks(keys):
        ids.update(
            (row.key, row.id) for row in conn.execute(sa.select(table.c.key, table.c.id).where(table.c.key.in_(chunk)))
        )
    missing = [{"key": k, **rows[k]} for k in keys if k not in ids]
    if missing:
        conn.execute(_insert_ignore(conn, table, "key"), missing)
        for chunk in _chunks([m["key"] for m in missing]):
            query = sa.select(table.c.key, table.c.id).where(table.c.key.in_(chunk))
            ids.update((row.key, row.id) for row in conn.execute(query))
    return ids


def _runs(conn: Connection) -> dict[int, _Run]:
    table = schema.runs
    query = sa.select(table.c.id, table.c.run_id, table.c.started_at, table.c.finished_at)
    return {row.id: _Run(row.id, row.run_id, row.started_at, row.finished_at) for row in conn.execute(query)}


def _previous_target_run(
    conn: Connection, target_pk: int, started_at: datetime.datetime, run_pk: int, *, latest: bool = False
) -> _Run | None:
    """The target's latest run before ``run_pk`` (started earlier, or at the same time and recorded
    earlier); with ``latest``, its latest run other than ``run_pk`` (record_run refuses to record
    a run older than that one)."""
    runs, target_runs = schema.runs, schema.target_runs
    query = (
        sa.select(runs.c.id, runs.c.run_id, runs.c.started_at, runs.c.finished_at)
        .join(target_runs, target_runs.c.run == runs.c.id)
        .where(target_runs.c.target == target_pk, runs.c.id != run_pk)
        .order_by(runs.c.started_at.desc(), runs.c.id.desc())
    )
    if not latest:
        query = query.where(
            sa.or_(runs.c.started_at < started_at, sa.and_(runs.c.started_at == started_at, runs.c.id < run_pk))
        )
    row = conn.execute(query.limit(1)).first()
    return None if row is None else _Run(row.id, row.run_id, row.started_at, row.finished_at)


def _walk(rows: Sequence[Any], runs: Mapping[int, _Run]) -> Iterator[tuple[_Open, _Run | None]]:
    """A subject's observations, oldest first, as drift episodes: drift or waived opens or extends
    one, compliant closes it (the fix), unreadable neither extends nor closes it (nothing was seen)."""
    current: _Open | None = None
    for row in sorted(rows, key=lambda r: (runs[r.first_run].started_at, r.first_run)):
        if row.verdict in ("drift", "waived"):
            if current is None:
                current = _Open(first=runs[row.first_run], last=runs[row.last_run], fact=row.fact)
            current.last, current.fact = runs[row.last_run], row.fact
            current.waived = current.waived or row.verdict == "waived"
        elif row.verdict == "compliant" and current is not None:
            yield current, runs[row.first_run]
            current = None
    if current is not None:
        yield current, None


@dataclass(frozen=True)
class _Fact:
    current: Any
    desired: Any
    text: str | None


def _facts(conn: Connection, ids: set[int]) -> dict[int, _Fact]:
    table = schema.facts
    out: dict[int, _Fact] = {}
    for chunk in _chunks(sorted(ids)):
        query = sa.select(table.c.id, table.c.current, table.c.desired, table.c.text).where(table.c.id.in_(chunk))
        out.update((row.id, _Fact(row.current, row.desired, row.text)) for row in conn.execute(query))
    return out


def _applies_by_subject(conn: Connection, keys: set[str]) -> dict[str, list[Any]]:
    """The audit lines that applied or verified a change, by subject key, oldest first: one query
    per chunk of subjects for all the episodes, not one per episode."""
    table = schema.applies
    out: dict[str, list[Any]] = {}
    for chunk in _chunks(sorted(keys)):
        query = (
            sa.select(table.c.subject_key, table.c.run, table.c.time, table.c.operator, table.c.result)
            .where(table.c.subject_key.in_(chunk), table.c.result.in_(_FIXING_RESULTS))
            .order_by(table.c.time, table.c.id)
        )
        for row in conn.execute(query):
            out.setdefault(row.subject_key, []).append(row)
    return out


def _fixing_applies(applies: Sequence[Any], since: _Run, fix: _Run | None) -> tuple[FixingApply, ...]:
    """Of one subject's ``applies``, those logged after the run ``since`` started and before the
    fixing run finished (with no fix: until now), one per apply run."""
    grouped: dict[str, list[Any]] = {}
    for row in applies:
        if row.time >= since.started_at and (fix is None or row.time <= fix.finished_at):
            grouped.setdefault(row.run, []).append(row)
    return tuple(
        FixingApply(
            run=run, time=rows[0].time, operator=_operator(rows[0].operator), results=tuple(r.result for r in rows)
        )
        for run, rows in grouped.items()
    )


def _operator(value: Any) -> str:
    if not isinstance(value, dict):
        return str(value)
    local, remote = value.get("local"), value.get("remote")
    return f"{local} as {remote}" if remote and remote != local else str(local)


def _result_row(result: Result | Waived) -> _Row:
    verdict = "waived" if isinstance(result, Waived) else "compliant"
    inner = result.result if isinstance(result, Waived) else result
    content: dict[str, Any] = {"current": None, "desired": None, "text": None, "detail": {}}
    if isinstance(inner, Change):
        verdict = "waived" if isinstance(result, Waived) else "drift"
        content.update(current=inner.current, desired=inner.desired, text=inner.requirement)
        content["detail"] = {
            "title": inner.title,
            "severity": inner.severity,
            "setting": inner.setting,
            "action": inner.action.value,
        }
    elif isinstance(inner, Finding):
        verdict = "waived" if isinstance(result, Waived) else "drift"
        content.update(text=inner.message)
        content["detail"] = {"title": inner.title, "severity": inner.severity, "fixed_by": list(inner.fixed_by)}
    elif isinstance(inner, Compliant):
        content.update(text=inner.evidence)
        content["detail"] = {"title": inner.title}
    elif isinstance(inner, Unreadable):
        verdict = "unreadable"
        content.update(text=inner.reason)
    if isinstance(result, Waived):
        waiver = result.waiver
        content["detail"]["waiver"] = {
            "resource": waiver.resource,
            "justification": waiver.justification,
            "approver": waiver.approver,
            "created": waiver.created.isoformat(),
            "expires": waiver.expires.isoformat(),
            "source": waiver.source,
        }
    return _Row(check=inner.check, resource=inner.resource, verdict=verdict, content=content)


def _by_target(plans: Sequence[Plan]) -> dict[str, tuple[list[_Row], dict[str, int]]]:
    """Each target's results (the worst verdict when two plans report one) and its summed counts."""
    out: dict[str, tuple[dict[tuple[str, str], _Row], dict[str, int]]] = {}
    for plan in plans:
        name = plan.target or plan.source
        rows, counts = out.setdefault(
            name, ({}, {"compliant": 0, "drift": 0, "waived": 0, "unreadable": 0, "exit_code": 0})
        )
        for key, value in plan.summary().items():
            counts[key] += value
        counts["exit_code"] = max(counts["exit_code"], int(plan.exit_code))
        results: list[Result | Waived] = [
            *plan.changes,
            *plan.findings,
            *plan.compliant,
            *plan.unreadable,
            *plan.waived,
        ]
        for result in results:
            row = _result_row(result)
            pair = (row.check, row.resource)
            if pair not in rows or _WORST_FIRST.index(row.verdict) < _WORST_FIRST.index(rows[pair].verdict):
                rows[pair] = row
    return {name: (list(rows.values()), counts) for name, (rows, counts) in out.items()}


def _audit_lines(path: Path) -> dict[str, dict[str, Any]]:
    """apply's audit log as rows of ``applies`` by their line's digest; FILE:LINE on a bad line."""
    refuse_non_regular(path, "audit log")
    out: dict[str, dict[str, Any]] = {}
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return out
    except OSError as exc:
        raise InputError(f"{path}: cannot read the audit log ({exc.strerror or exc})") from None
    with handle:
        for number, raw in enumerate(iter(lambda: handle.readline(_MAX_LINE + 1), b""), start=1):
            if len(raw) > _MAX_LINE:
                raise InputError(f"{path}:{number}: audit line longer than {_MAX_LINE} bytes")
            if not raw.strip():
                continue
            row = _audit_row(path, number, raw)
            out[row["line_key"]] = row
    return out


def _audit_row(path: Path, number: int, raw: bytes) -> dict[str, Any]:
    try:
        entry = json.loads(raw.decode("utf-8"))
        time = datetime.datetime.fromisoformat(str(entry["time"]))
        if time.tzinfo is None:
            raise ValueError("time without UTC offset")
        fields = {name: entry.get(name) for name in ("target", "check", "resource", "setting", "old", "new", "message")}
        row = {
            "time": time,
            "run": str(entry["run"]),
            "command": str(entry.get("command")),
            "operator": entry.get("operator"),
            "result": str(entry["result"]),
            "check_id": fields.pop("check"),
            **fields,
        }
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}:{number}: not an audit log line written by apply ({type(exc).__name__})") from None
    row["line_key"] = digest(raw.strip().decode("utf-8"))
    row["subject_key"] = digest(row["target"], row["check_id"], row["resource"])
    return row


def _iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
