"""The results as one self-contained HTML page: open it from a file share or a CI artifact, offline.

No script, no web font, no CDN: inline CSS and inline SVG drawn here, and a Content-Security-Policy
(``default-src 'none'``) that stops the browser from fetching anything even if a text slipped
through. A reader sees first which targets fail and why (the banner and the target table, each
failing target with its worst drift), then per target the drift with the checklist's rationale,
the waived drift with its waiver, what could not be read, the restarts pending and the capacity
chart (connections needed against each limit), and last the drift timeline from the history.

Every text goes through ``_h``: control characters and bidi marks as visible escapes
(``terminal_safe``), then ``html.escape`` with quotes, so a connector named ``</td><script>`` is
text in its cell. The plan holds no secrets (a password never enters it), so none can appear.
"""

from __future__ import annotations

import datetime
import html
from collections.abc import Sequence

from compliance import __version__
from compliance.plan import Plan
from compliance.reporters.common import RESULT_WORDS, combined_exit, terminal_safe
from compliance.reporters.context import RunContext, TimelinePoint
from compliance.reporters.rows import Row, count, rows, target_name
from compliance.reporters.rules import Rules, rules_of

USES_CONTEXT = True
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}
_STATUS = {0: "ok", 1: "error", 2: "fail", 3: "incomplete"}
_PALETTE = ("#c62828", "#1565c0", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#5d4037", "#ad1457")
_LABEL_MAX = 56  # characters of a name an SVG label shows (SVG text does not wrap; the tooltip has all)

_CSS = """
:root{--ok:#2e7d32;--fail:#c62828;--warn:#ef6c00;--muted:#616161;--line:#ddd}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#212121;background:#fafafa}
main{max-width:1200px;margin:0 auto;padding:0 24px 48px}
header.banner{padding:18px 24px;color:#fff}
header.banner h1{margin:0;font-size:22px}
header.banner .verdict{margin:6px 0 0;font-size:18px;font-weight:600}
header.banner .meta{margin:4px 0 0;opacity:.9;font-size:12px}
.banner.ok{background:var(--ok)}.banner.fail,.banner.error{background:var(--fail)}.banner.incomplete{background:var(--warn)}
h2{margin:28px 0 8px;font-size:18px}h3{margin:18px 0 6px;font-size:15px}
table{border-collapse:collapse;width:100%;background:#fff;margin:6px 0 10px}
th,td{border:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f0f0f0;font-weight:600;overflow-wrap:normal;white-space:nowrap}
.pill,.sev,td code{white-space:nowrap}
td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.fail td:first-child,tr.error td:first-child{border-left:6px solid var(--fail)}
tr.incomplete td:first-child{border-left:6px solid var(--warn)}tr.ok td:first-child{border-left:6px solid var(--ok)}
.pill{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-weight:700;font-size:12px}
.pill.ok{background:var(--ok)}.pill.fail,.pill.error{background:var(--fail)}.pill.incomplete{background:var(--warn)}
.sev{display:inline-block;padding:0 6px;border-radius:4px;font-size:12px;font-weight:600;color:#fff;background:#757575}
.sev.critical{background:#b71c1c}.sev.high{background:#e65100}.sev.medium{background:#f9a825;color:#212121}.sev.low{background:#78909c}
.why{color:var(--muted);font-size:13px}
.note{color:var(--muted);font-style:italic}
ul.reasons{margin:0;padding-left:18px}
code{font-family:ui-monospace,Consolas,monospace;font-size:12px}
section.target{border-top:2px solid var(--line);margin-top:24px}
svg{background:#fff;border:1px solid var(--line);max-width:100%;height:auto}
"""


def _h(value: object) -> str:
    return html.escape(terminal_safe(str(value)), quote=True)


def _short(value: object) -> str:
    text = terminal_safe(str(value))
    return text if len(text) <= _LABEL_MAX else text[: _LABEL_MAX - 1] + "…"


def _header(*names: str) -> str:
    return "<tr>" + "".join(f"<th>{_h(name)}</th>" for name in names) + "</tr>"


def _status(plan: Plan) -> str:
    return _STATUS.get(int(plan.exit_code), "error")


def _pill(plan: Plan) -> str:
    return f'<span class="pill {_status(plan)}">{_h(RESULT_WORDS[plan.exit_code].upper())}</span>'


def _severity(severity: str) -> str:
    return f'<span class="sev {_h(severity)}">{_h(severity or "-")}</span>'


def _drift(plan: Plan) -> list[Row]:
    found = [row for row in rows(plan, compliant=False) if row.verdict == "drift"]
    return sorted(found, key=lambda row: _SEVERITY_ORDER.get(row.severity, 9))


def _what(row: Row) -> str:
    """One drift in a line: the setting, what it is and what is required."""
    if row.result == "change":
        return f"{row.setting or 'the object'} is {row.current}; required {row.requirement}"
    return row.detail


def _reasons(plan: Plan) -> str:
    drift = _drift(plan)
    unreadable = [row for row in rows(plan, compliant=False) if row.verdict == "unreadable"]
    items = [f"{_severity(r.severity)} <code>{_h(r.check)}</code> {_h(r.resource)}: {_h(_what(r))}" for r in drift[:3]]
    if len(drift) > 3:
        items.append(f"and {len(drift) - 3} more drift")
    items += [f"could not read <code>{_h(r.check)}</code> {_h(r.resource)}: {_h(r.detail)}" for r in unreadable[:2]]
    if len(unreadable) > 2:
        items.append(f"and {len(unreadable) - 2} more unreadable")
    if not items:
        return '<span class="note">nothing to fix</span>'
    return '<ul class="reasons">' + "".join(f"<li>{item}</li>" for item in items) + "</ul>"


def _banner(plans: Sequence[Plan], context: RunContext | None) -> str:
    code = combined_exit(plans)
    failing = [p for p in plans if int(p.exit_code) != 0]
    if not plans:
        verdict = "No targets"
    elif failing:
        names = ", ".join(f"{target_name(p)} ({RESULT_WORDS[p.exit_code]})" for p in failing[:5])
        more = f" and {len(failing) - 5} more" if len(failing) > 5 else ""
        verdict = f"{len(failing)} of {len(plans)} target(s) fail: {names}{more}"
    else:
        verdict = f"All {len(plans)} target(s) compliant"
    meta = [f"uccx-compliance {__version__}", f"exit {int(code)} ({RESULT_WORDS[code]})"]
    if context is not None:
        meta += [f"run {context.run_id}", f"started {_when(context.started_at)}", f"took {context.duration_s:.1f} s"]
    return (
        f'<header class="banner {_STATUS.get(int(code), "error")}" id="verdict"><h1>UCCX compliance report</h1>'
        f'<p class="verdict">{_h(verdict)}</p><p class="meta">{_h(" · ".join(meta))}</p></header>'
    )


def _when(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _summary(plans: Sequence[Plan]) -> str:
    head = _header("target", "result", "drift", "waived", "unreadable", "compliant", "why")
    body = []
    for index, plan in enumerate(plans):
        s = plan.summary()
        body.append(
            f'<tr class="{_status(plan)}"><td><a href="#target-{index}">{_h(target_name(plan))}</a></td>'
            f"<td>{_pill(plan)}</td>"
            f'<td class="n">{s["drift"]}</td><td class="n">{s["waived"]}</td><td class="n">{s["unreadable"]}</td>'
            f'<td class="n">{s["compliant"]}</td><td>{_reasons(plan)}</td></tr>'
        )
    return f'<section id="summary"><h2>Targets</h2><table class="targets">{head}{"".join(body)}</table></section>'


def _drift_table(plan: Plan, known: Rules) -> str:
    drift = _drift(plan)
    if not drift:
        return '<p class="note">No drift.</p>'
    note = (
        f'<p class="note">The checklist\'s rationale is not shown: {_h(known.missing)} ({_h(known.path)}).</p>'
        if known.missing and plan.baseline_path
        else ""
    )
    head = _header("severity", "check", "resource", "setting", "current", "required", "why (the baseline's rationale)")
    body = []
    for row in drift:
        rule = known.by_id.get(row.check)
        why = f'<div>{_h(row.title)}</div><div class="why">{_h(rule.rationale)}</div>' if rule else _h(row.title)
        current = row.current if row.result == "change" else row.detail
        body.append(
            f"<tr><td>{_severity(row.severity)}</td><td><code>{_h(row.check)}</code></td><td>{_h(row.resource)}</td>"
            f"<td>{_h(row.setting)}</td><td>{_h(current)}</td><td>{_h(row.requirement)}</td><td>{why}</td></tr>"
        )
    return f'{note}<table class="drift">{head}{"".join(body)}</table>'


def _waived_table(plan: Plan) -> str:
    waived = [row for row in rows(plan, compliant=False) if row.waiver is not None]
    if not waived:
        return ""
    head = _header("check", "resource", "drift", "justification", "approver", "expires", "waiver")
    body = "".join(
        f"<tr><td><code>{_h(r.check)}</code></td><td>{_h(r.resource)}</td><td>{_h(_what(r))}</td>"
        f"<td>{_h(r.waiver.justification)}</td><td>{_h(r.waiver.approver)}</td><td>{_h(r.waiver.expires.isoformat())}</td>"
        f"<td><code>{_h(r.waiver.source)}</code></td></tr>"
        for r in waived
        if r.waiver is not None
    )
    title = f"<h3>Waived drift ({len(waived)}): accepted until the waiver expires</h3>"
    return f'{title}<table class="waived">{head}{body}</table>'


def _unreadable_table(plan: Plan) -> str:
    found = [row for row in rows(plan, compliant=False) if row.verdict == "unreadable"]
    if not found:
        return ""
    body = "".join(
        f"<tr><td><code>{_h(r.check)}</code></td><td>{_h(r.resource)}</td><td>{_h(r.detail)}</td></tr>" for r in found
    )
    return (
        f"<h3>Could not read ({len(found)}): the verdict is incomplete</h3>"
        f'<table class="unreadable"><tr><th>check</th><th>resource</th><th>reason</th></tr>{body}</table>'
    )


def _restarts(plan: Plan) -> str:
    if not plan.restarts:
        return ""
    items = ", ".join(f"{_h(service)} on {_h(server or '-')}" for server, service in plan.restarts)
    return f'<h3>Restarts pending</h3><p class="restarts">{items}</p>'


def _capacity_chart(plan: Plan) -> str:
    """Per limit: the limit as a bar, the connections needed as a dark mark on the same scale."""
    if not plan.capacity:
        return ""
    width, label_w, value_w, row_h = 1000, 360, 230, 30
    bar_w = width - label_w - value_w - 20
    height = row_h * len(plan.capacity) + 30
    parts = [
        f'<svg class="capacity" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="connections needed against each limit">',
        f'<text x="{label_w}" y="16" font-size="12" fill="#616161">'
        "bar: the limit; black mark: connections needed</text>",
    ]
    for index, row in enumerate(plan.capacity):
        y = 26 + index * row_h
        value, needed = count(row.get("value")), count(row.get("needed"))
        label = f"{row.get('server', '-')} {row.get('limit', '')}"
        parts.append(f'<g class="limit"><title>{_h(label)}</title>')
        parts.append(f'<text x="6" y="{y + 16}" font-size="12">{_h(_short(label))}</text>')
        if value is not None and needed is not None:
            scale = bar_w / max(value, needed, 1) / 1.1
            ok = value >= needed
            colour = "#43a047" if ok else "#e53935"
            parts.append(
                f'<rect x="{label_w}" y="{y + 4}" width="{max(value * scale, 1):.1f}" height="16" fill="{colour}"/>'
            )
            mark = label_w + needed * scale
            parts.append(f'<rect x="{mark - 1.5:.1f}" y="{y}" width="3" height="24" fill="#212121"/>')
            verdict = f"{value} (needs {needed}, headroom {value - needed})"
        elif row.get("value") == "Unlimited":
            parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{bar_w}" height="16" fill="#a5d6a7"/>')
            verdict = f"Unlimited (needs {row.get('needed')})"
        else:
            parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{bar_w}" height="16" fill="#eeeeee"/>')
            shown = row.get("value")
            verdict = f"{'not read' if shown is None else shown}: {row.get('note') or 'unknown'}"
        parts.append(f'<text x="{width - value_w}" y="{y + 16}" font-size="12">{_h(_short(verdict))}</text></g>')
    parts.append("</svg>")
    return "<h3>Capacity: connections needed against each limit</h3>" + "".join(parts)


def _timeline(context: RunContext | None) -> str:
    points = list(context.timeline) if context is not None else []
    title = "<h2>Drift timeline</h2>"
    if not points:
        return (
            f'<section id="timeline">{title}<p class="note">No drift timeline: this report has no history '
            "(an audit with a history database draws it).</p></section>"
        )
    width, height, left, bottom, top, right = 1000, 260, 50, 40, 34, 200
    first = min(p.at for p in points)
    last = max(p.at for p in points)
    span = (last - first).total_seconds() or 1.0
    high = max(max(p.drift + p.unreadable for p in points), 1)
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(point: TimelinePoint) -> float:
        return left + ((point.at - first).total_seconds() / span if last > first else 0.5) * plot_w

    def y(count: int) -> float:
        return top + plot_h - count / high * plot_h

    by_target: dict[str, list[TimelinePoint]] = {}
    for point in sorted(points, key=lambda p: p.at):
        by_target.setdefault(point.target, []).append(point)
    parts = [
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="drift per target over time">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#9e9e9e"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#9e9e9e"/>',
        f'<text x="{left - 6}" y="{top + 4}" font-size="11" text-anchor="end">{high}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" font-size="11" text-anchor="end">0</text>',
        f'<text x="{left}" y="{height - 12}" font-size="11">{_h(_when(first))}</text>',
        f'<text x="{left + plot_w}" y="{height - 12}" font-size="11" text-anchor="end">{_h(_when(last))}</text>',
        f'<text x="{left}" y="16" font-size="12" fill="#616161">'
        "drift per target at each audit (waived drift not counted)</text>",
    ]
    for index, (target, series) in enumerate(by_target.items()):
        colour = _PALETTE[index % len(_PALETTE)]
        coords = " ".join(f"{x(p):.1f},{y(p.drift):.1f}" for p in series)
        parts.append(f'<g class="series"><title>{_h(target)}</title>')
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts += [
            f'<circle cx="{x(p):.1f}" cy="{y(p.drift):.1f}" r="3.5" fill="{colour}"><title>{_h(target)} '
            f"{_h(_when(p.at))}: {p.drift} drift, {p.waived} waived, {p.unreadable} unreadable</title></circle>"
            for p in series
        ]
        legend_y = top + 14 + index * 18
        parts.append(
            f'<rect x="{left + plot_w + 16}" y="{legend_y - 9}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{left + plot_w + 34}" y="{legend_y + 1}" font-size="12">{_h(_short(target))}</text></g>'
        )
    parts.append("</svg>")
    return f'<section id="timeline">{title}{"".join(parts)}</section>'


def _target(index: int, plan: Plan) -> str:
    known = rules_of(plan)
    s = plan.summary()
    counts = f"{s['drift']} drift, {s['waived']} waived, {s['unreadable']} unreadable, {s['compliant']} compliant"
    source = f"baseline {plan.baseline} against {plan.source}" if plan.baseline else plan.source
    return (
        f'<section class="target {_status(plan)}" id="target-{index}"><h2>{_pill(plan)} {_h(target_name(plan))}</h2>'
        f'<p>{_h(counts)}. <span class="why">{_h(source)}</span></p>'
        f"<h3>Drift</h3>{_drift_table(plan, known)}{_waived_table(plan)}{_unreadable_table(plan)}"
        f"{_restarts(plan)}{_capacity_chart(plan)}</section>"
    )


def render(plans: Sequence[Plan], *, verbose: bool = False, context: RunContext | None = None) -> str:
    failing = sum(1 for p in plans if int(p.exit_code) != 0)
    title = f"UCCX compliance: {failing} of {len(plans)} target(s) fail" if failing else "UCCX compliance: compliant"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        # Nothing may be fetched: no script, no connection, images only inline (the empty favicon).
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">'
        f"<title>{_h(title)}</title><style>{_CSS}</style></head><body>"
        f"{_banner(plans, context)}<main>{_summary(plans)}"
        + "".join(_target(i, p) for i, p in enumerate(plans))
        + f"{_timeline(context)}</main></body></html>\n"
    )
