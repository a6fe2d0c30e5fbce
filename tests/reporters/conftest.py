"""A small plan with one of each kind of result, for the report writers.

Its values are the ones Exchange shows: a number (16, 20), ``Unlimited`` (a 2013+ limit that a
baseline wants capped) and ``$null`` (``None``: the mailbox on the default throttling policy).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from compliance.plan import Action, Change, ChangeKind, Compliant, Finding, Plan, Unreadable

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
            "UCCX-IMAP-004",
            "IMAP MaxConnectionsPerUser",
            "critical",
            "IMAP settings on EX01",
            "EX01",
            "MaxConnectionsPerUser",
            16,
            2400,
            "at least 2400",
            Action.UPDATE,
            server="EX01",
            requires_restart=("MSExchangeIMAP4",),
            kind=ChangeKind.IMAP,
        ),
        Change(
            "UCCX-SMTP-004",
            "Receive connector MaxInboundConnectionPerSource",
            "high",
            DEFAULT,
            DEFAULT,
            "MaxInboundConnectionPerSource",
            20,
            250,
            "at least 250",
            Action.UPDATE,
            server="EX01",
            kind=ChangeKind.RECEIVE_CONNECTOR,
        ),
        Change(
            "UCCX-SMTP-009",
            "Relay MessageRateLimit capped",
            "low",
            RELAY,
            RELAY,
            "MessageRateLimit",
            "Unlimited",
            100,
            "at most 100",
            Action.UPDATE,
            server="EX01",
            kind=ChangeKind.RECEIVE_CONNECTOR,
        ),
        Change(
            "UCCX-THR-000",
            "A dedicated throttling policy",
            "high",
            "throttling policy UCCX",
            "UCCX",
            None,
            None,
            "UCCX",
            "present",
            Action.CREATE,
            kind=ChangeKind.THROTTLING_POLICY,
        ),
        Change(
            "UCCX-THR-001",
            "IMAPMaxConcurrency",
            "critical",
            "throttling policy UCCX",
            "UCCX",
            "IMAPMaxConcurrency",
            None,
            None,
            "$null (no limit)",
            Action.CREATE,
            kind=ChangeKind.THROTTLING_SETTING,
        ),
        Change(
            "UCCX-MBX-001",
            "Mailbox policy",
            "critical",
            "mailbox uccx",
            "lab.local/Users/UCCX Email",
            "ThrottlingPolicy",
            None,
            "UCCX",
            "exactly UCCX",
            Action.UPDATE,
            kind=ChangeKind.MAILBOX_POLICY,
        ),
        Finding(
            "UCCX-EVT-001",
            "No 9646 events",
            "high",
            "event log on EX01",
            "MSExchangeIS 9646: 3 event(s); fixed by UCCX-STORE-001",
            ("UCCX-STORE-001",),
        ),
        Compliant(
            "UCCX-IMAP-001", "IMAP MaxCommandSize", "IMAP settings on EX01", "MaxCommandSize is 10240 (at least 10240)"
        ),
        Unreadable("UCCX-ADP-001", "organization LAB", "GetADPermission.xml: not collected"),
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
