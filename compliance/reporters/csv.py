"""The results as CSV, one row per result, for a spreadsheet.

Every cell passes through ``_cell``: control characters, line breaks and bidi marks become
visible escapes (``terminal_safe``, as in the text report: one result is one line), and a cell
that starts with ``=``, ``+``, ``-``, ``@``, TAB or CR gets a leading apostrophe, so that a
spreadsheet never runs a connector named ``=HYPERLINK(...)`` as a formula (OWASP's "CSV
injection"). The stdlib ``csv`` module quotes the rest (commas, quotes). UTF-8, no BOM.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from compliance.plan import Plan
from compliance.reporters.common import terminal_safe
from compliance.reporters.rows import Row, rows

COLUMNS = (
    "target",
    "check",
    "title",
    "severity",
    "verdict",
    "result",
    "resource",
    "setting",
    "current",
    "desired",
    "requirement",
    "detail",
    "waiver_justification",
    "waiver_approver",
    "waiver_created",
    "waiver_expires",
    "waiver_source",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = terminal_safe(str(value))
    return "'" + text if text.startswith(_FORMULA_START) else text


def _values(row: Row) -> tuple[object, ...]:
    waiver = row.waiver
    waived = (
        (waiver.justification, waiver.approver, waiver.created.isoformat(), waiver.expires.isoformat(), waiver.source)
        if waiver is not None
        else ("", "", "", "", "")
    )
    return (
        row.target,
        row.check,
        row.title,
        row.severity,
        row.verdict,
        row.result,
        row.resource,
        row.setting,
        row.current,
        row.desired,
        row.requirement,
        row.detail,
        *waived,
    )


def render(plans: Sequence[Plan], *, verbose: bool = False) -> str:
    """Every drift, waived and unreadable result; compliant ones too (a spreadsheet filters)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180
    writer.writerow(COLUMNS)
    for plan in plans:
        for row in rows(plan):
            writer.writerow([_cell(value) for value in _values(row)])
    return buffer.getvalue()
