"""The text report, read by people like ``terraform plan``."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from compliance.errors import ExitCode
from compliance.plan import Finding, Plan, Unreadable
from compliance.reporters import render
from compliance.reporters.common import combined_exit, show


def test_changes_grouped_by_resource(plan: Plan) -> None:
    text = render("text", [plan])
    assert (
        "  ~ IMAP settings on EX01\n      ~ MaxConnectionsPerUser: 16 -> at least 2400    [UCCX-IMAP-004 critical]\n"
    ) in text
    assert "      ~ MessageRateLimit: Unlimited -> at most 100    [UCCX-SMTP-009 low]\n" in text
    assert (
        "  + throttling policy UCCX (create)\n      + IMAPMaxConcurrency: $null    [UCCX-THR-001 critical]\n"
    ) in text
    assert "      ~ ThrottlingPolicy: $null (default policy) -> exactly UCCX    [UCCX-MBX-001 critical]\n" in text
    assert (
        "  ! event log on EX01    [UCCX-EVT-001 high]\n      MSExchangeIS 9646: 3 event(s); fixed by UCCX-STORE-001\n"
    ) in text


def test_unreadable_restarts_and_totals(plan: Plan) -> None:
    text = render("text", [plan])
    assert (
        "Could not read (1 check):\n  ? organization LAB: GetADPermission.xml: not collected    [UCCX-ADP-001]\n"
    ) in text
    assert "Restarts needed after apply: MSExchangeIMAP4 on EX01\n" in text
    assert "Plan: 6 to change, 1 finding(s), 1 compliant (-v lists them), 1 unreadable.\n" in text
    assert text.endswith("Result: incomplete (exit 3)\n")


def test_verbose_lists_compliant_evidence(plan: Plan) -> None:
    evidence = "  = UCCX-IMAP-001 IMAP settings on EX01: MaxCommandSize is 10240 (at least 10240)\n"
    quiet = render("text", [plan])
    loud = render("text", [plan], verbose=True)
    assert evidence not in quiet and "Compliant (1):" not in quiet
    assert f"Compliant (1):\n{evidence}" in loud
    assert "(-v lists them)" not in loud


def test_several_targets_are_totalled(make_plan: Callable[[str | None], Plan]) -> None:
    text = render("text", [make_plan("site-a"), make_plan("site-b")])
    assert "target site-a: baseline uccx-exchange2010-sp1" in text
    assert "All targets: 14 drift, 2 compliant, 2 unreadable.\n" in text


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "$null"), (True, "$true"), (False, "$false"), (2400, "2400"), ("Unlimited", "Unlimited")],
)
def test_values_are_shown_as_an_admin_types_them(value: object, text: str) -> None:
    assert show(value) == text


@pytest.mark.parametrize(
    ("codes", "combined"),
    [
        ([ExitCode.OK], ExitCode.OK),
        ([ExitCode.OK, ExitCode.DRIFT], ExitCode.DRIFT),
        ([ExitCode.DRIFT, ExitCode.INCOMPLETE, ExitCode.OK], ExitCode.INCOMPLETE),
        ([ExitCode.INCOMPLETE], ExitCode.INCOMPLETE),
    ],
)
def test_the_worst_target_decides_the_exit_code(codes: list[ExitCode], combined: ExitCode) -> None:
    plans = []
    for code in codes:
        plan = Plan("b", "b.yaml", "0", "test")
        if code is ExitCode.DRIFT:
            plan.add(Finding(check="UCCX-X-001", title="t", severity="low", resource="r", message="m"))
        if code is ExitCode.INCOMPLETE:
            plan.add(Unreadable(check="UCCX-X-002", resource="r", reason="not collected"))
        assert plan.exit_code is code
        plans.append(plan)
    assert combined_exit(plans) is combined
