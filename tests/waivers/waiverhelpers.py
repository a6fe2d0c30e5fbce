"""Waiver files for the tests, and the dates they are judged on."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import yaml

TODAY = datetime.date(2026, 11, 15)
HEADER = "apiVersion: uccx-compliance/v1\nkind: Waivers\n"


def waiver(**fields: Any) -> dict[str, Any]:
    """One valid waiver (of the defaults folder's IMAP drift); ``fields`` replace or add keys."""
    base: dict[str, Any] = {
        "check": "UCCX-IMAP-004",
        "resource": "IMAP settings on *",
        "justification": "UCCX cut-over in the March change window",
        "approver": "jane.doe@example.com",
        "created": "2026-11-01",
        "expires": "2027-02-01",
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def write_waivers(path: Path, *waivers: dict[str, Any]) -> Path:
    body = yaml.safe_dump({"waivers": list(waivers)}, sort_keys=False, allow_unicode=True)
    path.write_text(HEADER + body, encoding="utf-8")
    return path
