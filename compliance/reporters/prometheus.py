"""The results as a Prometheus textfile, for node_exporter's textfile collector.

``audit --report prometheus=/var/lib/node_exporter/textfile/uccx.prom`` (written atomically, as
the collector asks) gives, per target:

- ``uccx_compliance_check_compliant{target,check,resource,verdict}``: 1 when compliant or waived,
  0 on drift or when unreadable. Waived drift counts as 1, since it does not fail the gate; its
  ``verdict="waived"`` label still tells it apart, and
  ``uccx_compliance_waiver_expiry_timestamp_seconds`` says when it stops counting.
- ``uccx_compliance_results{target,verdict}``: how many results of each verdict (all four, 0 included,
  so that a rate or an alert never sees a series vanish).
- ``uccx_compliance_target_exit_code{target}``: the target's exit code (0, 1, 2, 3; docs/exit-codes.md).
- ``uccx_compliance_restart_pending{target,server,service}``: 1 per service a change needs restarted.
- ``uccx_compliance_capacity_limit`` / ``..._capacity_needed{target,server,limit}``: the sizing rows
  whose limit is a number.
- ``uccx_compliance_last_run_timestamp_seconds`` and ``..._last_run_duration_seconds``: from the
  run's context (``audit``); left out without one, never invented.

Label values are written by ``_label``: control characters and bidi marks as visible escapes
(``terminal_safe``), then the exposition format's own escapes (backslash, double quote, line feed).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field

from compliance.plan import Plan
from compliance.reporters.common import terminal_safe
from compliance.reporters.context import RunContext
from compliance.reporters.rows import VERDICTS, count, rows, target_name

USES_CONTEXT = True
PREFIX = "uccx_compliance_"
# Worst first: two results of one check on one resource are one series, with the worse verdict.
_RANK = {"unreadable": 0, "drift": 1, "waived": 2, "compliant": 3}


def _label(value: object) -> str:
    text = terminal_safe(str(value))
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: object) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{name}="{_label(value)}"' for name, value in labels.items()) + "}"


@dataclass
class _Metric:
    name: str
    help: str
    samples: dict[str, float] = field(default_factory=dict)  # label text -> value

    def add(self, value: float, **labels: object) -> None:
        # One series per label set (a scrape refuses a duplicate): the lower value wins, which is
        # the worse verdict and the earlier expiry.
        key = _labels(**labels)
        self.samples[key] = min(value, self.samples.get(key, value))

    def lines(self) -> list[str]:
        if not self.samples:
            return []
        name = PREFIX + self.name
        out = [f"# HELP {name} {self.help}", f"# TYPE {name} gauge"]
        out += [f"{name}{labels} {_number(value)}" for labels, value in self.samples.items()]
        return out


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def render(plans: Sequence[Plan], *, verbose: bool = False, context: RunContext | None = None) -> str:
    check = _Metric(
        "check_compliant", "1 when the check is compliant or waived on the resource, 0 on drift or unreadable"
    )
    results = _Metric("results", "results of the last audit by verdict (compliant, drift, waived, unreadable)")
    exit_code = _Metric("target_exit_code", "the target's exit code: 0 compliant, 1 input error, 2 drift, 3 incomplete")
    restarts = _Metric("restart_pending", "1 for each service a change needs restarted before it takes effect")
    expiry = _Metric("waiver_expiry_timestamp_seconds", "when the waiver accepting this drift expires (unix time, UTC)")
    limit = _Metric("capacity_limit", "the limit's value on the server")
    needed = _Metric("capacity_needed", "connections the sizing needs under the limit")
    for plan in plans:
        target = target_name(plan)
        series: dict[tuple[str, str], str] = {}
        for row in rows(plan):
            key = (row.check, row.resource)
            if key not in series or _RANK[row.verdict] < _RANK[series[key]]:
                series[key] = row.verdict
            if row.waiver is not None:
                expires = datetime.datetime.combine(row.waiver.expires, datetime.time(), datetime.timezone.utc)
                expiry.add(expires.timestamp(), target=target, check=row.check, resource=row.resource)
        for (check_id, resource), verdict in series.items():
            check.add(
                1 if verdict in ("compliant", "waived") else 0,
                target=target,
                check=check_id,
                resource=resource,
                verdict=verdict,
            )
        summary = plan.summary()
        for verdict in VERDICTS:
            results.add(summary[verdict], target=target, verdict=verdict)
        exit_code.add(int(plan.exit_code), target=target)
        for server, service in plan.restarts:
            restarts.add(1, target=target, server=server, service=service)
        for capacity in plan.capacity:
            value, need = count(capacity.get("value")), count(capacity.get("needed"))
            if value is not None and need is not None:
                where = {"target": target, "server": capacity.get("server", ""), "limit": capacity.get("limit", "")}
                limit.add(value, **where)
                needed.add(need, **where)
    metrics = [check, results, exit_code, restarts, expiry, limit, needed]
    if context is not None:
        started = _Metric("last_run_timestamp_seconds", "when the last audit started (unix time)")
        started.add(context.started_at.timestamp())
        duration = _Metric("last_run_duration_seconds", "how long the last audit took")
        duration.add(context.duration_s)
        metrics += [started, duration]
    return "\n".join(line for metric in metrics for line in metric.lines()) + "\n"
