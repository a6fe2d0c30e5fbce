"""``--notify webhook=URL``: the payload, the delivery's retries, and that no secret leaves or shows.

The webhook is a real HTTP server on 127.0.0.1 (stdlib ``http.server`` in a thread) that answers
from a script of statuses, so each retry rule is seen on the wire. The waits between attempts go
to an injected ``sleep`` that advances an injected clock: the retry schedule is asserted exactly
and no test waits for it.
"""

from __future__ import annotations

import datetime
import http.server
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance import pipeline
from compliance.errors import InputError
from compliance.lab import Lab
from compliance.lab.inventory import PASSWORD_ENV
from compliance.notify import Notifier, NotifyFailed, build_payload, deliver, parse_notify, shown
from compliance.plan import Change, Finding, Plan, WaiverRef
from compliance.reporters.context import RunContext

REPO = Path(__file__).resolve().parents[2]
SP1 = REPO / "baselines" / "uccx-exchange2010-sp1.yaml"
DEFAULTS = REPO / "examples" / "facts" / "exchange2010-sp3-defaults"
TOKEN = "T0KEN-b7f3c9e1d2a4"  # what a Slack/Teams webhook carries in its path
STARTED = datetime.datetime(2025, 3, 1, 6, 0, tzinfo=datetime.timezone.utc)
RUN = RunContext(run_id="run-0042", started_at=STARTED, duration_s=12.3456)


@dataclass
class Hook:
    """The webhook: answers each POST with the next scripted (status, headers); 200 when the script is done."""

    port: int
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/services/{TOKEN}"


@pytest.fixture
def hook() -> Iterator[Hook]:
    state = Hook(port=0)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            state.bodies.append(json.loads(self.rfile.read(length)))
            state.paths.append(self.path)
            status, headers = state.script.pop(0) if state.script else (200, {})
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the server's access log is not the client's output under test

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


class FakeTime:
    """An injected clock and sleep: each sleep is recorded and moves the clock, nothing waits."""

    def __init__(self) -> None:
        self.slept: list[float] = []
        self.offset = 0.0

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.offset += seconds

    def clock(self) -> float:
        return time.monotonic() + self.offset


def notifier(url: str, fake: FakeTime, **options: Any) -> Notifier:
    return replace(parse_notify(f"webhook={url}"), sleep=fake.sleep, clock=fake.clock, **options)


PAYLOAD = {"schema": "test", "text": "hello"}


# --- delivery -------------------------------------------------------------------------------------


def test_delivered_once(hook: Hook) -> None:
    fake = FakeTime()
    assert notifier(hook.url, fake).send(PAYLOAD) == 1
    assert hook.bodies == [PAYLOAD]
    assert hook.paths == [f"/services/{TOKEN}"]
    assert fake.slept == []


def test_5xx_is_retried_with_exponential_backoff(hook: Hook) -> None:
    hook.script = [(500, {}), (503, {}), (200, {})]
    fake = FakeTime()
    assert notifier(hook.url, fake, backoff_s=1.5).send(PAYLOAD) == 3
    assert fake.slept == [1.5, 3.0]
    assert len(hook.bodies) == 3


def test_429_waits_what_retry_after_asks(hook: Hook) -> None:
    hook.script = [(429, {"Retry-After": "7"}), (200, {})]
    fake = FakeTime()
    assert notifier(hook.url, fake).send(PAYLOAD) == 2
    assert fake.slept == [7.0]  # the server's number, not the backoff's 1s


def test_429_without_retry_after_falls_back_to_the_backoff(hook: Hook) -> None:
    hook.script = [(429, {}), (200, {})]
    fake = FakeTime()
    assert notifier(hook.url, fake, backoff_s=2.0).send(PAYLOAD) == 2
    assert fake.slept == [2.0]


