"""Waivers: drift an approver accepts for a time, read from a YAML file (``plan --waivers FILE``).

```yaml
apiVersion: uccx-compliance/v1
kind: Waivers
waivers:
  - check: UCCX-SMTP-003
    resource: 'EX01\\Client *'     # glob over the resource the plan shows (case-insensitive)
    target: 'lab-*'               # glob over the inventory target's name (default '*')
    justification: Relay connector is retired in the March change window
    approver: jane.doe@example.com
    created: 2026-11-01           # UTC dates
    expires: 2027-02-01           # at most --waiver-max-days (180) after created
```

The file is hostile input like a baseline: it is read by the bounded reader
(``compliance.yamlsource``) and checked by a pydantic model, so every mistake is one
``FILE:LINE:COL: field: message`` line and exit 1, and it is loaded before anything is connected
to. ``WaiverSet.apply`` then moves the drift a live waiver matches into ``Plan.waived``; what it
cannot waive stays as it is (docs/waivers.md has the rules and why):

- an expired waiver (``expires`` before today, UTC) waives nothing and is a finding of its own
  (``UCCX-WAIVER-EXPIRED``), so the gate fails until someone renews or removes it;
- an unreadable check is never waived (a waiver cannot vouch for what was not read), nor is a
  target that was not planned at all;
- a waiver that matches nothing is a warning: a typo in a glob must not pass silently.
"""

from __future__ import annotations

import dataclasses
import datetime
import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from compliance.baseline.model import CHECK_ID
from compliance.errors import InputError
from compliance.modelerrors import validate
from compliance.plan import Change, Finding, Plan, Waived, WaiverRef
from compliance.yamlsource import YamlDocument, dotted, read_yaml

EXPIRED_CHECK = "UCCX-WAIVER-EXPIRED"
DEFAULT_MAX_DAYS = 180
MAX_DAYS_LIMIT = 3650  # --waiver-max-days: a "waiver" of ten years is a baseline change, not a waiver
MAX_WAIVERS = 1000  # far above any real file; the file's 1 MiB and the reader's value budget bound it too
_MAX_TEXT = 2000  # characters of a justification; a glob or a name is far shorter
_MAX_NAME = 256
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _date(value: Any) -> datetime.date:
    """A UTC date written ``YYYY-MM-DD``. The core schema reads ``2026-11-01`` as text (YAML 1.1's
    date type is not in it), so a date is text in this exact form; anything else is refused."""
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        shown = repr(value) if len(repr(value)) <= 40 else f"{repr(value)[:30]}...({len(str(value))} characters)"
        raise ValueError(f"expected a date written YYYY-MM-DD (UTC), got {shown}")
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a real date") from None


# Non-empty text (not only spaces), never a number or a list; a justification is longer than a name.
Name = Annotated[str, StringConstraints(strict=True, max_length=_MAX_NAME, pattern=r"\S")]
Text = Annotated[str, StringConstraints(strict=True, max_length=_MAX_TEXT, pattern=r"\S")]
UtcDate = Annotated[datetime.date, BeforeValidator(_date)]


