"""Schema versions and migrations, opening errors, and text that round-trips exactly (both backends)."""

from __future__ import annotations

import datetime
import os
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.errors import InputError, UnreachableError
from compliance.history import HistoryStore, open_history
from compliance.history.location import engine, resolve
from compliance.history.schema import SCHEMA_VERSION, applies, digest, schema_version
from compliance.plan import Compliant, Plan
from tests.conftest import CliRunner
from tests.history.conftest import T0, record
from tests.history.pgserver import Postgres


def _old_store(location: str, tmp_path: Path, version: int) -> HistoryStore:
    place = resolve(location, state_dir=tmp_path)
    store = HistoryStore(place, engine(place))
    assert store.migrate(upto=version) == version
    return store


def test_a_new_history_is_at_the_current_version(store: HistoryStore) -> None:
    assert store.version() == SCHEMA_VERSION == 2


def test_opening_a_version_1_history_migrates_it_and_backfills(location: str, tmp_path: Path) -> None:
    old = _old_store(location, tmp_path, 1)
    with old._db.begin() as conn:  # a row as version 1 stored it: no subject_key column yet
        columns = {c["name"] for c in sa.inspect(conn).get_columns("applies")}
        assert "subject_key" not in columns
        conn.execute(
            sa.text(
                "INSERT INTO applies (line_key, time, run, command, operator, target, check_id, resource, "
                "setting, old, new, result, message) VALUES ('k', :time, '\"r\"', '\"apply\"', '\"ops\"', "
                "'\"lab-01\"', '\"UCCX-IMAP-004\"', '\"IMAP settings on EX01\"', 'null', '16', '2400', "
                "'\"applied\"', 'null')"
            ),
            {"time": T0.replace(tzinfo=None)},
        )
    old.close()

    with open_history(location, state_dir=tmp_path) as store:
        assert store.version() == 2
        with store._db.connect() as conn:
            [key] = conn.scalars(sa.select(applies.c.subject_key))
            versions = list(conn.scalars(sa.select(schema_version.c.version).order_by(schema_version.c.version)))
    assert key == digest("lab-01", "UCCX-IMAP-004", "IMAP settings on EX01")
    assert versions == [1, 2]


def test_a_history_newer_than_the_tool_is_refused_in_one_line(location: str, tmp_path: Path, cli: CliRunner) -> None:
    with open_history(location, state_dir=tmp_path) as store, store._db.begin() as conn:
        conn.execute(sa.insert(schema_version).values(version=99, applied_at=T0))

    with pytest.raises(InputError, match=r"schema version 99 is newer than this uccx-compliance .* \(2\)"):
        open_history(location, state_dir=tmp_path)
    result = cli("history", "--history", location)
    assert result.code == 1
    assert result.err.count("\n") == 1 and "schema version 99" in result.err


def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path, cli: CliRunner) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not SQLite\n" * 100)
    result = cli("history", "--history", junk)
    assert result.code == 1
    assert result.err.count("\n") == 1 and "not a usable history database" in result.err


def test_a_database_of_another_program_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER)")
    with pytest.raises(InputError, match="not a uccx-compliance history"):
        open_history(other, state_dir=tmp_path)


def test_a_folder_or_a_symlink_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dir.sqlite").mkdir()
    with pytest.raises(InputError, match="it is a folder"):
        open_history(tmp_path / "dir.sqlite", state_dir=tmp_path)
    os.symlink(tmp_path / "elsewhere", tmp_path / "link.sqlite")
    with pytest.raises(InputError, match="symbolic link"):
        open_history(tmp_path / "link.sqlite", state_dir=tmp_path)


def test_the_default_lives_in_the_state_dir(tmp_path: Path) -> None:
    with open_history(None, state_dir=tmp_path / "state") as store:
        assert store.location.shown == str(tmp_path / "state" / "history.sqlite")
    assert (tmp_path / "state" / "history.sqlite").is_file()


def test_an_unreachable_server_is_exit_3_and_the_password_is_never_shown(postgres: Postgres, cli: CliRunner) -> None:
    with socket_closed_port() as port:
        url = f"postgresql://uccx:TopSecret99@127.0.0.1:{port}/db"
        with pytest.raises(UnreachableError) as caught:
            open_history(url, state_dir=Path("/nonexistent"))
        result = cli("history", "--history", url)
    assert "TopSecret99" not in str(caught.value) and "***" in str(caught.value)
    assert result.code == 3 and result.err.count("\n") == 1
    assert "TopSecret99" not in result.err + result.out and "uccx:***@127.0.0.1" in result.err


def test_a_missing_database_names_the_url_without_its_password(postgres: Postgres, cli: CliRunner) -> None:
    result = cli("history", "--history", postgres.url("no_such_db", password="Hunter2Secret"))
    assert result.code == 3
    assert "Hunter2Secret" not in result.err and "no_such_db" in result.err


def test_another_scheme_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"mysql://\.\.\.: not a file or a postgresql:// URL"):
        open_history("mysql://u:pw@h/db", state_dir=tmp_path)


class socket_closed_port:
    """A loopback port nothing listens on (bound, then closed)."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        return None


# Any text a server can send, NUL and lone surrogates included, comes back exactly.
_TEXT = st.text(st.characters(codec=None, categories=None), max_size=200)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(resource=_TEXT, evidence=_TEXT)
def test_any_text_round_trips(store: HistoryStore, resource: str, evidence: str) -> None:
    day = store.counts()["runs"]
    plan = Plan(baseline="b", baseline_path="b.yaml", baseline_sha256="0", source="lab", target="lab-01")
    plan.add(Compliant(check="UCCX-IMAP-004", title="t", resource=resource, evidence=evidence))
    record(store, [plan], day)
    with store._db.connect() as conn:
        from compliance.history.schema import facts, subjects

        stored_resources = set(conn.scalars(sa.select(subjects.c.resource)))
        stored_texts = set(conn.scalars(sa.select(facts.c.text)))
    assert resource in stored_resources
    assert evidence in stored_texts
    assert datetime.timedelta(0) <= store.timeline()[-1].at - T0
