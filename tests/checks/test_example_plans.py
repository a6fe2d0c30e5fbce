"""Plans of the shipped Exchange 2010 SP3 example folders with the SP1 baseline.

The expected changes are the example folder's README (factory defaults: IMAP 2000/2000/16, connector
PerSource 20 and Percentage 2, MessageRateLimit Unlimited on ``Default EX01``, no UCCX policy, the mailbox
on the default policy, no store value, no AD right, three 9646 and one 1021 event) against the
checklist minimums sized for the default 100 agents: max(2400, 2*100+4) = 2400, and for the store
max(64, 204 + 51) = 255 (a quarter of headroom, docs/baselines.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "facts"
DEFAULTS = EXAMPLES / "exchange2010-sp3-defaults"
COMPLIANT = EXAMPLES / "exchange2010-sp3-compliant"
SP1 = REPO / "baselines" / "uccx-exchange2010-sp1.yaml"
RTM = REPO / "baselines" / "uccx-exchange2010-rtm.yaml"
STORE_KEY = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\MSExchangeIS\\ParametersSystem"
CONNECTOR = "EX01\\Default EX01"
MAILBOX = "lab.local/Users/UCCX Email"  # the Identity Set-Mailbox takes (the mailbox's CN is "UCCX Email")
RIGHT = "View Information Store status"
ORG_DN = "CN=LAB,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=lab,DC=local"
POLICY_SETTINGS = [
    "IMAPMaxConcurrency",
    "IMAPPercentTimeInAD",
    "IMAPPercentTimeInCAS",
    "IMAPPercentTimeInMailboxRPC",
    "RCAMaxConcurrency",
    "RCAPercentTimeInAD",
    "RCAPercentTimeInCAS",
    "RCAPercentTimeInMailboxRPC",
    "MessageRateLimit",
    "RecipientRateLimit",
    "CPUStartPercent",
    "CPAMaxConcurrency",
    "CPAPercentTimeInCAS",
    "CPAPercentTimeInMailboxRPC",
]

# (check, resource, identity, setting, current, desired, action)
EXPECTED_CHANGES = {
    ("UCCX-IMAP-003", "IMAP settings on EX01", "EX01", "MaxConnections", 2000, 2400, "update"),
    ("UCCX-IMAP-004", "IMAP settings on EX01", "EX01", "MaxConnectionsPerUser", 16, 2400, "update"),
    ("UCCX-SMTP-003", CONNECTOR, CONNECTOR, "MaxInboundConnectionPercentagePerSource", 2, 5, "update"),
    ("UCCX-SMTP-004", CONNECTOR, CONNECTOR, "MaxInboundConnectionPerSource", 20, 250, "update"),
    ("UCCX-THR-000", "throttling policy UCCX", "UCCX", None, None, "UCCX", "create"),
    *{
        (f"UCCX-THR-{i:03}", "throttling policy UCCX", "UCCX", setting, None, None, "create")
        for i, setting in enumerate(POLICY_SETTINGS, start=1)
    },
    ("UCCX-MBX-001", "mailbox uccx", MAILBOX, "ThrottlingPolicy", None, "UCCX", "update"),
    ("UCCX-STORE-001", "registry on EX01", STORE_KEY, "Maximum Allowed Service Sessions Per User", None, 255, "create"),
    ("UCCX-ADP-001", "organization LAB", ORG_DN, "ExtendedRights", None, RIGHT, "add"),
}


@pytest.fixture(scope="module")
def defaults_report() -> tuple[int, dict[str, Any], str]:
    from compliance.pipeline import plan_folder
    from compliance.reporters import render

    plan = plan_folder(SP1, DEFAULTS, {})
    return int(plan.exit_code), json.loads(render("json", [plan])), render("text", [plan])


def test_defaults_plan_lists_every_checklist_change(defaults_report: tuple[int, dict[str, Any], str]) -> None:
    code, report, _text = defaults_report
    fields = ("check", "resource", "identity", "setting", "current", "desired", "action")
    changes = {tuple(c[f] for f in fields) for c in report["changes"]}
    assert changes == EXPECTED_CHANGES
    assert len(report["changes"]) == len(EXPECTED_CHANGES) == 22
    assert report["unreadable"] == []
    assert code == 2


def test_defaults_plan_keeps_compliant_evidence(defaults_report: tuple[int, dict[str, Any], str]) -> None:
    _code, report, _text = defaults_report
    compliant = {(c["check"], c["resource"]) for c in report["compliant"]}
    assert compliant == {
        ("UCCX-IMAP-001", "IMAP settings on EX01"),
        ("UCCX-IMAP-002", "IMAP settings on EX01"),
        ("UCCX-SMTP-000", "receive connectors"),
        ("UCCX-SMTP-001", "EX01\\Default EX01"),  # MaxInboundConnection 5000
        ("UCCX-SMTP-002", "EX01\\Default EX01"),  # MessageRateLimit Unlimited meets "at least 250"
    }
    evidence = {c["check"]: c["evidence"] for c in report["compliant"]}
    assert evidence["UCCX-SMTP-002"] == "MessageRateLimit is Unlimited (at least 250)"
    assert report["selectors"] == [
        {
            "check": "UCCX-SMTP-000",
            "patterns": ["*\\Default *"],
            "matched": ["EX01\\Default EX01"],
            "why": ["selected by name"],  # 2010 has no front end; its export has no TransportRole
            "left_out": [],
        }
    ]


def test_the_9646_finding_points_at_the_store_registry_value(
    defaults_report: tuple[int, dict[str, Any], str],
) -> None:
    _code, report, text = defaults_report
    by_check = {f["check"]: f for f in report["findings"]}
    assert set(by_check) == {"UCCX-EVT-001", "UCCX-EVT-002"}
    session = by_check["UCCX-EVT-001"]
    assert session["fixed_by"] == ["UCCX-STORE-001"]
    assert session["resource"] == "event log on EX01"
    assert session["message"].startswith("MSExchangeIS 9646: 3 event(s), first 2026-11-20")
    assert "hit the limit of 16 session objects" in session["message"]
    assert by_check["UCCX-EVT-002"]["fixed_by"] == ["UCCX-SMTP-004"]
    assert "fixed by UCCX-STORE-001" in text


def test_defaults_plan_says_what_restarts(defaults_report: tuple[int, dict[str, Any], str]) -> None:
    _code, report, text = defaults_report
    assert report["restarts"] == [
        {"server": "EX01", "service": "MSExchangeIMAP4"},
        {"server": "EX01", "service": "MSExchangeIS"},
    ]
    assert "Restarts needed after apply: MSExchangeIMAP4 on EX01, MSExchangeIS on EX01" in text


def test_every_check_is_judged_exactly_once(defaults_report: tuple[int, dict[str, Any], str]) -> None:
    _code, report, _text = defaults_report
    judged = [r["check"] for key in ("changes", "findings", "compliant", "unreadable") for r in report[key]]
    assert len(judged) == len(set(judged)) == 29  # one server, one matched connector: one result per check


def test_compliant_example_is_compliant(cli: Any) -> None:
    result = cli("plan", "--facts", COMPLIANT, "--baseline", SP1)
    assert result.code == 0, result.out
    assert "Plan: 0 to change, 0 finding(s), 29 compliant (-v lists them), 0 unreadable." in result.out
    assert result.out.endswith("Result: compliant (exit 0)\n")


def test_rtm_baseline_refuses_sp3(cli: Any) -> None:
    result = cli("plan", "--facts", COMPLIANT, "--baseline", RTM)
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "uccx-compliance: error: EX01 runs Exchange 14.3.123.4 (2010 SP3); baseline uccx-exchange2010-rtm "
        "applies to >=14.0,<14.1; use --baseline uccx-exchange2010-sp1 (or --baseline auto)\n"
    )


def test_more_agents_than_the_compliant_example_was_sized_for_is_drift(cli: Any) -> None:
    # The compliant example meets 2400; 1500 agents need 2 * 1500 + 4 = 3004 connections.
    result = cli("plan", "--facts", COMPLIANT, "--baseline", SP1, "--var", "agents=1500", "--format", "json")
    report = json.loads(result.out)
    assert result.code == 2
    assert {(c["check"], c["desired"]) for c in report["changes"]} >= {
        ("UCCX-IMAP-003", 3004),
        ("UCCX-IMAP-004", 3004),
    }


def test_connector_selector_that_matches_nothing_is_a_finding(cli: Any) -> None:
    result = cli(
        "plan",
        "--facts",
        COMPLIANT,
        "--baseline",
        SP1,
        "--var",
        "receive_connectors=['*\\Relay *']",
        "--format",
        "json",
    )
    report = json.loads(result.out)
    [finding] = report["findings"]
    assert finding["check"] == "UCCX-SMTP-000"
    assert "matched no receive connector (found: EX01\\Default EX01, EX01\\Client EX01)" in finding["message"]
    assert not [c for c in report["compliant"] if c["check"].startswith("UCCX-SMTP")]
    assert result.code == 2
