"""The issue's done-when for audit: one run against the lab writes json, html, junit, sarif,
prometheus, markdown and csv, each validated as its own tests validate it (SARIF against the
official schema, the textfile with prometheus_client's parser, JUnit against Jenkins' schema,
Markdown with a CommonMark parser); a waiver turns the only drift into
waived (exit 0) and, expired, fails the same run (exit 2); the run is in the history, and the HTML
draws its timeline from it."""

from __future__ import annotations

import csv
import datetime
import io
import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from prometheus_client.parser import text_string_to_metric_families

from compliance.history import open_history
from compliance.lab import Lab
from compliance.lab.inventory import PASSWORD_ENV
from tests.apply.applyhelpers import PASSWORD as APPLY_PASSWORD
from tests.apply.applyhelpers import run_cmdlet
from tests.reporters.validators import junit_errors, markdown_tables

pytestmark = pytest.mark.server

PASSWORD = "audit-reports-password"
REPO = Path(__file__).resolve().parents[2]
SARIF_SCHEMA = REPO / "tests" / "fixtures" / "sarif" / "sarif-schema-2.1.0.json"
FORMATS = ("json", "html", "junit", "sarif", "prometheus", "markdown", "csv")


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


def audit(cli: Any, inventory: Path, out: Path, *extra: Any) -> Any:
    argv: list[Any] = ["audit", "--inventory", inventory, *extra]
    for fmt in FORMATS:
        argv += ["--report", f"{fmt}={out / ('report.' + fmt)}"]
    return cli(*argv)


