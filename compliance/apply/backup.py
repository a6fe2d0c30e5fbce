"""The backup: every prior value a run is about to change, on disk before the first change.

Written to a new file (never over an old backup), flushed and fsynced, and its directory
fsynced, before ``apply`` sends anything; then each entry's ``status`` is updated as the run
goes, by writing a complete new file and renaming it over the old one, so the backup on disk is
always whole and says what was applied. ``rollback BACKUP.json`` reads it back. Both go through
``compliance.files``: a new backup never opens an existing name (``O_EXCL``, no symlink
following) and the rewrite refuses a backup path that is no longer a regular file.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compliance.apply.saved_plan import SavedTarget, change_from_dict
from compliance.errors import InputError
from compliance.files import create_new, ensure_folder, write_atomic
from compliance.plan import Change
from compliance.reporters.common import json_text

KIND = "uccx-compliance/backup"
FORMAT_VERSION = 1
# Entry status: planned (backup written, not sent yet), applied, failed, not-attempted, what-if.
PLANNED = "planned"


@dataclass
class BackupEntry:
    change: Change
    old: Any  # the live value re-read just before apply
    new: Any  # the value apply sets (the change's desired)
    status: str = PLANNED


@dataclass
class Backup:
    path: Path
    target: SavedTarget
    baseline_path: str
    vars: dict[str, Any]
    plan: dict[str, str]  # path and checksum of the plan applied
    entries: list[BackupEntry]
    created: str


def backup_name(target: str, when: datetime.datetime) -> str:
    """``<target>-<UTC time>.json``; the target name is reduced to characters safe in a file name."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", target).strip("._") or "target"
    return f"{safe}-{when.astimezone(datetime.timezone.utc):%Y%m%dT%H%M%SZ}.json"


def _document(backup: Backup) -> dict[str, Any]:
    from compliance.reporters.json import change_dict

    target = backup.target
    return {
        "kind": KIND,
        "format_version": FORMAT_VERSION,
        "created": backup.created,
        "target": {
            "name": target.name,
            "exchange_endpoint": target.exchange_endpoint,
            "host_endpoints": target.host_endpoints,
            "inventory": target.inventory,
            "baseline": target.baseline,
        },
        "baseline_path": backup.baseline_path,
        "vars": backup.vars,
        "plan": backup.plan,
        "entries": [
            {"change": change_dict(e.change, target.name), "old": e.old, "new": e.new, "status": e.status}
            for e in backup.entries
        ],
    }


def write_new_backup(
    directory: Path,
    target: SavedTarget,
    *,
    baseline_path: str,
    variables: Mapping[str, Any],
    plan: Mapping[str, str],
    entries: Sequence[BackupEntry],
    now: datetime.datetime | None = None,
) -> Backup:
    """Create the backup file (never overwriting one) and make it durable before returning."""
    when = now or datetime.datetime.now(datetime.timezone.utc)
    try:
        ensure_folder(directory, "backup")
    except InputError as exc:
        raise InputError(f"{exc}; nothing was sent") from None
    name = backup_name(target.name, when)
    path = directory / name
    backup = Backup(
        path, target, baseline_path, dict(variables), dict(plan), list(entries), when.isoformat(timespec="seconds")
    )
    text = _text(backup)
    counter = 1
    while True:
        try:
            create_new(backup.path, text, what="backup")
            return backup
        except FileExistsError:  # an earlier backup of the same second, or anything else by that name
            counter += 1
            backup.path = directory / name.replace(".json", f"-{counter}.json")
        except OSError as exc:
            raise InputError(
                f"{backup.path}: cannot write the backup ({exc.strerror or exc}); nothing was sent"
            ) from None


def _text(backup: Backup) -> str:
    return json_text(_document(backup), indent=2) + "\n"


def save(backup: Backup) -> None:
    """Rewrite the backup with its entries' current status: a whole new file renamed into place."""
    write_atomic(backup.path, _text(backup), what="backup")


def read_backup(path: Path) -> Backup:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a backup written by apply ({type(exc).__name__})") from None
    if not isinstance(document, dict) or document.get("kind") != KIND:
        found = document.get("kind") if isinstance(document, dict) else None
        raise InputError(f"{path}: not a backup written by apply (kind {found!r}, expected {KIND})")
    if document.get("format_version") != FORMAT_VERSION:
        raise InputError(f"{path}: backup format_version {document.get('format_version')!r} is not supported")
    try:
        t = document["target"]
        target = SavedTarget(
            str(t["name"]),
            str(t["exchange_endpoint"]),
            dict(t["host_endpoints"]),
            str(t["inventory"]),
            dict(t["baseline"]),
        )
        entries = [
            BackupEntry(change_from_dict(e["change"]), e["old"], e["new"], str(e["status"]))
            for e in document["entries"]
        ]
        return Backup(
            path,
            target,
            str(document["baseline_path"]),
            dict(document["vars"]),
            dict(document["plan"]),
            entries,
            str(document["created"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: malformed backup ({type(exc).__name__}: {exc})") from None
