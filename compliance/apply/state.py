"""What apply remembers per target: when each setting that needs a restart was changed.

A setting that a service reads at start (IMAP settings, the store registry value) is only in
effect once that service started after the change (``compliance.checks.restarts``). Exchange
keeps no readable change time for a registry value (the key's last write time needs
``RegQueryInfoKey`` through P/Invoke, which the PowerShell 2.0 reads here do not do), so apply
records it: one JSON file per target, ``<state dir>/<target>.json``::

    {"kind": "uccx-compliance/state", "format_version": 1, "target": "lab",
     "changes": [{"server": "EX01", "check": "UCCX-STORE-001", "setting": "...",
                  "services": ["MSExchangeIS"], "changed": "2026-12-01T09:30:00.123+00:00"}]}

The state dir is ``--state-dir`` (of ``apply`` and ``plan`` alike), else
``$UCCX_COMPLIANCE_STATE_DIR``, else ``.uccx-compliance/state``. Each write is a whole new file
renamed into place (``compliance.files.write_atomic``); a record replaces the older one of the
same server, check and setting. The time is this machine's clock when the change's step
returned, so it is never earlier than the write.
"""

from __future__ import annotations

import datetime
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compliance.apply import DEFAULT_AUDIT_LOG
from compliance.errors import InputError
from compliance.files import refuse_non_regular, write_atomic
from compliance.reporters.common import json_text

KIND = "uccx-compliance/state"
FORMAT_VERSION = 1
STATE_DIR_ENV = "UCCX_COMPLIANCE_STATE_DIR"
DEFAULT_STATE_DIR = DEFAULT_AUDIT_LOG.parent / "state"
_MAX_BYTES = 1 << 20  # a record is ~200 bytes; a file of a thousand servers stays far below
_WHAT = "state file"


@dataclass(frozen=True)
class ChangeRecord:
    server: str
    check: str
    setting: str | None
    services: tuple[str, ...]
    changed: datetime.datetime  # aware, UTC

    def key(self) -> tuple[str, str, str]:
        return (self.server.casefold(), self.check.casefold(), (self.setting or "").casefold())


def state_dir(explicit: Path | None = None) -> Path:
    """``--state-dir``, else the environment variable, else ``.uccx-compliance/state``: the same for
    ``apply`` (which writes it) and ``plan`` (which reads it), whatever ``--audit-log`` says."""
    if explicit is not None:
        return explicit
    if env := os.environ.get(STATE_DIR_ENV):
        return Path(env)
    return DEFAULT_STATE_DIR


def state_path(folder: Path, target: str) -> Path:
    """``<folder>/<target>.json``; the name reduced to characters safe in a file name."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", target).strip("._") or "target"
    return folder / f"{safe}.json"


def load(path: Path) -> list[ChangeRecord]:
    """The records in ``path``; none when it does not exist; ``InputError`` (one line) when damaged."""
    try:
        refuse_non_regular(path, _WHAT)
        with path.open("rb") as handle:
            data = handle.read(_MAX_BYTES + 1)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise InputError(f"{path}: cannot read the {_WHAT} ({exc.strerror or exc})") from None
    if len(data) > _MAX_BYTES:
        raise InputError(f"{path}: {_WHAT} larger than {_MAX_BYTES} bytes")
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a {_WHAT} written by apply ({type(exc).__name__})") from None
    if not isinstance(document, dict) or document.get("kind") != KIND:
        raise InputError(f"{path}: not a {_WHAT} written by apply (kind is not {KIND})")
    if document.get("format_version") != FORMAT_VERSION:
        raise InputError(f"{path}: {_WHAT} format_version {document.get('format_version')!r} is not supported")
    changes = document.get("changes")
    if not isinstance(changes, list):
        raise InputError(f"{path}: changes: expected a list")
    return [_record(path, index, entry) for index, entry in enumerate(changes)]


def _record(path: Path, index: int, entry: Any) -> ChangeRecord:
    where = f"{path}: changes[{index}]"
    if not isinstance(entry, dict):
        raise InputError(f"{where}: expected an object")
    server, check, setting, services = (entry.get(k) for k in ("server", "check", "setting", "services"))
    if not isinstance(server, str) or not isinstance(check, str) or not isinstance(setting, str | None):
        raise InputError(f"{where}: server and check must be text, setting text or null")
    if not isinstance(services, list) or not all(isinstance(s, str) for s in services):
        raise InputError(f"{where}: services: expected a list of names")
    try:
        changed = datetime.datetime.fromisoformat(str(entry.get("changed")))
    except ValueError:
        raise InputError(f"{where}: changed: not an ISO 8601 time") from None
    if changed.tzinfo is None:
        raise InputError(f"{where}: changed: the time has no UTC offset")
    return ChangeRecord(server, check, setting, tuple(services), changed.astimezone(datetime.timezone.utc))


def record(path: Path, target: str, new: Iterable[ChangeRecord]) -> None:
    """Merge ``new`` into ``path``: a record replaces the older one of its server, check and setting."""
    merged = {r.key(): r for r in load(path)}
    merged.update((r.key(), r) for r in new)
    document = {
        "kind": KIND,
        "format_version": FORMAT_VERSION,
        "target": target,
        "changes": [
            {
                "server": r.server,
                "check": r.check,
                "setting": r.setting,
                "services": list(r.services),
                "changed": r.changed.isoformat(timespec="microseconds"),
            }
            for r in sorted(merged.values(), key=ChangeRecord.key)
        ],
    }
    write_atomic(path, json_text(document, indent=2) + "\n", what=_WHAT)


def latest(records: Sequence[ChangeRecord], server: str, check: str) -> ChangeRecord | None:
    """The most recent record of ``check`` on ``server`` (case-insensitive), or None."""
    found = [r for r in records if r.server.casefold() == server.casefold() and r.check.casefold() == check.casefold()]
    return max(found, key=lambda r: r.changed, default=None)
