"""The audit log: one JSON object per line, per change and outcome, appended by apply and rollback.

Fields (docs/apply.md): ``time`` (UTC, ISO 8601), ``run`` (one id per apply/rollback run),
``command`` (apply | rollback), ``operator`` (``local``: the local user; ``remote``: the user name
the endpoints were opened with; never a password), ``target``, ``check``, ``resource``,
``setting``, ``old``, ``new``, ``result`` (applied | failed | skipped | what-if | verified |
mismatch) and ``message`` (why, for failed, skipped and mismatch). Each line is written with one
``write`` on a file opened for appending and fsynced, so concurrent runs never interleave
inside a line and a crash loses at most the line being written. A log path that is a symlink,
FIFO or device is refused, never written through (``compliance.files.append_line``).
"""

from __future__ import annotations

import datetime
import enum
import getpass
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compliance.errors import InputError
from compliance.files import append_line, ensure_folder
from compliance.plan import Change
from compliance.reporters.common import json_text

_WHAT = "audit log"


class AuditResult(str, enum.Enum):
    """The ``result`` field of an audit line (docs/apply.md)."""

    APPLIED = "applied"
    FAILED = "failed"
    SKIPPED = "skipped"
    WHAT_IF = "what-if"
    VERIFIED = "verified"
    MISMATCH = "mismatch"

    def __str__(self) -> str:  # "applied", as the reports and the audit log write it
        return self.value


def local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers) and no USER variable
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"


@dataclass
class AuditLog:
    path: Path
    command: str  # apply | rollback
    remote_user: str | None
    run: str = field(default_factory=lambda: uuid.uuid4().hex)

    def ensure_writable(self) -> None:
        """Fail before anything is sent, not halfway, when the log cannot be appended to."""
        try:
            ensure_folder(self.path.parent, _WHAT)
            append_line(self.path, "", what=_WHAT)
        except InputError as exc:
            raise InputError(f"{exc}; nothing was sent") from None

    def record(
        self,
        target: str,
        change: Change | None,
        *,
        old: Any,
        new: Any,
        result: AuditResult,
        message: str | None = None,
        resource: str | None = None,
        setting: str | None = None,
    ) -> None:
        """Append one line. ``change`` None is for a service restart (``resource`` names it)."""
        entry = {
            "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds"),
            "run": self.run,
            "command": self.command,
            "operator": {"local": local_user(), "remote": self.remote_user},
            "target": target,
            "check": change.check if change else None,
            "resource": change.resource if change else resource,
            "setting": change.setting if change else setting,
            "old": old,
            "new": new,
            "result": result.value,
            "message": message,
        }
        ensure_folder(self.path.parent, _WHAT)
        append_line(self.path, json_text(entry) + "\n", what=_WHAT)
