"""A small plan with one of each kind of result, for the report writers.

Its values are the ones Exchange shows: a number (16, 20), ``Unlimited`` (a 2013+ limit that a
baseline wants capped) and ``$null`` (``None``: the mailbox on the default throttling policy).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path

import pytest

from compliance import pipeline, resources
from compliance.errors import ExitCode
from compliance.plan import Action, Change, ChangeKind, Compliant, Finding, Plan, Unreadable, Waived, WaiverRef
from compliance.reporters.context import RunContext, TimelinePoint

DEFAULT = "EX01\\Default EX01"
RELAY = "EX01\\Relay | UCCX"  # a connector name with a pipe, which Markdown tables must escape


def sample_plan(target: str | None = None) -> Plan:
    plan = Plan(
        baseline="uccx-exchange2010-sp1",
        baseline_path="baselines/uccx-exchange2010-sp1.yaml",
        baseline_sha256="0" * 64,
        source="facts folder examples/facts/x",
        target=target,
    )
    for result in (
        Change(
            check="UCCX-IMAP-004",
            title="IMAP MaxConnectionsPerUser",
            severity="critical",
            resource="IMAP settings on EX01",
            identity="EX01",
            setting="MaxConnectionsPerUser",
            current=16,
            desired=2400,
            requirement="at least 2400",
            action=Action.UPDATE,
            server="EX01",
            requires_restart=("MSExchangeIMAP4",),
            kind=ChangeKind.IMAP,
        ),
        Change(
            check="UCCX-SMTP-004",
            title="Receive connector MaxInboundConnectionPerSource",
            severity="high",
            resource=DEFAULT,
            identity=DEFAULT,
            setting="MaxInboundConnectionPerSource",
            current=20,
            desired=250,
            requirement="at least 250",
            action=Action.UPDATE,
            server="EX01",
            kind=ChangeKind.RECEIVE_CONNECTOR,
        ),
        Change(
            check="UCCX-SMTP-009",
            title="Relay MessageRateLimit capped",
            severity="low",
            resource=RELAY,
            identity=RELAY,
            setting="MessageRateLimit",
            current="Unlimited",
            desired=100,
            requirement="at most 100",
            action=Action.UPDATE,
            server="EX01",
            kind=ChangeKind.RECEIVE_CONNECTOR,
        ),
        Change(
            check="UCCX-THR-000",
            title="A dedicated throttling policy",
            severity="high",
            resource="throttling policy UCCX",
            identity="UCCX",
            setting=None,
            current=None,
            desired="UCCX",
            requirement="present",
            action=Action.CREATE,
            kind=ChangeKind.THROTTLING_POLICY,
        ),
        Change(
            check="UCCX-THR-001",
            title="IMAPMaxConcurrency",
            severity="critical",
            resource="throttling policy UCCX",
            identity="UCCX",
            setting="IMAPMaxConcurrency",
            current=None,
            desired=None,
            requirement="$null (no limit)",
            action=Action.CREATE,
            kind=ChangeKind.THROTTLING_SETTING,
        ),
        Change(
            check="UCCX-MBX-001",
            title="Mailbox policy",
            severity="critical",
            resource="mailbox uccx",
            identity="lab.local/Users/UCCX Email",
            setting="ThrottlingPolicy",
            current=None,
            desired="UCCX",
            requirement="exactly UCCX",
            action=Action.UPDATE,
            kind=ChangeKind.MAILBOX_POLICY,
        ),
        Finding(
            check="UCCX-EVT-001",
            title="No 9646 events",
            severity="high",
            resource="event log on EX01",
            message="MSExchangeIS 9646: 3 event(s); fixed by UCCX-STORE-001",
            fixed_by=("UCCX-STORE-001",),
        ),
        Compliant(
            check="UCCX-IMAP-001",
            title="IMAP MaxCommandSize",
            resource="IMAP settings on EX01",
            evidence="MaxCommandSize is 10240 (at least 10240)",
        ),
        Unreadable(check="UCCX-ADP-001", resource="organization LAB", reason="GetADPermission.xml: not collected"),
    ):
        plan.add(result)
    return plan


@pytest.fixture
def plan() -> Plan:
    return sample_plan()


@pytest.fixture
def make_plan() -> Callable[[str | None], Plan]:
    """The sample plan for a named inventory target (several plans make a multi-target report)."""
    return sample_plan


# --- real plans: the shipped example fact folders, planned by the shipped baseline ------------------

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "facts"
WAIVER = WaiverRef(
    check="UCCX-SMTP-003",
    resource="*\\Default *",
    justification="the per-source percentage is raised with the connector rebuild, CHG-1042",
    approver="j.doe",
    created=datetime.date(2026, 11, 1),
    expires=datetime.date(2027, 1, 31),
    source="waivers.yaml:3",
)


def real_plans() -> list[Plan]:
    """Two targets from the example folders and one the audit could not reach: ``lab-defaults``
    (drift, one of it waived as a waiver file would; compliance.waivers is the one place that
    applies waivers), ``lab-compliant`` and ``lab-unreachable``."""
    baseline = resources.shipped_baseline("uccx-exchange2010-sp1")
    defaults = pipeline.plan_folder(baseline, EXAMPLES / "exchange2010-sp3-defaults", {})
    defaults.target = "lab-defaults"
    [waived] = [c for c in defaults.changes if c.check == WAIVER.check]
    defaults.changes.remove(waived)
    defaults.waived.append(Waived(result=waived, waiver=WAIVER))
    compliant = pipeline.plan_folder(baseline, EXAMPLES / "exchange2010-sp3-compliant", {})
    compliant.target = "lab-compliant"
    unreachable = Plan.failed_target(
        "lab-unreachable",
        "https://ex02.lab.local:5986/wsman",
        "cannot connect: timed out after 30 s",
        ExitCode.INCOMPLETE,
    )
    return [defaults, compliant, unreachable]


def run_context(*, timeline: bool = True) -> RunContext:
    """An audit's context: two earlier audits of each target a day apart, then this one."""
    start = datetime.datetime(2026, 11, 22, 6, 0, tzinfo=datetime.timezone.utc)
    points = [
        TimelinePoint(
            at=start - datetime.timedelta(days=2), target="lab-defaults", compliant=3, drift=26, waived=0, unreadable=0
        ),
        TimelinePoint(
            at=start - datetime.timedelta(days=1), target="lab-defaults", compliant=5, drift=24, waived=0, unreadable=0
        ),
        TimelinePoint(at=start, target="lab-defaults", compliant=5, drift=23, waived=1, unreadable=0),
        TimelinePoint(
            at=start - datetime.timedelta(days=2), target="lab-compliant", compliant=25, drift=4, waived=0, unreadable=1
        ),
        TimelinePoint(
            at=start - datetime.timedelta(days=1), target="lab-compliant", compliant=29, drift=0, waived=0, unreadable=0
        ),
        TimelinePoint(at=start, target="lab-compliant", compliant=29, drift=0, waived=0, unreadable=0),
    ]
    return RunContext(run_id="run-0042", started_at=start, duration_s=12.5, timeline=tuple(points) if timeline else ())


@pytest.fixture
def plans() -> list[Plan]:
    return real_plans()


@pytest.fixture
def context() -> RunContext:
    return run_context()
