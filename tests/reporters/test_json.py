"""The JSON report (``format_version`` 1, docs/report-formats.md): its shape and its values."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from compliance.plan import Plan
from compliance.reporters import render

CHANGE_KEYS = {
    "check",
    "resource",
    "identity",
    "setting",
    "current",
    "desired",
    "action",
    "severity",
    "requires_restart",
    "title",
    "requirement",
    "server",
    "kind",
    "principal",
}


def report(plans: list[Plan]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(render("json", plans))
    return data


def test_top_level_shape(plan: Plan) -> None:
    data = report([plan])
    assert data["format_version"] == 1
    assert data["summary"] == {"compliant": 1, "drift": 7, "unreadable": 1, "waived": 0}  # 6 changes + 1 finding
    assert data["waived"] == []
    assert data["exit_code"] == 3  # something unreadable: incomplete wins over drift
    assert data["baseline"] == {
        "name": "uccx-exchange2010-sp1",
        "path": "baselines/uccx-exchange2010-sp1.yaml",
        "sha256": "0" * 64,
        "vars": {},
    }
    assert data["source"] == "facts folder examples/facts/x"
    assert "targets" not in data  # one offline plan: no per-target section


def test_changes_carry_what_a_pipeline_needs(plan: Plan) -> None:
    changes = report([plan])["changes"]
    assert len(changes) == 6
    for change in changes:
        assert set(change) == CHANGE_KEYS
    first = changes[0]
    assert first == {
        "check": "UCCX-IMAP-004",
        "title": "IMAP MaxConnectionsPerUser",
        "severity": "critical",
        "resource": "IMAP settings on EX01",
        "identity": "EX01",
        "setting": "MaxConnectionsPerUser",
        "current": 16,
        "desired": 2400,
        "requirement": "at least 2400",
        "action": "update",
        "server": "EX01",
        "requires_restart": ["MSExchangeIMAP4"],
        "kind": "imap",
        "principal": None,
    }


def test_current_is_shown_as_exchange_shows_it(plan: Plan) -> None:
    current = {c["check"]: c["current"] for c in report([plan])["changes"]}
    assert current["UCCX-SMTP-004"] == 20
    assert current["UCCX-SMTP-009"] == "Unlimited"
    assert current["UCCX-MBX-001"] is None  # $null
    assert [c["action"] for c in report([plan])["changes"]] == ["update"] * 3 + ["create"] * 2 + ["update"]


def test_unreadable_findings_and_compliant(plan: Plan) -> None:
    data = report([plan])
    assert data["unreadable"] == [
        {
            "check": "UCCX-ADP-001",
            "resource": "organization LAB",
            "reason": "GetADPermission.xml: not collected",
            "target": None,
        }
    ]
    [finding] = data["findings"]
    assert finding["fixed_by"] == ["UCCX-STORE-001"]
    assert [c["evidence"] for c in data["compliant"]] == ["MaxCommandSize is 10240 (at least 10240)"]
    assert data["restarts"] == [{"server": "EX01", "service": "MSExchangeIMAP4"}]


def test_several_targets(make_plan: Callable[[str | None], Plan]) -> None:
    data = report([make_plan("site-a"), make_plan("site-b")])
    assert data["summary"] == {"compliant": 2, "drift": 14, "unreadable": 2, "waived": 0}
    assert [t["target"] for t in data["targets"]] == ["site-a", "site-b"]
    assert {c["target"] for c in data["changes"]} == {"site-a", "site-b"}
    assert len(data["changes"]) == 12


def test_rendering_is_deterministic(plan: Plan) -> None:
    assert render("json", [plan]) == render("json", [plan])