class WaiverSpec(BaseModel):
    """One waiver as written; the cross-field rules (dates) are checked by ``load_waivers``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Syntax only: check ids belong to each target's baseline, which is known only once it is loaded
    # (after this file, by design). A well-formed id no baseline has is caught as "matches nothing".
    check: Annotated[str, StringConstraints(strict=True, pattern=CHECK_ID)]
    resource: Name
    target: Name = "*"
    justification: Text
    approver: Name
    created: UtcDate
    expires: UtcDate


class WaiversFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    api_version: Literal["uccx-compliance/v1"] = Field(alias="apiVersion")
    kind: Literal["Waivers"]
    waivers: Annotated[tuple[WaiverSpec, ...], Field(max_length=MAX_WAIVERS)]


@dataclass(frozen=True)
class Waiver:
    """A checked waiver and where it is written (``source``: ``FILE:LINE``)."""

    check: str
    resource: str
    target: str
    justification: str
    approver: str
    created: datetime.date
    expires: datetime.date
    source: str

    @property
    def ref(self) -> WaiverRef:
        return WaiverRef(
            check=self.check,
            resource=self.resource,
            justification=self.justification,
            approver=self.approver,
            created=self.created,
            expires=self.expires,
            source=self.source,
        )

    def expired(self, today: datetime.date) -> bool:
        """Valid through its ``expires`` day (UTC); expired from the day after."""
        return self.expires < today

    def targets(self, plan: Plan) -> bool:
        # An offline facts folder has no target name: only a waiver for every target ('*') reaches it.
        return _glob(plan.target or "", self.target)

    def matches(self, plan: Plan, check: str, resource: str) -> bool:
        return check.casefold() == self.check.casefold() and self.targets(plan) and _glob(resource, self.resource)

    def describe(self) -> str:
        target = "" if self.target == "*" else f", target {self.target!r}"
        return f"waiver {self.source} ({self.check} on {self.resource!r}{target})"


def _glob(text: str, pattern: str) -> bool:
    """fnmatch, ignoring case on every platform (``fnmatch.fnmatch`` follows the OS's case rule)."""
    return fnmatch.fnmatchcase(text.casefold(), pattern.casefold())


@dataclass(frozen=True)
class WaiverSet:
    path: Path
    waivers: tuple[Waiver, ...]

    def expiring(self, days: int, today: datetime.date) -> list[Waiver]:
        """Live waivers that expire within ``days`` days of ``today`` (for notifications), soonest first."""
        horizon = today + datetime.timedelta(days=days)
        return sorted((w for w in self.waivers if today <= w.expires <= horizon), key=lambda w: (w.expires, w.source))

    def apply(self, plans: Sequence[Plan], *, today: datetime.date) -> list[str]:
        """Move the drift each live waiver matches into ``plan.waived``; add a finding for each
        expired waiver; returns the warnings (also added to the notes of the plans they concern)."""
        warnings: list[str] = []
        planned = [p for p in plans if p.not_planned is None]  # a target not planned is never waived
        live = [w for w in self.waivers if not w.expired(today)]
        used: set[Waiver] = set()
        for plan in planned:
            used |= _waive(plan, live)
            for item in plan.unreadable:
                for waiver in live:
                    if waiver.matches(plan, item.check, item.resource):
                        used.add(waiver)
                        _warn(
                            warnings,
                            [plan],
                            f"{waiver.describe()} would waive {item.check} on {item.resource}, which could not "
                            "be read: an unreadable check is never waived, so it stays unreadable",
                        )
        for waiver in self.waivers:
            concerned = [p for p in planned if waiver.targets(p)]
            if waiver.expired(today):
                for plan in concerned:
                    plan.findings.append(_expired_finding(waiver, today))
                if not concerned:
                    _warn(warnings, planned[:1], f"{waiver.describe()} expired and matches no target of this run")
            elif waiver not in used:
                _warn(
                    warnings,
                    concerned or planned[:1],
                    f"{waiver.describe()} matches nothing in this run; check its check id and globs "
                    "(a typo must not pass silently)",
                )
        return warnings


def _waive(plan: Plan, live: Sequence[Waiver]) -> set[Waiver]:
    """Move ``plan``'s changes and findings that a live waiver matches (the first in the file wins)."""
    used: set[Waiver] = set()
    kept: list[Change | Finding] = []
    results: list[Change | Finding] = [*plan.changes, *plan.findings]
    for result in results:
        waiver = next((w for w in live if w.matches(plan, result.check, result.resource)), None)
        if waiver is None:
            kept.append(result)
            continue
        used.add(waiver)
        plan.waived.append(Waived(result=result, waiver=waiver.ref))
    plan.changes = [r for r in kept if isinstance(r, Change)]
    plan.findings = [r for r in kept if isinstance(r, Finding)]
    return used


def _warn(warnings: list[str], plans: Sequence[Plan], line: str) -> None:
    warnings.append(line)
    for plan in plans:
        plan.notes.append(f"warning: {line}")


def _expired_finding(waiver: Waiver, today: datetime.date) -> Finding:
    return Finding(
        check=EXPIRED_CHECK,
        title="A waiver has expired",
        severity="high",
        resource=waiver.describe(),
        message=(
            f"expired on {waiver.expires.isoformat()} (today is {today.isoformat()}, UTC; approved by "
            f"{waiver.approver}); the drift it covered counts again. Fix the drift, or renew the waiver "
            "with a new approval and dates, or delete it"
        ),
    )


def load_waivers(path: Path, *, today: datetime.date, max_days: int = DEFAULT_MAX_DAYS) -> WaiverSet:
    """Read and check a waivers file; any mistake is one located ``InputError`` line (exit 1)."""
    if not 1 <= max_days <= MAX_DAYS_LIMIT:
        raise InputError(f"--waiver-max-days {max_days}: give a number of days from 1 to {MAX_DAYS_LIMIT}")
    doc = read_yaml(path)
    checked = validate(WaiversFile, doc)
    waivers = []
    for index, spec in enumerate(checked.waivers):
        _check_dates(doc, index, spec, today, max_days)
        line = doc.position(("waivers", index)).line
        fields = {f.name: getattr(spec, f.name) for f in dataclasses.fields(Waiver) if f.name != "source"}
        waivers.append(Waiver(**fields, source=f"{path}:{line}"))
    return WaiverSet(path, tuple(waivers))


def _check_dates(doc: YamlDocument, index: int, spec: WaiverSpec, today: datetime.date, max_days: int) -> None:
    def fail(key: str, message: str) -> InputError:
        loc = ("waivers", index, key)
        pos = doc.position(loc)
        return InputError(f"{doc.path}:{pos.line}:{pos.column}: {dotted(loc)}: {message}")

    if spec.created > today:
        raise fail("created", f"{spec.created} is in the future (today is {today}, UTC)")
    if spec.expires <= spec.created:
        raise fail("expires", f"{spec.expires} is not after created ({spec.created})")
    if (spec.expires - spec.created).days > max_days:
        raise fail(
            "expires",
            f"{spec.expires} is {(spec.expires - spec.created).days} days after created ({spec.created}); "
            f"a waiver may last at most {max_days} days (--waiver-max-days)",
        )


def utc_today() -> datetime.date:
    """Today's date in UTC: waivers expire by the UTC calendar, wherever the run is."""
    return datetime.datetime.now(datetime.timezone.utc).date()
