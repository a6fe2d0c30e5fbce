"""One simulated organization: its state, credentials, faults, endpoints and request counters.

``compliance.lab.server.Lab`` serves one at the root of its port (``/PowerShell/``,
``/wsman/EX01``); ``compliance.lab.fleet.Fleet`` serves many on one port, each under
``/org/<name>/``. Nothing here is shared between organizations: each has its own ``LabState``
(possibly reading a template's objects until its first change, ``LabState.sharing``), its own
NTLM user file (so its own password), its own ``LabFaults`` and its own counters.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

from compliance import resources
from compliance.errors import InputError
from compliance.lab.account import LAB_LOGON_NAMES, LAB_USER
from compliance.lab.auth import UserFile
from compliance.lab.cmdlets import EXCHANGE_CMDLETS, HOST_CMDLETS, READ_ONLY_CMDLETS
from compliance.lab.faults import LabFaults
from compliance.lab.invoke import EndpointProfile, PipelineExecutor
from compliance.lab.shells import ShellService
from compliance.lab.state import LabState

EXCHANGE_PATH = "/PowerShell/"
HOST_PATH_PREFIX = "/wsman/"


class Organization:
    """What one organization answers with; ``bind()`` gives it its URLs once the port is known.

    ``prefix`` is the path in front of its endpoints: ``""`` for the single lab, ``/org/<name>``
    in a fleet. ``hung``: its endpoints read each request and never answer (server.py).
    """

    def __init__(
        self,
        name: str,
        scenario: str,
        state: LabState,
        password: str,
        faults: LabFaults,
        prefix: str = "",
        hung: bool = False,
        kerberos_keytab: Path | None = None,
    ) -> None:
        self.name = name
        self.scenario = scenario
        self.state = state
        self.faults = faults
        self.prefix = prefix
        self.hung = hung
        self.requests: Counter[str] = Counter()  # HTTP requests per endpoint URL
        self.logons: Counter[str] = Counter()  # completed handshakes by mechanism: ntlm, kerberos
        # NT hashes only (the password is not kept); the keytab holds the HTTP/<host> service keys.
        self.users = UserFile(list(LAB_LOGON_NAMES), password, kerberos_keytab)
        self._counter_lock = threading.Lock()
        self._server_url: str | None = None
        self.ca_file: Path | None = None
        # _endpoint_key(path) -> (service, the endpoint's URL, the label of its requests)
        self._services: dict[str, tuple[ShellService, str]] = {}

    # --- URLs ----------------------------------------------------------------------------------

    def bind(self, server_url: str, ca_file: Path | None) -> None:
        """Build the endpoints for a server at ``server_url`` (``http://127.0.0.1:<port>``)."""
        self._server_url = server_url
        self.ca_file = ca_file
        exchange = EndpointProfile(EXCHANGE_CMDLETS, no_language=True, read_only=READ_ONLY_CMDLETS)
        url = self.exchange_endpoint
        self._services = {
            _endpoint_key(EXCHANGE_PATH): (
                ShellService("Microsoft.Exchange", url, PipelineExecutor(self.state, self.faults, exchange), LAB_USER),
                url,
            )
        }
        for name, url in self.host_endpoints.items():
            profile = EndpointProfile(HOST_CMDLETS, no_language=False, server=name, read_only=READ_ONLY_CMDLETS)
            executor = PipelineExecutor(self.state, self.faults, profile)
            service = ShellService("Microsoft.PowerShell", url, executor, LAB_USER)
            self._services[_endpoint_key(f"{HOST_PATH_PREFIX}{name}")] = (service, url)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` followed by the prefix (``/org/org-0001`` in a fleet)."""
        if self._server_url is None:
            raise RuntimeError("the lab is not running")
        return self._server_url + self.prefix

    @property
    def exchange_endpoint(self) -> str:
        return f"{self.base_url}{EXCHANGE_PATH}"

    @property
    def host_endpoints(self) -> dict[str, str]:
        return {s.name: f"{self.base_url}{HOST_PATH_PREFIX}{s.name}" for s in self.state.servers}

    @property
    def machine_name(self) -> str:
        servers = self.state.servers
        return servers[0].fqdn if servers else "EX01.lab.local"

    # --- what the HTTP handler asks ----------------------------------------------------------

    def service_for(self, path: str) -> ShellService | None:
        """The endpoint at ``path`` below the prefix; IIS matches it in any case, with or without
        the trailing slash."""
        found = self._services.get(_endpoint_key(path))
        return found[0] if found else None

    def count(self, service: ShellService) -> None:
        for known, url in self._services.values():
            if known is service:
                with self._counter_lock:
                    self.requests[url] += 1
                return

    def count_logon(self, protocol: str) -> None:
        with self._counter_lock:
            self.logons[protocol or "unknown"] += 1

    def close(self) -> None:
        self.users.close()


def scenario_folder(scenario: str | Path) -> Path:
    """A shipped scenario by name, or a fact folder path."""
    folder = Path(scenario) if Path(scenario).is_dir() else resources.scenario_dir(str(scenario))
    if not folder.is_dir():
        known = ", ".join(n for n in resources.scenario_names() if not n.startswith(".")) or "none shipped"
        raise InputError(f"unknown lab scenario {scenario!r} (known: {known}; or give a fact folder path)")
    return folder


def move_events_to_now(state: LabState, folder: Path) -> None:
    """Keep the scenario's events as recent as they were at its collection (``collection.txt``)."""
    import datetime

    from compliance.facts.offline import collected_at

    when = collected_at(folder)
    if when is not None:
        state.shift_event_times(datetime.datetime.now(datetime.timezone.utc) - when)


def _endpoint_key(path: str) -> str:
    """``/PowerShell/``, ``/powershell`` and ``/POWERSHELL/?x`` are one endpoint: ``/powershell``."""
    return path.split("?", 1)[0].lower().rstrip("/") or "/"