def test_429_asking_more_than_the_cap_gives_up_at_once(hook: Hook) -> None:
    hook.script = [(429, {"Retry-After": "3600"})]
    fake = FakeTime()
    with pytest.raises(NotifyFailed, match="asked to wait 3600s, more than 30s"):
        notifier(hook.url, fake).send(PAYLOAD)
    assert len(hook.bodies) == 1
    assert fake.slept == []


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 301])
def test_4xx_and_redirects_are_never_retried(hook: Hook, status: int) -> None:
    hook.script = [(status, {"Location": "http://127.0.0.1:9/elsewhere"})]
    fake = FakeTime()
    with pytest.raises(NotifyFailed, match=f"HTTP {status}, not retried"):
        notifier(hook.url, fake).send(PAYLOAD)
    assert len(hook.bodies) == 1  # one request, and a 301 was not followed
    assert fake.slept == []


def test_5xx_every_time_stops_after_the_attempts(hook: Hook) -> None:
    hook.script = [(502, {})] * 10
    fake = FakeTime()
    with pytest.raises(NotifyFailed, match=r"HTTP 502 \(gave up after 4 attempt\(s\)\)"):
        notifier(hook.url, fake).send(PAYLOAD)
    assert len(hook.bodies) == 4
    assert fake.slept == [1.0, 2.0, 4.0]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: connecting is refused


def test_connection_refused_is_retried_then_reported() -> None:
    fake = FakeTime()
    url = f"http://127.0.0.1:{_closed_port()}/hook/{TOKEN}"
    with pytest.raises(NotifyFailed, match=r"cannot connect \(Connection refused\) \(gave up after 4"):
        notifier(url, fake).send(PAYLOAD)
    assert fake.slept == [1.0, 2.0, 4.0]


def test_a_silent_server_is_bounded_by_the_deadline() -> None:
    """A listener that never answers: each attempt times out, and the whole delivery stops at its
    deadline (real timeouts, fake waits). The bound on the wall clock is a safety property: a hung
    webhook must not hang a scheduled audit."""
    fake = FakeTime()
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the handshake completes in the backlog; nothing is ever read or written
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/hook/{TOKEN}"
        sender = notifier(url, fake, timeout_s=0.3, deadline_s=1.0, backoff_s=0.2, attempts=10)
        begun = time.monotonic()
        with pytest.raises(NotifyFailed) as failed:
            sender.send(PAYLOAD)
        elapsed = time.monotonic() - begun
    assert "no answer within" in str(failed.value)
    # 0.3s timeout + 0.2s wait + 0.3s timeout: the next wait (0.4s) would pass the 1s deadline.
    assert "no time left within 1s for another attempt (gave up after 2 attempt(s))" in str(failed.value)
    assert fake.slept == [0.2]
    assert elapsed < 5.0  # two 0.3s timeouts, not the ten attempts it was allowed


def test_a_failed_notification_is_one_warning_and_no_exception(hook: Hook, capsys: pytest.CaptureFixture[str]) -> None:
    hook.script = [(404, {})]
    assert deliver(notifier(hook.url, FakeTime()), PAYLOAD) is False
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"warning: --notify: notification not delivered: http://127.0.0.1:{hook.port}/…: HTTP 404, not retried "
        "(gave up after 1 attempt(s))"
    ]
    assert deliver(notifier(hook.url, FakeTime()), PAYLOAD) is True


# --- the webhook's token never shows ----------------------------------------------------------------


