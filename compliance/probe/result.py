"""The shared result of a probe: timed steps, an outcome an admin can act on, and the reports.

One model, three writers with one signature (``REPORTERS``): text for a terminal, JSON for
scripts, JUnit XML for a CI dashboard. Every writer reads only this model, which holds server
words and our own text, never a credential.
"""

from __future__ import annotations

import enum
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from compliance.errors import ExitCode
from compliance.probe.session import FailureKind, SessionFailed

FORMAT_VERSION = 1


class Outcome(str, enum.Enum):
    OK = "ok"
    UNREACHABLE = "unreachable"  # network or firewall: refused, no route, DNS, connect timeout
    TLS_FAILED = "tls_failed"  # handshake or certificate
    AUTH_REJECTED = "auth_rejected"  # the very first login fails: credentials or account
    THROTTLED = "throttled"  # the first k sessions succeed, then the server refuses
    INCOMPLETE = "incomplete"  # the time budget ran out before the server said anything decisive


EXIT_CODES: dict[Outcome, ExitCode] = {
    Outcome.OK: ExitCode.OK,
    Outcome.AUTH_REJECTED: ExitCode.DRIFT,
    Outcome.THROTTLED: ExitCode.DRIFT,
    Outcome.UNREACHABLE: ExitCode.INCOMPLETE,
    Outcome.TLS_FAILED: ExitCode.INCOMPLETE,
    Outcome.INCOMPLETE: ExitCode.INCOMPLETE,
}


@dataclass(frozen=True)
class Step:
    name: str
    ok: bool
    ms: float
    detail: str


@dataclass
class StepNote:
    """What a step found, filled in while it runs."""

    detail: str = ""


@dataclass
class StepRecorder:
    """Times steps and records them, passed or failed, in order."""

    steps: list[Step] = field(default_factory=list)

    @contextmanager
    def step(self, name: str) -> Iterator[StepNote]:
        note = StepNote()
        started = time.perf_counter()
        try:
            yield note
        except SessionFailed as exc:
            self.steps.append(Step(name, False, ms_since(started), exc.detail))
            raise
        self.steps.append(Step(name, True, ms_since(started), note.detail))


def ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 1)


def plural(count: int, noun: str) -> str:
    """``1 session``, ``3 sessions``: reports are read by people."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


@dataclass(frozen=True)
class Refusal:
    """The first session that did not make it: its number, where and how it stopped."""

    session: int
    failure: SessionFailed

    @property
    def kind(self) -> FailureKind:
        return self.failure.kind

    def describe(self) -> str:
        said = f": {self.failure.words}" if self.failure.words else f" ({self.failure.detail})"
        return f"session {self.session} stopped at {self.failure.stage}, {_KIND_WORDS[self.kind]}{said}"


_KIND_WORDS: dict[FailureKind, str] = {
    FailureKind.CONNECT: "connection failed",
    FailureKind.TLS: "TLS failed",
    FailureKind.NO: "server answered NO",
    FailureKind.BYE: "server said BYE",
    FailureKind.REPLY: "server refused",
    FailureKind.DROPPED: "server dropped the connection",
    FailureKind.TIMEOUT: "server did not answer in time",
    FailureKind.NOT_OFFERED: "capability not offered",
    FailureKind.BUDGET: "time budget ran out",
}


@dataclass
class ProbeResult:
    probe: str  # "imap" or "smtp"
    host: str
    port: int
    security: str  # "none", "starttls" or "tls"
    outcome: Outcome
    requested: int
    accepted: int
    refusal: str | None  # the server's words, or None when it said nothing
    refusal_kind: str | None
    advice: str
    steps: list[Step]
    warnings: list[str] = field(default_factory=list)
    server: str | None = None  # "Microsoft Exchange" when the greeting says so

    @property
    def exit_code(self) -> ExitCode:
        return EXIT_CODES[self.outcome]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "probe": self.probe,
            "host": self.host,
            "port": self.port,
            "security": self.security,
            "server": self.server,
            "outcome": self.outcome.value,
            "requested": self.requested,
            "accepted": self.accepted,
            "refusal": self.refusal,
            "refusal_kind": self.refusal_kind,
            "advice": self.advice,
            "warnings": list(self.warnings),
            "steps": [{"name": s.name, "ok": s.ok, "ms": s.ms, "detail": s.detail} for s in self.steps],
        }


def render_text(result: ProbeResult) -> str:
    width = max((len(s.name) for s in result.steps), default=0)
    lines = [
        f"{result.probe.upper()} probe of {result.host}:{result.port} "
        f"(security: {result.security}; server: {result.server or 'not identified'})"
    ]
    for s in result.steps:
        lines.append(f"  {'PASS' if s.ok else 'FAIL'}  {s.name:<{width}}  {s.ms:>8.1f} ms  {s.detail}")
    counts = f"{result.accepted} of {plural(result.requested, 'session')} accepted"
    lines.append(f"outcome: {result.outcome.value} ({counts})")
    if result.refusal_kind is not None:
        how = _KIND_WORDS.get(FailureKind(result.refusal_kind), result.refusal_kind)
        lines.append(f"refusal ({how}): {result.refusal if result.refusal is not None else '(no words)'}")
    lines.append(f"advice: {result.advice}")
    lines.extend(f"warning: {w}" for w in result.warnings)
    return "\n".join(lines) + "\n"


def render_json(result: ProbeResult) -> str:
    return json.dumps(result.to_dict(), indent=2) + "\n"


def render_junit(result: ProbeResult) -> str:
    """One testcase per step; the ``connections`` step is the connection-count testcase."""
    suite = ET.Element(
        "testsuite",
        name=f"uccx-compliance.probe.{result.probe}",
        tests=str(len(result.steps)),
        failures=str(sum(1 for s in result.steps if not s.ok)),
        errors="0",
        time=f"{sum(s.ms for s in result.steps) / 1000.0:.3f}",
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("host", result.host),
        ("port", str(result.port)),
        ("outcome", result.outcome.value),
        ("requested", str(result.requested)),
        ("accepted", str(result.accepted)),
    ):
        ET.SubElement(props, "property", name=name, value=value)
    classname = f"probe.{result.probe}.{result.host}:{result.port}"
    for s in result.steps:
        case = ET.SubElement(suite, "testcase", classname=classname, name=s.name, time=f"{s.ms / 1000.0:.3f}")
        if s.ok:
            ET.SubElement(case, "system-out").text = s.detail
        else:
            failure = ET.SubElement(case, "failure", message=s.detail, type=result.outcome.value)
            failure.text = f"{s.detail}\n\nadvice: {result.advice}"
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


Reporter = Callable[[ProbeResult], str]

REPORTERS: dict[str, Reporter] = {
    "text": render_text,
    "json": render_json,
    "junit": render_junit,
}
