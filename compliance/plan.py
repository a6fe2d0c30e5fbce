"""The plan: what a baseline found against an organization's facts.

Like octoDNS's changes, results are small value objects in a deterministic order. Every check
for every resource ends as exactly one of: compliant (with evidence), a change, a finding (fails
but has no single setting to change), unreadable (with the reason), or waived: a change or
finding that a waiver accepts for a time (``Waived``, with the waiver beside it). Waived drift is
in every report and never in ``changes``/``findings``, so it neither fails the gate nor is applied.
An unreadable result can never be waived.
"""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass, field
from typing import Any

from compliance.errors import ExitCode
from compliance.facts.values import Shown

FORMAT_VERSION = 1
NOT_PLANNED = "not-planned"  # the check id of a target that could not be planned at all


class Action(str, enum.Enum):
    UPDATE = "update"
    CREATE = "create"
    ADD = "add"


class ChangeKind(str, enum.Enum):
    """What a change changes; it decides the remediation cmdlet. Ranked in the order apply sends them."""

    THROTTLING_POLICY = "throttling-policy"  # New-ThrottlingPolicy
    THROTTLING_SETTING = "throttling-setting"  # Set-ThrottlingPolicy
    MAILBOX_POLICY = "mailbox-policy"  # Set-Mailbox -ThrottlingPolicy
    AD_PERMISSION = "ad-permission"  # Add-ADPermission
    IMAP = "imap"  # Set-ImapSettings
    RECEIVE_CONNECTOR = "receive-connector"  # Set-ReceiveConnector
    REGISTRY = "registry"  # New-ItemProperty / Set-ItemProperty on the host endpoint


@dataclass(frozen=True, kw_only=True)
class Change:
    """One setting to change. Keyword-only: ``current`` and ``desired`` can never be swapped unseen."""

    check: str
    title: str
    severity: str
    resource: str  # "IMAP settings on EX01", "EX01\Default EX01", "throttling policy UCCX"
    identity: str  # what the remediation cmdlet's -Identity/-Server takes
    setting: str | None  # None for the creation of a whole object
    current: Shown  # as Exchange shows it: 20, "Unlimited", None
    desired: Shown  # the value apply would set: 2400, None ($null), "Unlimited"
    requirement: str  # "at least 2400", "$null (no limit)"
    action: Action
    server: str | None = None  # the server whose host endpoint or services are involved
    requires_restart: tuple[str, ...] = ()  # services to restart on ``server`` afterwards
    kind: ChangeKind  # what it changes; decides the remediation cmdlet (compliance.kinds)
    principal: str | None = None  # the user an AD permission change grants the right to


@dataclass(frozen=True, kw_only=True)
class Finding:
    check: str
    title: str
    severity: str
    resource: str
    message: str
    fixed_by: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Compliant:
    check: str
    title: str
    resource: str
    evidence: str


@dataclass(frozen=True, kw_only=True)
class Unreadable:
    check: str
    resource: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class SelectorMatch:
    check: str
    patterns: tuple[str, ...]
    matched: tuple[str, ...]
    why: tuple[str, ...] = ()  # for each of ``matched``: why it was selected ("selected by name")
    left_out: tuple[str, ...] = ()  # "IDENTITY: why", the connectors the globs named but UCCX does not reach


@dataclass(frozen=True, kw_only=True)
class WaiverRef:
    """The waiver that accepted a drift, as every report shows it beside the drift."""

    check: str  # the check id it names
    resource: str  # its resource glob, as written
    justification: str
    approver: str
    created: datetime.date  # UTC dates, as written
    expires: datetime.date
    source: str  # "waivers.yaml:12" - where it is written, so a reader can find it


@dataclass(frozen=True, kw_only=True)
class Waived:
    """A change or finding that a waiver accepts until it expires."""

    result: Change | Finding
    waiver: WaiverRef

    @property
    def check(self) -> str:
        return self.result.check

    @property
    def resource(self) -> str:
        return self.result.resource


Result = Change | Finding | Compliant | Unreadable


@dataclass
class Plan:
    baseline: str
    baseline_path: str
    baseline_sha256: str
    source: str
    target: str | None = None  # the inventory target's name; None for an offline facts folder
    vars: dict[str, Any] = field(default_factory=dict)  # the baseline's vars after overrides
    changes: list[Change] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    compliant: list[Compliant] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)
    waived: list[Waived] = field(default_factory=list)
    selectors: list[SelectorMatch] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    capacity: list[dict[str, Any]] = field(default_factory=list)
    # Set when the target could not be planned at all (a baseline for another version, an
    # unreachable endpoint): its one Unreadable (check NOT_PLANNED) says why, and this is its exit.
    not_planned: ExitCode | None = None

    @classmethod
    def failed_target(cls, target: str, source: str, reason: str, exit_code: ExitCode) -> Plan:
        """The plan of a target that could not be planned: one unreadable result naming it, so every
        report format shows it where it shows what could not be read, and nothing to change."""
        plan = cls(baseline="", baseline_path="", baseline_sha256="", source=source, target=target)
        plan.not_planned = exit_code
        plan.add(Unreadable(check=NOT_PLANNED, resource=f"target {target}", reason=reason))
        return plan

    def add(self, result: Result) -> None:
        if isinstance(result, Change):
            self.changes.append(result)
        elif isinstance(result, Finding):
            self.findings.append(result)
        elif isinstance(result, Compliant):
            self.compliant.append(result)
        else:
            self.unreadable.append(result)

    @property
    def restarts(self) -> list[tuple[str, str]]:
        """(server, service) pairs that the changes need restarted, in a stable order."""
        pairs = {(c.server or "", svc) for c in self.changes for svc in c.requires_restart}
        return sorted(pairs)

    def summary(self) -> dict[str, int]:
        return {
            "compliant": len(self.compliant),
            "drift": len(self.changes) + len(self.findings),
            "unreadable": len(self.unreadable),
            "waived": len(self.waived),
        }

    @property
    def exit_code(self) -> ExitCode:
        """The target's own failure (1 or 3) when it was not planned; else 3 when anything could not
        be read (the verdict is incomplete), else 2 on drift, else 0. Waived drift is not drift."""
        if self.not_planned is not None:
            return self.not_planned
        if self.unreadable:
            return ExitCode.INCOMPLETE
        if self.changes or self.findings:
            return ExitCode.DRIFT
        return ExitCode.OK
