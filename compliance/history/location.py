"""Where the history lives: a SQLite file (the default, ``<state dir>/history.sqlite``) or PostgreSQL.

A ``postgresql://`` URL is opened with psycopg 3 (``postgresql+psycopg``). Its password is never
printed: every message names the URL with ``***`` in its place. Prefer no password in the URL at
all: libpq reads ``PGPASSWORD``, ``~/.pgpass`` (``PGPASSFILE``) and ``PGSERVICE`` itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from compliance.errors import InputError
from compliance.files import ensure_folder, refuse_non_regular

DEFAULT_NAME = "history.sqlite"
_WHAT = "history database"
_POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


@dataclass(frozen=True)
class Location:
    url: sa.URL
    shown: str  # what messages name: the file, or the URL with its password as ***
    secret: str | None  # the URL's password, to scrub from a driver's message

    @property
    def is_postgres(self) -> bool:
        return self.url.get_backend_name() == "postgresql"

    def scrub(self, text: str) -> str:
        """A driver's message on one line, the password (if any) replaced by ***."""
        line = " ".join(text.split())
        return line.replace(self.secret, "***") if self.secret else line


def resolve(location: str | Path | None, *, state_dir: Path) -> Location:
    """The location named by ``--history`` (None: the state dir's file)."""
    if location is None:
        location = state_dir / DEFAULT_NAME
    if isinstance(location, str) and location.startswith(_POSTGRES_SCHEMES):
        return _postgres(location)
    if isinstance(location, str) and "://" in location:
        raise InputError(f"--history {location.split('://', 1)[0]}://...: not a file or a postgresql:// URL")
    path = Path(location)
    refuse_non_regular(path, _WHAT)
    ensure_folder(path.parent, _WHAT)
    return Location(sa.URL.create("sqlite+pysqlite", database=os.fspath(path)), str(path), None)


def _postgres(text: str) -> Location:
    try:
        url = make_url(text)
    except (sa.exc.ArgumentError, ValueError):
        # The URL could not be split, so its password cannot be found in it: show only the scheme.
        raise InputError(f"--history {text.split('://', 1)[0]}://***: not a valid PostgreSQL URL") from None
    url = url.set(drivername="postgresql+psycopg")
    shown = url.set(drivername="postgresql").render_as_string(hide_password=True)
    return Location(url, shown, url.password if isinstance(url.password, str) and url.password else None)


def engine(location: Location) -> Engine:
    if location.is_postgres:
        # connect_timeout: an unreachable server is an error in seconds, not a hang of the audit.
        return sa.create_engine(location.url, connect_args={"connect_timeout": 10}, pool_pre_ping=True)
    return sa.create_engine(location.url, connect_args={"timeout": 30})
