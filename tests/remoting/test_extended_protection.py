"""Extended Protection for Authentication (channel binding) over HTTPS, against a real TLS listener.

Exchange supports it from its August 2022 security update (HealthChecker expects "Require" on
/PowerShell). With it on, the NTLM or Kerberos handshake must carry the ``tls-server-end-point``
binding (RFC 5929) of the certificate the server holds. A TLS-intercepting proxy presents its own
certificate, so a handshake relayed through it carries the proxy's binding, and the server refuses
it. The tests put a real intercepting proxy between the tool and the lab: with Extended Protection
off the relayed credentials work (the attack), with it on they are refused; the tool's own direct
connections pass with it on, with NTLM and with Kerberos.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from compliance.lab import Lab
from compliance.lab.account import LAB_USER
from compliance.lab.inventory import PASSWORD_ENV
from compliance.lab.kdc import Kdc
from compliance.lab.server import LabTls
from compliance.lab.tls import ServerFiles, create_ca, write_ca
from tests.loopback import LoopbackListener

pytestmark = pytest.mark.server

PASSWORD = "lab-Pa55-ep"
SCENARIO = "exchange2010-sp3-defaults"  # drift: exit 2 when every fact was read


@dataclass(frozen=True)
class Certificates:
    ca_file: Path
    lab: ServerFiles
    proxy: ServerFiles  # valid for the same names, from the same CA: the client trusts it too


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    folder = tmp_path_factory.mktemp("ep-certs")
    ca = create_ca()
    return Certificates(write_ca(ca, folder), ca.issue().write(folder, "lab"), ca.issue().write(folder, "proxy"))


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


class InterceptingProxy(LoopbackListener):
    """A TLS-terminating relay on 127.0.0.1: TLS with its own certificate towards the client, a
    second TLS session to the lab, and every byte copied across, as an inspecting firewall does."""

    def __init__(self, files: ServerFiles, upstream_port: int) -> None:
        super().__init__()
        self._server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._server_context.load_cert_chain(files.cert, files.key)
        self._client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self._client_context.check_hostname = False
        self._client_context.verify_mode = ssl.CERT_NONE
        self._upstream = ("127.0.0.1", upstream_port)

    def handle(self, conn: socket.socket) -> None:
        threading.Thread(target=self._relay, args=(conn,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        with contextlib.ExitStack() as stack:
            try:
                front = stack.enter_context(self._server_context.wrap_socket(client, server_side=True))
                raw = stack.enter_context(socket.create_connection(self._upstream, timeout=10))
                back = stack.enter_context(self._client_context.wrap_socket(raw, server_hostname="127.0.0.1"))
            except (OSError, ssl.SSLError):
                client.close()
                return
            pair = {front: back, back: front}
            while not self.stopped:
                # TLS may hold decrypted bytes that select cannot see: read those first.
                ready = [sock for sock in pair if sock.pending()] or select.select(list(pair), [], [], 0.2)[0]
                for sock in ready:
                    # Readable TCP may be a TLS record with no application data (a TLS 1.3
                    # session ticket): read without blocking, and wait again if that is all.
                    sock.setblocking(False)
                    try:
                        data = sock.recv(65536)
                    except ssl.SSLWantReadError:
                        continue
                    except OSError:
                        return
                    finally:
                        sock.setblocking(True)
                    if not data:
                        return
                    pair[sock].sendall(data)


def lab(certs: Certificates, *, extended_protection: bool, **options: Any) -> Lab:
    tls = LabTls(certs.lab.cert, certs.lab.key, certs.ca_file, extended_protection=extended_protection)
    return Lab(scenario=SCENARIO, port=0, password=PASSWORD, tls=tls, **options)


def through(proxy: InterceptingProxy, lab: Lab, path: Path, **fields: Any) -> Path:
    """The lab's inventory with every endpoint pointed at the proxy instead."""
    written = lab.write_inventory(path, **fields)
    written.write_text(written.read_text().replace(f":{lab.port}/", f":{proxy.port}/"), encoding="utf-8")
    return written


