"""The Prometheus textfile, read back by prometheus_client's own parser (as node_exporter reads it)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from compliance.plan import Plan
from compliance.reporters import render
from compliance.reporters.context import RunContext


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        assert family.type == "gauge" and family.documentation
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
    return out


def test_the_gauges_of_a_real_audit(plans: list[Plan], context: RunContext) -> None:
    text = render("prometheus", plans, context=context)
    got = samples(text)
    assert all(name.startswith("uccx_compliance_") for name in got)
    checks = {
        (s["target"], s["check"], s["resource"]): (s["verdict"], v) for s, v in got["uccx_compliance_check_compliant"]
    }
    assert checks[("lab-defaults", "UCCX-IMAP-004", "IMAP settings on EX01")] == ("drift", 0)
    assert checks[("lab-defaults", "UCCX-SMTP-003", "EX01\\Default EX01")] == ("waived", 1)  # the backslash survives
    assert checks[("lab-defaults", "UCCX-IMAP-001", "IMAP settings on EX01")] == ("compliant", 1)
    assert checks[("lab-unreachable", "not-planned", "target lab-unreachable")] == ("unreadable", 0)
    assert all(v == 1 for (t, _, _), (_, v) in checks.items() if t == "lab-compliant")
    counts = {(s["target"], s["verdict"]): v for s, v in got["uccx_compliance_results"]}
    assert counts[("lab-defaults", "drift")] == 23 and counts[("lab-defaults", "waived")] == 1
    assert counts[("lab-compliant", "drift")] == 0  # a zero is a sample, so a series never vanishes
    exits = {s["target"]: v for s, v in got["uccx_compliance_target_exit_code"]}
    assert exits == {"lab-defaults": 2, "lab-compliant": 0, "lab-unreachable": 3}
    restarts = {(s["target"], s["server"], s["service"]) for s, _ in got["uccx_compliance_restart_pending"]}
    assert restarts == {(plans[0].target, srv, svc) for srv, svc in plans[0].restarts} != set()
    [(_, expiry)] = got["uccx_compliance_waiver_expiry_timestamp_seconds"]
    assert expiry == 1801353600  # 2027-01-31T00:00Z
    limits = {
        (s["server"], s["limit"]): v for s, v in got["uccx_compliance_capacity_limit"] if s["target"] == "lab-defaults"
    }
    assert limits[("EX01", "IMAP MaxConnectionsPerUser")] == 16
    assert got["uccx_compliance_last_run_timestamp_seconds"] == [({}, context.started_at.timestamp())]
    assert got["uccx_compliance_last_run_duration_seconds"] == [({}, 12.5)]


def test_without_a_context_the_run_time_is_left_out(plans: list[Plan]) -> None:
    got = samples(render("prometheus", plans))
    assert "uccx_compliance_last_run_timestamp_seconds" not in got
    assert "uccx_compliance_results" in got


def test_label_values_are_escaped_per_the_exposition_format(plan: Plan) -> None:
    plan.target = 'LAB "blue"\\\nnext'
    text = render("prometheus", [plan])
    assert 'target="LAB \\"blue\\"\\\\\\\\nnext"' in text  # the LF is a visible "\n" first, then escaped
    [(labels, _)] = samples(text)["uccx_compliance_target_exit_code"]
    assert labels["target"] == 'LAB "blue"\\\\nnext'
