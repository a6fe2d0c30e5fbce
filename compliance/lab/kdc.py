"""A real MIT Kerberos KDC for the lab: its own realm, database and ``krb5.conf`` in a temp folder.

The tests (and anyone trying the keytab workflow against the lab) need Kerberos that is real end
to end: AS and TGS exchanges with a KDC, service tickets checked by a keytab, the KDC's own error
codes. So this module drives Debian's MIT Kerberos binaries (``krb5-kdc``: ``kdb5_util``,
``kadmin.local``, ``krb5kdc``) rather than faking tickets:

- everything lives in one temporary folder: ``kdc.conf``, the database, its stash, the log, a
  ``krb5.conf`` for clients, and the keytabs;
- the KDC listens on 127.0.0.1 only (``kdc_listen``/``kdc_tcp_listen``), on a free port;
- the client ``krb5.conf`` turns every DNS lookup off (``dns_lookup_kdc``, ``dns_lookup_realm``,
  ``dns_canonicalize_hostname``, ``rdns``, ``qualify_shortname``), so nothing leaves loopback;
- nothing system-wide is read or written: the binaries get ``KRB5_KDC_PROFILE`` and
  ``KRB5_CONFIG``, and callers point their own process at ``krb5_conf`` through ``KRB5_CONFIG``.

Principals: the audit user (``uccx-audit@LAB.LOCAL``, password and keytab, pre-authentication
required, as AD does) and the lab's service, ``HTTP/<host>@LAB.LOCAL``, whose keys are in
``service_keytab``. ``clock_offset_s`` runs the KDC under libfaketime with its clock moved, which
is how the clock-skew error is reproduced against a real KDC.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

REALM = "LAB.LOCAL"
USER = "uccx-audit"
SERVICE = "HTTP"
_BINARIES = ("krb5kdc", "kdb5_util", "kadmin.local")
_SBIN = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")
FAKETIME_LIBRARIES = (
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
)
INSTALL_HINT = "install MIT Kerberos: apt-get install krb5-kdc krb5-user (or run scripts/install-test-servers.sh)"


class KdcUnavailable(RuntimeError):
    """The MIT Kerberos binaries (or libfaketime, for a moved clock) are not installed."""


def find_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    return next((f"{d}/{name}" for d in _SBIN if os.access(f"{d}/{name}", os.X_OK)), None)


def missing_binaries() -> list[str]:
    return [name for name in _BINARIES if find_binary(name) is None]


def faketime_library() -> str | None:
    return next((p for p in FAKETIME_LIBRARIES if os.path.exists(p)), None)


def _free_port() -> int:
    # The KDC binds the port itself; pick one the kernel says is free on both UDP and TCP.
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise OSError("no free loopback port for the KDC")


def client_krb5_conf(realm: str, kdc_port: int | None, *, clockskew_s: int = 300) -> str:
    """A ``krb5.conf`` that knows one realm on loopback and never asks DNS anything."""
    kdc = f"\n    kdc = 127.0.0.1:{kdc_port}" if kdc_port else ""
    return f"""[libdefaults]
    default_realm = {realm}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    qualify_shortname = ""
    udp_preference_limit = 1
    kdc_timesync = 0
    clockskew = {clockskew_s}
    forwardable = false
    default_ccache_name = MEMORY:uccx-default

[realms]
    {realm} = {{{kdc}
    }}

[domain_realm]
    .lab.local = {realm}
    lab.local = {realm}
