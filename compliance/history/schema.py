"""The history's tables, and the forward migrations that build them (docs/history.md, "Schema").

Why run-length encoding, not one row per run x result: 365 daily runs of 100 targets of ~30
results are ~1.1 million rows even when nothing changes; ``bench/history_size.py`` measured it.
Here a result is an ``observations`` row that spans every run in which its target, check and
resource kept the same verdict and the same value: a new run only moves ``last_run`` forward.
A new row starts when the verdict or the value changes, or when the target's previous run did
not report that result. With ``target_runs`` (which runs covered which target, and its counts)
the verdict of any result in any run can be read back exactly; nothing is sampled away.

Free text (resources, values, reasons) comes from Exchange and may hold NUL, control characters
and lone surrogates, which PostgreSQL's ``text`` and UTF-8 cannot store raw: ``Escaped`` stores
it as its JSON string (``compliance.reporters.common.json_text``), which round-trips exactly.
Lookups never index free text: ``subjects`` and ``facts`` are found by a SHA-256 of their content.

A migration is a function of an open transaction; ``MIGRATIONS[n - 1]`` brings version n - 1 to n.
To add migration 3: write ``_migration_3(conn)`` (DDL plus any backfill, as ``_migration_2``
does), append it to ``MIGRATIONS``, and describe it in docs/history.md. Never edit a released one.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

from compliance.reporters.common import json_text


class UtcDateTime(sa.types.TypeDecorator[datetime.datetime]):
    """An aware UTC time in and out; stored naive UTC, so SQLite (no time zones) and PostgreSQL agree."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime.datetime | None, dialect: Dialect) -> datetime.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("history times must be aware (UTC)")
        return value.astimezone(datetime.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime.datetime | None, dialect: Dialect) -> datetime.datetime | None:
        return None if value is None else value.replace(tzinfo=datetime.timezone.utc)


class Escaped(sa.types.TypeDecorator[Any]):
    """Any JSON value (text from Exchange included) stored as its JSON text: NUL and lone
    surrogates become escapes, so both backends store it and it reads back unchanged."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str:
        return json_text(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


def digest(*parts: Any) -> str:
    """The SHA-256 (hex) of ``parts`` as canonical JSON: the key of a subject, a fact or an apply line."""
    return hashlib.sha256(json_text(list(parts)).encode("utf-8")).hexdigest()


metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", UtcDateTime, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(200), nullable=False, unique=True),
    sa.Column("started_at", UtcDateTime, nullable=False, index=True),
    sa.Column("finished_at", UtcDateTime, nullable=False),
    sa.Column("command", Escaped, nullable=False),
    sa.Column("tool_version", sa.String(50), nullable=False),
    sa.Column("exit_code", sa.Integer, nullable=False),
    sa.Column("hostname", Escaped, nullable=False),
)

targets = sa.Table(
    "targets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(64), nullable=False, unique=True),  # digest(name)
    sa.Column("name", Escaped, nullable=False),
)

# The per-run summary: which targets a run covered, with their counts (the timeline).
target_runs = sa.Table(
    "target_runs",
    metadata,
    sa.Column("run", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("target", sa.Integer, sa.ForeignKey("targets.id"), primary_key=True, index=True),
    sa.Column("compliant", sa.Integer, nullable=False),
    sa.Column("drift", sa.Integer, nullable=False),
    sa.Column("waived", sa.Integer, nullable=False),
    sa.Column("unreadable", sa.Integer, nullable=False),
    sa.Column("exit_code", sa.Integer, nullable=False),
)

# One target x check x resource.
subjects = sa.Table(
    "subjects",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(64), nullable=False, unique=True),  # digest(target name, check, resource)
    sa.Column("target", sa.Integer, sa.ForeignKey("targets.id"), nullable=False, index=True),
    sa.Column("check_id", Escaped, nullable=False),
    sa.Column("resource", Escaped, nullable=False),
)

# What a result said, deduplicated by content: thousands of runs share one row.
facts = sa.Table(
    "facts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(64), nullable=False, unique=True),  # digest(the columns below)
    sa.Column("current", Escaped, nullable=True),  # the live value (changes)
    sa.Column("desired", Escaped, nullable=True),  # what apply would set (changes)
    sa.Column("text", Escaped, nullable=True),  # requirement, evidence, reason or message
    sa.Column("detail", Escaped, nullable=False),  # title, severity, setting, action, waiver
)

VERDICTS = ("compliant", "drift", "waived", "unreadable")

observations = sa.Table(
    "observations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("subject", sa.Integer, sa.ForeignKey("subjects.id"), nullable=False),
    sa.Column("verdict", sa.String(12), nullable=False),
    sa.Column("fact", sa.Integer, sa.ForeignKey("facts.id"), nullable=False),
    sa.Column("first_run", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("last_run", sa.Integer, sa.ForeignKey("runs.id"), nullable=False, index=True),
    sa.Index("ix_observations_subject_last", "subject", "last_run"),
)


def _apply_columns() -> list[sa.Column[Any]]:
    """``applies`` as version 1 created it: one row per audit log line (compliance/apply/auditlog.py)."""
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("line_key", sa.String(64), nullable=False, unique=True),  # digest(the line): idempotent
        sa.Column("time", UtcDateTime, nullable=False, index=True),
        sa.Column("run", Escaped, nullable=False),
        sa.Column("command", Escaped, nullable=False),
        sa.Column("operator", Escaped, nullable=False),  # {"local": ..., "remote": ...}
        sa.Column("target", Escaped, nullable=True),
        sa.Column("check_id", Escaped, nullable=True),
        sa.Column("resource", Escaped, nullable=True),
        sa.Column("setting", Escaped, nullable=True),
        sa.Column("old", Escaped, nullable=True),
        sa.Column("new", Escaped, nullable=True),
        sa.Column("result", Escaped, nullable=False),
        sa.Column("message", Escaped, nullable=True),
    ]


applies = sa.Table(
    "applies",
    metadata,
    *_apply_columns(),
    # Migration 2: digest(target, check, resource), so "which apply fixed it" is an index lookup.
    sa.Column("subject_key", sa.String(64), nullable=True, index=True),
)

_VERSION_1_TABLES = (schema_version, runs, targets, target_runs, subjects, facts, observations, applies)


def _migration_1(conn: Connection) -> None:
    """Every table, as version 1 had them (``applies`` without ``subject_key``)."""
    for table in _VERSION_1_TABLES:
        if table is applies:
            sa.Table("applies", sa.MetaData(), *_apply_columns()).create(conn)
        else:
            table.create(conn)


def _migration_2(conn: Connection) -> None:
    """``applies.subject_key``: a column, its index, and a backfill of the rows already there."""
    conn.execute(sa.text("ALTER TABLE applies ADD COLUMN subject_key VARCHAR(64)"))
    conn.execute(sa.text("CREATE INDEX ix_applies_subject_key ON applies (subject_key)"))
    rows = conn.execute(sa.select(applies.c.id, applies.c.target, applies.c.check_id, applies.c.resource)).all()
    for row in rows:
        key = digest(row.target, row.check_id, row.resource)
        conn.execute(sa.update(applies).where(applies.c.id == row.id).values(subject_key=key))


MIGRATIONS: tuple[Callable[[Connection], None], ...] = (_migration_1, _migration_2)
SCHEMA_VERSION = len(MIGRATIONS)