@contextlib.contextmanager
def intercepted(certs: Certificates, running: Lab) -> Iterator[InterceptingProxy]:
    with InterceptingProxy(certs.proxy, running.port) as proxy:
        yield proxy


@dataclass(frozen=True)
class Way:
    """How the tool logs on: the lab's options and the inventory fields for it."""

    logon: str  # what lab.logons counts
    lab_options: dict[str, Any]
    inventory_fields: dict[str, Any]


@pytest.fixture(params=["ntlm", "kerberos"])
def way(request: pytest.FixtureRequest, tmp_path: Path) -> Way:
    """NTLM with a password, or Kerberos from a keytab (the real KDC): each test runs with both."""
    if request.param == "ntlm":
        return Way("ntlm", {}, {})
    kdc: Kdc = request.getfixturevalue("kerberos")
    keytab = tmp_path / "uccx-audit.keytab"
    keytab.write_bytes(kdc.user_keytab.read_bytes())
    keytab.chmod(0o600)
    fields = {"auth": "kerberos", "username": kdc.user_principal, "password_env": None, "keytab": str(keytab)}
    return Way("kerberos", {"kerberos_keytab": kdc.service_keytab}, fields)


def test_the_tools_own_connection_passes_extended_protection(
    certs: Certificates, way: Way, tmp_path: Path, cli: Any
) -> None:
    with lab(certs, extended_protection=True, **way.lab_options) as running:
        result = cli(
            "plan", "--inventory", running.write_inventory(tmp_path / "inventory.yaml", **way.inventory_fields)
        )
        logons = dict(running.logons)
    assert result.code == 2, result.out + result.err  # drift at factory defaults: every fact was read
    assert set(logons) == {way.logon} and logons[way.logon] >= 2


def test_a_relayed_handshake_works_without_extended_protection_and_is_refused_with_it(
    certs: Certificates, way: Way, tmp_path: Path, cli: Any
) -> None:
    fields = way.inventory_fields
    with lab(certs, extended_protection=False, **way.lab_options) as running, intercepted(certs, running) as proxy:
        relayed = cli("plan", "--inventory", through(proxy, running, tmp_path / "off.yaml", **fields))
        through_proxy, relayed_logons = proxy.connections, dict(running.logons)
    assert relayed.code == 2, relayed.out + relayed.err  # the attack: the proxy read a working session
    assert through_proxy >= 2 and set(relayed_logons) == {way.logon}
    with lab(certs, extended_protection=True, **way.lab_options) as running, intercepted(certs, running) as proxy:
        refused = cli("plan", "--inventory", through(proxy, running, tmp_path / "on.yaml", **fields))
        logons = dict(running.logons)
    assert refused.code == 3, refused.out + refused.err
    assert logons == {}  # no handshake was accepted: nothing was read through the relay
    assert f"https://127.0.0.1:{proxy.port}/PowerShell/: authentication failed for" in refused.out
    assert "Extended Protection refuses a handshake bound to another certificate" in refused.out


def test_a_client_that_sends_no_channel_binding_is_refused(certs: Certificates) -> None:
    """What the lab checks, seen from a bare pypsrp client: with the binding the pool opens, without
    it (``negotiate_send_cbt=False``) NTLM is refused, as IIS refuses it."""
    from pypsrp.exceptions import AuthenticationError
    from pypsrp.powershell import RunspacePool
    from pypsrp.wsman import WSMan

    def open_pool(running: Lab, send_cbt: bool) -> None:
        trust: Any = str(certs.ca_file)  # requests' verify= takes a CA file; pypsrp types it bool
        wsman = WSMan(
            "127.0.0.1",
            port=running.port,
            ssl=True,
            path="PowerShell/",
            auth="ntlm",
            username=LAB_USER,
            password=PASSWORD,
            cert_validation=trust,
            negotiate_send_cbt=send_cbt,
        )
        with wsman, RunspacePool(wsman, configuration_name="Microsoft.Exchange"):
            pass

    with lab(certs, extended_protection=True) as running:
        open_pool(running, send_cbt=True)
        with pytest.raises(AuthenticationError):
            open_pool(running, send_cbt=False)