"""


class Kdc:
    """A running KDC for one realm; a context manager that creates and destroys everything."""

    def __init__(
        self,
        service_hosts: tuple[str, ...] = ("127.0.0.1",),
        user_password: str = "uccx-lab",
        realm: str = REALM,
        clock_offset_s: int = 0,
        max_ticket_life: str = "10h",
    ) -> None:
        missing = missing_binaries()
        if missing:
            raise KdcUnavailable(f"{', '.join(missing)} not found; {INSTALL_HINT}")
        if clock_offset_s and faketime_library() is None:
            raise KdcUnavailable("libfaketime not found (apt-get install faketime); needed to move the KDC's clock")
        self.realm = realm
        self.service_hosts = service_hosts
        self.clock_offset_s = clock_offset_s
        self._password = user_password
        self._max_life = max_ticket_life
        self._dir = tempfile.TemporaryDirectory(prefix="uccx-kdc-")
        self.folder = Path(self._dir.name)
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    # --- what clients use -------------------------------------------------------------------

    @property
    def krb5_conf(self) -> Path:
        return self.folder / "krb5.conf"

    @property
    def user_principal(self) -> str:
        return f"{USER}@{self.realm}"

    @property
    def user_keytab(self) -> Path:
        return self.folder / "uccx-audit.keytab"

    @property
    def service_keytab(self) -> Path:
        return self.folder / "http.keytab"

    def service_principal(self, host: str) -> str:
        return f"{SERVICE}/{host}@{self.realm}"

    @property
    def client_env(self) -> dict[str, str]:
        """The environment a client process needs: this realm's config, nothing else."""
        return {"KRB5_CONFIG": str(self.krb5_conf)}

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Kdc:
        if self._process is not None:
            return self
        self.port = _free_port()
        self._write_configs()
        self._run("kdb5_util", "create", "-s", "-r", self.realm, "-P", "uccx-lab-master-key")
        admin = [
            f"addprinc -requires_preauth -maxlife {self._max_life} -pw {self._password} {USER}",
            f"ktadd -norandkey -k {self.user_keytab} {USER}",
        ]
        for host in self.service_hosts:
            admin += [f"addprinc -randkey {SERVICE}/{host}", f"ktadd -k {self.service_keytab} {SERVICE}/{host}"]
        for query in admin:
            self._run("kadmin.local", "-r", self.realm, "-q", query)
        for keytab in (self.user_keytab, self.service_keytab):
            keytab.chmod(0o600)
        self._process = subprocess.Popen(
            [str(find_binary("krb5kdc")), "-n", "-r", self.realm, "-P", str(self.folder / "kdc.pid")],
            env=self._env(faketime=True),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self._wait_listening()
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            if process.stderr is not None:
                process.stderr.close()
        self._dir.cleanup()

    def __enter__(self) -> Kdc:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def log_text(self) -> str:
        path = self.folder / "kdc.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def add_principal(self, name: str, *, password: str | None = None, keytab: Path | None = None) -> None:
        """Another principal (a wrong SPN's service, a second user) in the running KDC's database."""
        key = f"-pw {password}" if password else "-randkey"
        self._run("kadmin.local", "-r", self.realm, "-q", f"addprinc {key} {name}")
        if keytab is not None:
            keep = "-norandkey " if password else ""  # ktadd would otherwise give the principal new keys
            self._run("kadmin.local", "-r", self.realm, "-q", f"ktadd -k {keytab} {keep}{name}")

    # --- internals ----------------------------------------------------------------------------

    def _write_configs(self) -> None:
        folder = self.folder
        (folder / "kadm5.acl").write_text(f"*/admin@{self.realm} *\n", encoding="utf-8")
        (folder / "kdc.conf").write_text(
            f"""[kdcdefaults]
    kdc_listen = 127.0.0.1:{self.port}
    kdc_tcp_listen = 127.0.0.1:{self.port}

[realms]
    {self.realm} = {{
        database_name = {folder}/principal
        key_stash_file = {folder}/stash
        acl_file = {folder}/kadm5.acl
        max_life = {self._max_life}
        max_renewable_life = 0
        master_key_type = aes256-cts-hmac-sha1-96
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    }}

[logging]
    kdc = FILE:{folder}/kdc.log
    admin_server = FILE:{folder}/kadmin.log
    default = FILE:{folder}/krb5lib.log
""",
            encoding="utf-8",
        )
        self.krb5_conf.write_text(client_krb5_conf(self.realm, self.port), encoding="utf-8")

    def _env(self, *, faketime: bool = False) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KRB5", "FAKETIME", "LD_PRELOAD"))}
        env.update({"KRB5_KDC_PROFILE": str(self.folder / "kdc.conf"), "KRB5_CONFIG": str(self.krb5_conf)})
        if faketime and self.clock_offset_s:
            env.update(_faketime_env(self.clock_offset_s))
        return env

    def _run(self, binary: str, *args: str) -> None:
        path = find_binary(binary)
        assert path is not None  # checked in __init__
        done = subprocess.run(
            [path, *args], env=self._env(), capture_output=True, timeout=60, stdin=subprocess.DEVNULL, check=False
        )
        if done.returncode != 0:
            output = (done.stderr or done.stdout).decode(errors="replace").strip()
            raise RuntimeError(f"{binary} {args[0]} failed (exit {done.returncode}): {output}")

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                error = self._process.stderr.read().decode(errors="replace") if self._process.stderr else ""
                raise RuntimeError(f"krb5kdc exited {self._process.returncode}: {error.strip()} {self.log_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"krb5kdc did not listen on 127.0.0.1:{self.port} within 20 s")


def _faketime_env(offset_s: int) -> Mapping[str, str]:
    library = faketime_library()
    assert library is not None
    sign = "+" if offset_s >= 0 else "-"
    # "+7200" shifts the clock and lets it run (libfaketime's relative-offset form).
    return {"LD_PRELOAD": library, "FAKETIME": f"{sign}{abs(offset_s)}", "FAKETIME_DONT_RESET": "1"}