def test_the_token_is_in_no_output_and_no_log(
    hook: Hook, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hook.script = [(500, {}), (429, {"Retry-After": "1"}), (503, {}), (500, {})]
    sender = notifier(hook.url, FakeTime())
    assert deliver(sender, PAYLOAD) is False
    hook.script = [(500, {})]
    assert deliver(sender, PAYLOAD) is True
    captured = capsys.readouterr()
    seen = captured.out + captured.err + caplog.text + repr(sender)
    assert f"http://127.0.0.1:{hook.port}/…" in captured.err
    assert "retrying in 1s" in caplog.text and "delivered" in caplog.text  # the log was written, and checked
    assert TOKEN not in seen
    assert "/services" not in seen


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("slack=https://hooks.example/x", "--notify: expected webhook=URL, got 'slack'=…"),
        (f"https://hooks.example/{TOKEN}", "--notify: expected webhook=URL"),
        ("webhook=", "--notify: webhook URL must be http:// or https:// with a host (scheme 'none')"),
        ("webhook=ftp://hooks.example/" + TOKEN, "--notify: webhook URL must be http:// or https:// with a host"),
        ("webhook=file:///etc/passwd", "--notify: webhook URL must be http:// or https:// with a host"),
        ("webhook=https:///" + TOKEN, "--notify: webhook URL must be http:// or https:// with a host"),
        ("webhook=https://hooks.example:99999999/" + TOKEN, "--notify: webhook URL is not a valid URL"),
        ("webhook=https://bot:" + TOKEN + "@hooks.example/x", "--notify: webhook URL https://hooks.example/… holds"),
        ("webhook=https://" + TOKEN + "@hooks.example/x", "--notify: webhook URL https://hooks.example/… holds"),
    ],
)
def test_parse_notify_refuses_with_one_line(spec: str, message: str) -> None:
    with pytest.raises(InputError) as refused:
        parse_notify(spec)
    text = str(refused.value)
    assert text.startswith(message)
    assert "\n" not in text
    assert TOKEN not in text


def test_parse_notify_takes_http_and_https() -> None:
    assert parse_notify(f"webhook=https://hooks.example/services/{TOKEN}").shown == "https://hooks.example/…"
    assert parse_notify(f"webhook=http://127.0.0.1:8080/{TOKEN}?x=1").shown == "http://127.0.0.1:8080/…"


_secretish = st.text(alphabet=st.characters(codec="ascii", categories=("L", "N")), min_size=6, max_size=40)


@settings(max_examples=300, deadline=None)
@given(
    scheme=st.sampled_from(["http", "https", "ftp", "HTTPS", ""]),
    user=st.one_of(st.none(), _secretish),
    secret=_secretish,
    query=st.booleans(),
)
def test_no_refusal_or_shown_form_holds_the_path_or_userinfo(
    scheme: str, user: str | None, secret: str, query: bool
) -> None:
    """Whatever the URL, neither the refusal nor the shown form repeats its path, query or userinfo."""
    userinfo = f"{user}:{secret}@" if user else ""
    url = f"{scheme}://{userinfo}hooks.example/p/{secret}" + (f"?token={secret}" if query else "")
    try:
        said = parse_notify(f"webhook={url}").shown
    except InputError as exc:
        said = str(exc)
    assert secret not in said
    assert shown(url).endswith("/…")
    assert secret not in shown(url)


# --- the payload ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def defaults() -> Plan:
    """The real plan of the shipped factory-defaults facts, as the target the inventory names EX01."""
    plan = pipeline.plan_folder(SP1, DEFAULTS, {})
    plan.target = "EX01"
    assert plan.changes and plan.compliant  # the comparison below needs both
    return plan


def _drift_keys(plan: Plan) -> set[tuple[str, str, str]]:
    drift: list[Change | Finding] = [*plan.changes, *plan.findings]
    return {("EX01", r.check, r.resource) for r in drift}


def test_drift_appeared_and_fixed_against_the_previous_run(defaults: Plan) -> None:
    new = defaults.changes[0]
    fixed = defaults.compliant[0]
    previous = (_drift_keys(defaults) - {("EX01", new.check, new.resource)}) | {("EX01", fixed.check, fixed.resource)}
    payload = build_payload([defaults], previous_drift=previous, expiring=[], run=RUN, expiring_days=14)
    assert payload["compared_with_previous_run"] is True
    assert payload["drift_appeared"] == {
        "count": 1,
        "more": 0,
        "items": [
            {
                "target": "EX01",
                "check": new.check,
                "resource": new.resource,
                "title": new.title,
                "severity": new.severity,
            }
        ],
    }
    assert payload["drift_fixed"]["items"] == [
        {"target": "EX01", "check": fixed.check, "resource": fixed.resource, "title": fixed.title}
    ]
    assert payload["targets"] == [{"target": "EX01", "verdict": "drift", **defaults.summary()}]
    assert payload["exit_code"] == 2
    assert payload["run"] == {"id": "run-0042", "started_at": "2025-03-01T06:00:00+00:00", "duration_s": 12.346}
    assert payload["text"] == (
        "uccx-compliance audit run-0042: drift (1 target(s)); drift appeared 1, fixed 1, "
        "waivers expiring within 14 days 0"
    )
    json.dumps(payload)  # what is posted: plain JSON types only