def test_one_audit_writes_all_seven_reports_each_valid(
    tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    out = tmp_path / "out"
    with Lab(password=PASSWORD) as lab:
        inventory = lab.write_inventory(tmp_path / "inventory.yaml")
        first = audit(cli, inventory, out)
        second = audit(cli, inventory, out)  # a second run: the timeline has two points
    assert first.code == second.code == 2, first.err
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["drift"] == 22
    junit = (out / "report.junit").read_text()
    assert junit_errors(junit) == []  # the schema Jenkins' xUnit plugin checks JUnit against
    assert len(ET.fromstring(junit.encode()).findall("testsuite/testcase/failure")) == 22
    sarif = json.loads((out / "report.sarif").read_text())
    jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(sarif)
    assert len(sarif["runs"][0]["results"]) >= 22
    families = {f.name: f for f in text_string_to_metric_families((out / "report.prometheus").read_text())}
    assert any(name.startswith("uccx_compliance_") for name in families)
    assert any("last_run" in name for name in families)  # the run's time: audit passes its context
    rows = list(csv.DictReader(io.StringIO((out / "report.csv").read_text(), newline="")))
    assert sum(r["verdict"] == "drift" for r in rows) == 22
    # As GitHub renders the step summary (one target: its drift table alone), cell by cell.
    [drift] = markdown_tables((out / "report.markdown").read_text())
    assert drift[0] == ["check", "resource", "setting", "current", "required", "action"]
    assert ["UCCX-IMAP-004", "IMAP settings on EX01", "MaxConnectionsPerUser", "16", "at least 2400", "update"] in drift
    assert len(drift) == 1 + 22
    html = (out / "report.html").read_text()
    parser = _Tags()
    parser.feed(html)
    assert "svg" in parser.tags and "script" not in parser.tags
    assert "Drift timeline" in html and "no history" not in html.lower()
    assert PASSWORD not in "".join((out / f"report.{fmt}").read_text() for fmt in FORMATS)


def test_a_waiver_turns_the_only_drift_into_waived_and_expired_it_fails_the_run(
    tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, APPLY_PASSWORD)  # run_cmdlet's out-of-band session uses it
    today = datetime.datetime.now(datetime.timezone.utc).date()
    waivers = tmp_path / "waivers.yaml"

    def write(created: datetime.date, expires: datetime.date) -> None:
        waivers.write_text(
            "apiVersion: uccx-compliance/v1\nkind: Waivers\nwaivers:\n"
            "  - check: UCCX-IMAP-004\n    resource: 'IMAP settings on *'\n"
            "    justification: agents cut to 40 until the new CAS array, CHG-2231\n    approver: j.doe\n"
            f"    created: '{created.isoformat()}'\n    expires: '{expires.isoformat()}'\n",
            encoding="utf-8",
        )

    with Lab(scenario="exchange2010-sp3-compliant", password=APPLY_PASSWORD) as lab:
        run_cmdlet(lab, "Set-ImapSettings", MaxConnectionsPerUser=100)  # the one drift
        inventory = lab.write_inventory(tmp_path / "inventory.yaml")
        assert cli("audit", "--inventory", inventory, "--quiet").code == 2
        write(today - datetime.timedelta(days=1), today + datetime.timedelta(days=30))
        waived = audit(cli, inventory, tmp_path / "waived", "--waivers", waivers)
        write(today - datetime.timedelta(days=60), today - datetime.timedelta(days=1))
        expired = audit(cli, inventory, tmp_path / "expired", "--waivers", waivers)
    assert waived.code == 0, waived.out + waived.err
    report = json.loads((tmp_path / "waived" / "report.json").read_text())
    assert report["summary"]["waived"] == 1 and report["summary"]["drift"] == 0
    assert "CHG-2231" in (tmp_path / "waived" / "report.html").read_text()  # never hidden
    assert expired.code == 2
    checks = {f["check"] for f in json.loads((tmp_path / "expired" / "report.json").read_text())["findings"]}
    assert "UCCX-WAIVER-EXPIRED" in checks


def test_each_audit_is_recorded_in_the_history(tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    history = tmp_path / "history.sqlite"
    with Lab(password=PASSWORD) as lab:
        inventory = lab.write_inventory(tmp_path / "inventory.yaml")
        for _ in range(2):
            assert cli("audit", "--inventory", inventory, "--history", history, "--quiet").code == 2
    store = open_history(history, state_dir=tmp_path)
    try:
        points = store.timeline()
        episodes = store.episodes()
    finally:
        store.close()
    assert [p.drift for p in points] == [22, 22]
    assert len(episodes) == 22 and all(e.fixed_at is None for e in episodes)
    shown = cli("history", "--history", history, "--format", "json")
    assert shown.code == 0 and len(json.loads(shown.out)["episodes"]) == 22


def test_audit_notifies_what_appeared_and_what_an_apply_fixed(
    tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import http.server
    import threading

    posted: list[dict[str, Any]] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            posted.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/hooks/T0KEN-secret-part"
    monkeypatch.setenv(PASSWORD_ENV, APPLY_PASSWORD)
    history = tmp_path / "history.sqlite"
    today = datetime.datetime.now(datetime.timezone.utc).date()
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(  # waives nothing the lab has, and expires in five days: in the notification
        "apiVersion: uccx-compliance/v1\nkind: Waivers\nwaivers:\n"
        "  - check: UCCX-SMTP-003\n    resource: 'EX09\\*'\n    justification: EX09 is retired this month\n"
        f"    approver: j.doe\n    created: '{today.isoformat()}'\n"
        f"    expires: '{(today + datetime.timedelta(days=5)).isoformat()}'\n",
        encoding="utf-8",
    )
    notify = ["--history", history, "--notify", f"webhook={url}", "--waivers", waivers]
    try:
        with Lab(scenario="exchange2010-sp3-compliant", password=APPLY_PASSWORD) as lab:
            inventory = lab.write_inventory(tmp_path / "inventory.yaml")
            run_cmdlet(lab, "Set-ImapSettings", MaxConnections=100)  # drift appears
            first = cli("audit", "--inventory", inventory, *notify)
            run_cmdlet(lab, "Set-ImapSettings", MaxConnections=2400)  # fixed out of band
            second = cli("audit", "--inventory", inventory, *notify)
    finally:
        server.shutdown()
    assert (first.code, second.code) == (2, 0)
    assert [p["drift_appeared"]["count"] for p in posted] == [1, 0]
    assert posted[1]["drift_fixed"]["count"] == 1
    assert posted[1]["drift_fixed"]["items"][0]["check"] == "UCCX-IMAP-003"
    assert posted[0]["waivers_expiring"]["count"] == 1
    shown = first.out + first.err + second.out + second.err + json.dumps(posted)
    assert "T0KEN-secret-part" not in shown and APPLY_PASSWORD not in json.dumps(posted)
