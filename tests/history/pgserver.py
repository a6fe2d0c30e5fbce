"""A real PostgreSQL server for the tests: Debian's postgresql, a private cluster on 127.0.0.1.

initdb refuses to run as root, so as root the cluster belongs to the ``postgres`` user (the
package creates it) and every server command runs through ``runuser -u postgres --``. The data
and socket dirs live in one temp dir owned by that user; the port is a free one; authentication
is trust for the test role on loopback only. ``stop`` stops the server and removes the dir.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROLE = "uccx"


class PostgresUnavailable(Exception):
    """No PostgreSQL server binaries here (scripts/install-test-servers.sh installs them)."""


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise PostgresUnavailable("PostgreSQL is not installed (run scripts/install-test-servers.sh)")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Postgres:
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="uccx-pg-")))
    port: int = field(default_factory=_free_port)
    _as_user: list[str] = field(default_factory=list)
    _bin: Path | None = None

    def _run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        assert self._bin is not None
        command = [*self._as_user, str(self._bin / argv[0]), *argv[1:]]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise PostgresUnavailable(f"{argv[0]} failed ({done.returncode}): {(done.stderr or done.stdout).strip()}")
        return done

    def start(self) -> Postgres:
        self._bin = _bin_dir()
        if os.getuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable(
                    "running as root and there is no postgres user to run the server as"
                ) from None
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]
        data, sockets = self.root / "data", self.root / "sock"
        self._run("initdb", "-D", str(data), "-U", ROLE, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
        if self._as_user:
            subprocess.run([*self._as_user, "mkdir", "-p", str(sockets)], check=True, timeout=30)
        else:
            sockets.mkdir()
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {sockets} -c fsync=off -c full_page_writes=off"
        self._run(
            "pg_ctl", "-D", str(data), "-l", str(self.root / "server.log"), "-w", "-t", "60", "-o", options, "start"
        )
        return self

    def stop(self) -> None:
        if self._bin is not None and (self.root / "data" / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres", *, password: str | None = None) -> str:
        secret = f":{password}" if password else ""
        return f"postgresql://{ROLE}{secret}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        name = f"history_{uuid.uuid4().hex[:12]}"
        import sqlalchemy as sa

        engine = sa.create_engine(
            self.url().replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
        )
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.url(name)