def test_without_history_every_drift_has_appeared(defaults: Plan) -> None:
    payload = build_payload([defaults], previous_drift=None, expiring=[], run=RUN)
    drift = len(defaults.changes) + len(defaults.findings)
    assert payload["compared_with_previous_run"] is False
    assert payload["drift_appeared"]["count"] == drift == defaults.summary()["drift"]
    assert payload["drift_fixed"] == {"count": 0, "items": [], "more": 0}


def test_a_long_list_is_capped_and_counted(defaults: Plan) -> None:
    many = [replace(defaults.changes[0], resource=f"connector {i}") for i in range(250)]
    plan = replace(defaults, changes=many, findings=[])
    appeared = build_payload([plan], previous_drift=set(), expiring=[], run=RUN)["drift_appeared"]
    assert (appeared["count"], len(appeared["items"]), appeared["more"]) == (250, 100, 150)


def _waiver(days: int, check: str = "UCCX-IMAP-004") -> WaiverRef:
    return WaiverRef(
        check=check,
        resource="IMAP settings on *",
        justification="vendor ticket 1234",
        approver="j.doe",
        created=STARTED.date() - datetime.timedelta(days=30),
        expires=STARTED.date() + datetime.timedelta(days=days),
        source=f"waivers.yaml:{days + 10}",
    )


def test_waivers_expiring_within_n_days(defaults: Plan) -> None:
    waivers = [_waiver(15), _waiver(3), _waiver(-1), _waiver(0), _waiver(14, "UCCX-THR-001")]
    payload = build_payload([defaults], previous_drift=set(), expiring=waivers, run=RUN, expiring_days=14)
    soon = payload["waivers_expiring"]
    assert soon["within_days"] == 14
    assert [(w["days_left"], w["check"]) for w in soon["items"]] == [
        (0, "UCCX-IMAP-004"),
        (3, "UCCX-IMAP-004"),
        (14, "UCCX-THR-001"),
    ]
    assert soon["items"][0] == {
        "check": "UCCX-IMAP-004",
        "resource": "IMAP settings on *",
        "approver": "j.doe",
        "expires": "2025-03-01",
        "days_left": 0,
        "source": "waivers.yaml:10",
    }
    wider = build_payload([defaults], previous_drift=set(), expiring=waivers, run=RUN, expiring_days=30)
    assert wider["waivers_expiring"]["count"] == 4  # the expired one is a finding of its own, not "expiring"


def test_no_secret_reaches_the_payload(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A live audit of the lab: neither the password, nor the endpoint URLs, nor the inventory's
    credential fields are in what would be posted."""
    password = "Sup3r-Secret-Lab-Pw!"
    monkeypatch.setenv(PASSWORD_ENV, password)
    with Lab(scenario="exchange2010-sp3-defaults", port=0, password=password) as lab:
        inventory = lab.write_inventory(tmp_path / "lab.yaml")
        plans = pipeline.plan_inventory(
            inventory,
            {},
            baseline=None,
            by_version=False,
            only_target=None,
            allow_insecure_transport=False,
            keep_going=True,
            state_dir=tmp_path / "state",
        )
        endpoints = [lab.exchange_endpoint, *lab.host_endpoints.values(), f"127.0.0.1:{lab.port}"]
    assert plans[0].changes  # a real plan with drift, so the payload has content to leak from
    text = json.dumps(build_payload(plans, previous_drift=None, expiring=[], run=RUN))
    assert plans[0].target is not None and plans[0].target in text
    for secret in (password, PASSWORD_ENV, str(inventory), *endpoints):
        assert secret not in text
