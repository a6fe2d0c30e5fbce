"""Many simulated organizations on one port, for fleet tests and the fleet benchmark (docs/lab.md).

Each organization answers under its own path prefix: ``/org/<name>/PowerShell/`` and
``/org/<name>/wsman/<SERVER>``, matched in any case, with or without the trailing slash, as the
single lab's paths are. Each has its own ``LabState``, password, ``LabFaults`` and counters
(``compliance.lab.organization``); organizations of one scenario read one loaded copy of its
objects until their first change (``LabState.sharing``).

Credentials: every organization has its own NTLM user file, holding the same user name
(``uccx-audit@lab.local``, ``LAB\\uccx-audit``, as each customer's AD would) with that
organization's password. The handler picks the file of the organization the request's path names,
and a connection authenticated for one organization must authenticate again for another
(server.py ``_authenticated``); ``UserFile.active`` sets ``NTLM_USER_FILE`` to that file under its
lock only around the pyspnego calls that read it, as for the single lab. One file per organization
keeps each lookup to a two-line file (pyspnego reads the whole file at each AUTHENTICATE), and
one organization's password can never open another's endpoints.

    specs = [OrgSpec("org-a", password="pa"), OrgSpec("org-b", password="pb", hung=True)]
    with Fleet(specs, port=0) as fleet:
        fleet["org-a"].exchange_endpoint  # http://127.0.0.1:<port>/org/org-a/PowerShell/
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compliance.errors import InputError
from compliance.lab.faults import LabFaults
from compliance.lab.inventory import PASSWORD_ENV, write_fleet_inventory
from compliance.lab.organization import Organization, move_events_to_now, scenario_folder
from compliance.lab.server import LabServer, LabTls
from compliance.lab.shells import ShellService
from compliance.lab.state import LabState

ORG_PATH_PREFIX = "/org/"
DEFAULT_SCENARIO = "exchange2010-sp3-defaults"
DEFAULT_PASSWORD = "uccx-lab"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")  # one path segment, no escaping needed


@dataclass(frozen=True)
class OrgSpec:
    """One organization of a fleet. ``hung``: it accepts TCP, reads each request, never answers."""

    name: str
    scenario: str | Path = DEFAULT_SCENARIO
    password: str = field(default=DEFAULT_PASSWORD, repr=False)
    faults: LabFaults | None = None
    hung: bool = False


def numbered(count: int, first: int = 1) -> list[str]:
    """``org-0001``...: names that sort as they count, four digits or as many as the last needs."""
    width = max(4, len(str(first + count - 1)))
    return [f"org-{n:0{width}d}" for n in range(first, first + count)]


class Fleet(LabServer):
    """Running organizations on one port; ``fleet[name]`` is one (an ``Organization``)."""

    def __init__(
        self,
        organizations: Sequence[OrgSpec],
        port: int = 0,
        tls: LabTls | None = None,
        events_relative_to_now: bool = False,
    ) -> None:
        super().__init__(port, tls)
        if not organizations:
            raise InputError("a lab fleet needs at least one organization")
        templates: dict[Path, LabState] = {}  # one loaded copy per scenario folder, never served
        self._orgs: dict[str, Organization] = {}
        try:
            for spec in organizations:
                self._add(spec, templates, events_relative_to_now)
        except BaseException:
            for org in self._orgs.values():
                org.close()
            raise

    def _add(self, spec: OrgSpec, templates: dict[Path, LabState], events_relative_to_now: bool) -> None:
        if not _NAME.fullmatch(spec.name):
            raise InputError(f"lab organization name {spec.name!r}: letters, digits, '.', '_' and '-' only")
        key = spec.name.lower()
        if key in self._orgs:
            raise InputError(f"lab organization name {spec.name!r} is given twice (names ignore case)")
        folder = scenario_folder(spec.scenario).resolve()
        if folder not in templates:
            templates[folder] = LabState.from_folder(folder)
            if events_relative_to_now:
                move_events_to_now(templates[folder], folder)
        state = LabState.sharing(templates[folder])
        faults = spec.faults or LabFaults()
        prefix = f"{ORG_PATH_PREFIX.rstrip('/')}/{spec.name}"
        self._orgs[key] = Organization(spec.name, folder.name, state, spec.password, faults, prefix, spec.hung)

    @classmethod
    def numbered(
        cls,
        count: int,
        first: int = 1,
        scenario: str | Path = DEFAULT_SCENARIO,
        password: str = DEFAULT_PASSWORD,
        hung: int = 0,
        faults: Callable[[], LabFaults] = LabFaults,
        **server: Any,
    ) -> Fleet:
        """``count`` organizations ``org-0001``... of one scenario and password; the first ``hung``
        of them hung. ``faults`` makes each organization's own ``LabFaults``."""
        if count < 1:
            raise InputError(f"--organizations: expected at least 1, got {count}")
        if first < 1:
            raise InputError(f"--first-org: expected at least 1, got {first}")
        if not 0 <= hung <= count:
            raise InputError(f"--hung: expected 0 to {count} (the number of organizations), got {hung}")
        names = numbered(count, first)
        specs = [OrgSpec(n, scenario, password, faults(), hung=i < hung) for i, n in enumerate(names)]
        return cls(specs, **server)

    def organizations(self) -> list[Organization]:
        return list(self._orgs.values())

    def __getitem__(self, name: str) -> Organization:
        return self._orgs[name.lower()]

    def __len__(self) -> int:
        return len(self._orgs)

    def route(self, path: str) -> tuple[Organization, ShellService] | None:
        """``/org/<name>/<endpoint path>``, all of it in any case; the single lab's paths are 404s."""
        lowered = path.split("?", 1)[0].lower()
        if not lowered.startswith(ORG_PATH_PREFIX):
            return None
        name, _, rest = lowered[len(ORG_PATH_PREFIX) :].partition("/")
        org = self._orgs.get(name)
        service = org.service_for("/" + rest) if org is not None else None
        return None if org is None or service is None else (org, service)

    @property
    def requests(self) -> int:
        """HTTP requests to every organization so far."""
        return sum(sum(org.requests.values()) for org in self._orgs.values())

    def write_inventory(
        self,
        path: str | Path,
        baseline: str = "uccx-exchange2010-sp1",
        password_env: str | Callable[[str], str] = PASSWORD_ENV,
        **target: Any,
    ) -> Path:
        """One target per organization, named as it; ``password_env`` is one variable for all, or
        a function of the organization's name (a variable each); ``target`` overrides fields of
        every target (``timeouts=...``)."""
        return write_fleet_inventory(self.organizations(), Path(path), baseline, password_env, **target)
