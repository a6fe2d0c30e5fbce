"""The HTML report: one self-contained page that a reader understands at a glance.

The structure is checked with the stdlib's ``html.parser`` (every hostile text stays inside its
element) and, in ``test_in_a_real_chromium``, in a real headless Chromium: the key elements are
there, the console is clean, the page asks for nothing but itself, and a full-page PNG is kept
in ``tests-output/`` (the path is printed) for a person to look at.
"""

from __future__ import annotations

import os
from html.parser import HTMLParser
from pathlib import Path

import pytest

from compliance.plan import Plan
from compliance.reporters import render
from compliance.reporters.context import RunContext
from tests.reporters.chromium import Chromium, ChromiumUnavailable, binary
from tests.reporters.conftest import run_context

OUTPUT = Path(__file__).resolve().parents[2] / "tests-output"


class Elements(HTMLParser):
    """Tags, attributes and the text inside each (by the innermost open tag)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []
        self.text: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in ("meta", "link", "rect", "line", "circle", "polyline", "br"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.stack:
            while self.stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        self.text.setdefault(self.stack[-1] if self.stack else "", []).append(data)


def parsed(text: str) -> Elements:
    parser = Elements()
    parser.feed(text)
    parser.close()
    return parser


def test_self_contained_and_nothing_to_fetch(plans: list[Plan], context: RunContext) -> None:
    page = parsed(render("html", plans, context=context))
    names = {tag for tag, _ in page.tags}
    assert "script" not in names and "iframe" not in names and "img" not in names
    for _, attrs in page.tags:
        for name in ("src", "href"):
            value = attrs.get(name)
            assert value is None or value.startswith(("#", "data:")), value  # only in-page links
    [csp] = [a for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert (csp["content"] or "").startswith("default-src 'none';")


def test_the_summary_names_the_failing_targets_and_why(plans: list[Plan], context: RunContext) -> None:
    text = render("html", plans, context=context)
    assert '<p class="verdict">2 of 3 target(s) fail: lab-defaults (drift), lab-unreachable (incomplete)</p>' in text
    assert '<header class="banner incomplete"' in text  # the worst exit: 3
    assert "run run-0042 · started 2026-11-22 06:00 UTC · took 12.5 s" in text
    rows = text.split('<table class="targets">')[1].split("</table>")[0].split("<tr")[2:]
    assert [r.split('"', 2)[1] for r in rows] == ["fail", "ok", "incomplete"]
    assert "MaxConnectionsPerUser is 16; required at least 2400" in rows[0]  # the worst drift first
    assert "and 20 more drift" in rows[0]
    assert "nothing to fix" in rows[1]
    assert "cannot connect: timed out after 30 s" in rows[2]


def test_drift_rationale_waived_unreadable_capacity_and_timeline(plans: list[Plan], context: RunContext) -> None:
    text = render("html", plans, context=context)
    drift = text.split('<table class="drift">')[1].split("</table>")[0]
    assert "refuses the 9th agent" in drift  # UCCX-IMAP-004's rationale, from the baseline file
    assert drift.index("sev critical") < drift.index("sev high") < drift.index("sev medium")
    waived = text.split('<table class="waived">')[1].split("</table>")[0]
    assert "CHG-1042" in waived and "j.doe" in waived and "2027-01-31" in waived and "waivers.yaml:3" in waived
    assert "UCCX-SMTP-003" not in drift  # waived drift is shown as waived, not as drift
    assert "cannot connect: timed out after 30 s" in text.split('<table class="unreadable">')[1]
    chart = text.split('<svg class="capacity"')[1].split("</svg>")[0]
    assert chart.count('<g class="limit">') == len(plans[0].capacity)
    assert "16 (needs 204, headroom -188)" in chart
    timeline = text.split('<svg class="timeline"')[1].split("</svg>")[0]
    assert timeline.count("<polyline") == 2  # one line per target in the history
    assert "lab-defaults 2026-11-22 06:00 UTC: 23 drift, 1 waived, 0 unreadable" in timeline


def test_without_history_the_timeline_is_a_note(plans: list[Plan]) -> None:
    for context in (None, run_context(timeline=False)):
        text = render("html", plans, context=context)
        assert '<svg class="timeline"' not in text
        assert "No drift timeline: this report has no history" in text


def test_a_baseline_that_cannot_be_read_is_said(plan: Plan) -> None:
    plan.baseline_path = "/nonexistent/baseline.yaml"
    text = render("html", [plan])
    assert "The checklist's rationale is not shown: the baseline file cannot be read" in text


def test_hostile_names_stay_text(plan: Plan) -> None:
    plan.target = '</td></tr></table><script>alert("x")</script>\u202e\x1b[31m'
    text = render("html", [plan])
    page = parsed(text)
    assert "script" not in {tag for tag, _ in page.tags}
    assert (
        "&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;\\u202e\\x1b[31m" in text
    )


def test_in_a_real_chromium(plans: list[Plan], context: RunContext, tmp_path: Path) -> None:
    try:
        binary()
    except ChromiumUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Chromium test: {exc}")
        pytest.skip(str(exc))
    report = tmp_path / "report.html"
    report.write_text(render("html", plans, context=context), encoding="utf-8")
    with Chromium() as chromium:
        page = chromium.load(report)
        found = chromium.evaluate(
            page,
            """JSON.stringify({
                title: document.title,
                verdict: document.querySelector('#verdict .verdict').textContent,
                targets: [...document.querySelectorAll('table.targets tr')].slice(1).map(r => r.className),
                drift: document.querySelectorAll('table.drift tr').length - 1,
                waived: document.querySelectorAll('table.waived tr').length - 1,
                bars: document.querySelectorAll('svg.capacity g.limit').length,
                lines: document.querySelectorAll('svg.timeline polyline').length,
                banner: getComputedStyle(document.querySelector('#verdict')).backgroundColor,
                scripts: document.scripts.length,
            })""",
        )
        OUTPUT.mkdir(exist_ok=True)
        shot = chromium.screenshot(page, OUTPUT / "html-report.png")
        # The harness sees a console error and a blocked fetch: a page that has them is caught.
        bad = tmp_path / "bad.html"
        bad.write_text(
            '<!DOCTYPE html><meta http-equiv="Content-Security-Policy" content="default-src \'none\'">'
            '<img src="http://127.0.0.1:9/x.png">',
            encoding="utf-8",
        )
        caught = chromium.load(bad)
    print(f"\nscreenshot of the HTML report: {shot}")
    assert page.problems == []
    assert page.requests == [report.resolve().as_uri()]  # nothing but the file itself
    import json

    values = json.loads(found)
    assert values == {
        "title": "UCCX compliance: 2 of 3 target(s) fail",
        "verdict": "2 of 3 target(s) fail: lab-defaults (drift), lab-unreachable (incomplete)",
        "targets": ["fail", "ok", "incomplete"],
        "drift": 23,
        "waived": 1,
        "bars": len(plans[0].capacity) + len(plans[1].capacity),
        "lines": 2,
        "banner": "rgb(239, 108, 0)",
        "scripts": 0,
    }
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert any("Content Security Policy" in problem for problem in caught.problems)
