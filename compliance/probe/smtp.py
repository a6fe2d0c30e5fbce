"""The SMTP probe: greeting, EHLO, STARTTLS, a test message, and N sessions held at once.

Written on the shared line connection (not smtplib) so both probes time the same steps the same
way and keep the server's replies verbatim; SMTP needs little more than reading multi-line
replies. No SMTP AUTH is sent: the probe reports the mechanisms offered, it does not log in.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from dataclasses import dataclass, field
from email.utils import formatdate, make_msgid

from compliance.probe.advice import ProbeContext, classify_smtp
from compliance.probe.concurrency import close_step, connections_step, open_sessions
from compliance.probe.result import ProbeResult, StepRecorder
from compliance.probe.session import Budget, FailureKind, LineConnection, SessionFailed
from compliance.probe.tls import INSECURE_WARNING, TlsOptions, make_context

log = logging.getLogger(__name__)

EXCHANGE_BANNER = "Microsoft ESMTP MAIL Service"
TEST_SUBJECT = "uccx-compliance SMTP probe test"


@dataclass(frozen=True)
class TestMessage:
    mail_from: str
    mail_to: str


@dataclass(frozen=True)
class SmtpProbeOptions:
    host: str
    port: int = 25
    starttls: bool = False
    tls: TlsOptions = field(default_factory=TlsOptions)
    helo: str = "uccx-compliance.probe"
    test_message: TestMessage | None = None
    connections: int = 1
    timeout: float = 10.0
    budget: float = 60.0


@dataclass(frozen=True)
class _Reply:
    code: int
    lines: list[str]  # verbatim, code included

    @property
    def words(self) -> str:
        return " / ".join(self.lines)


class SmtpSession:
    def __init__(self, conn: LineConnection) -> None:
        self._conn = conn
        self.extensions: dict[str, str] = {}

    @classmethod
    def open(
        cls,
        options: SmtpProbeOptions,
        context: ssl.SSLContext | None,
        budget: Budget,
        steps: StepRecorder,
        on_greeting: list[str] | None = None,
    ) -> SmtpSession:
        """Connect, read the banner, EHLO, optionally STARTTLS: the session is then ready to send."""
        with steps.step("tcp_connect") as note:
            conn = LineConnection.open(options.host, options.port, budget, options.timeout)
            note.detail = f"connected to {options.host}:{options.port}"
        session = cls(conn)
        try:
            with steps.step("greeting") as note:
                reply = session._expect("greeting", {220})
                if on_greeting is not None:
                    on_greeting.append(reply.words)
                server = "Microsoft Exchange" if is_exchange_banner(reply.words) else "not Exchange"
                note.detail = f"{reply.words} ({server})"
            with steps.step("ehlo") as note:
                note.detail = session._ehlo(options.helo)
            if options.starttls and context is not None:
                with steps.step("starttls") as note:
                    note.detail = session._starttls(context, options)
        except SessionFailed:
            conn.close()
            raise
        return session

    def _ehlo(self, helo: str) -> str:
        reply = self._command("ehlo", f"EHLO {helo}", {250})
        self.extensions = {}
        for line in reply.lines[1:]:
            keyword, _, params = line[4:].partition(" ")
            self.extensions[keyword.upper()] = params
        names = ", ".join(f"{k} {v}".strip() for k, v in self.extensions.items()) or "none"
        return f"{reply.lines[0]}; extensions: {names}; AUTH mechanisms: {self.auth_mechanisms()}"

    def auth_mechanisms(self) -> str:
        return ", ".join(self.extensions.get("AUTH", "").split()) or "none offered"

    def _starttls(self, context: ssl.SSLContext, options: SmtpProbeOptions) -> str:
        if "STARTTLS" not in self.extensions:
            raise SessionFailed("starttls", FailureKind.NOT_OFFERED, "the server does not offer STARTTLS")
        reply = self._command("starttls", "STARTTLS", {220})
        self._conn.start_tls("starttls", context, options.host)
        summary = self._conn.tls_summary()
        # EHLO again: servers offer AUTH mechanisms (and drop STARTTLS) once encrypted.
        self._ehlo(options.helo)
        return f"{reply.words}; {summary}; AUTH mechanisms after TLS: {self.auth_mechanisms()}"

    def send_test(self, message: TestMessage, helo: str) -> str:
        """MAIL FROM, RCPT TO and DATA with a small message; the server's final reply is the detail."""
        stage = "send_test"
        self._command(stage, f"MAIL FROM:<{message.mail_from}>", {250})
        self._command(stage, f"RCPT TO:<{message.mail_to}>", {250, 251})
        self._command(stage, "DATA", {354})
        message_id = make_msgid(domain=helo)
        body = [
            f"From: <{message.mail_from}>",
            f"To: <{message.mail_to}>",
            f"Subject: {TEST_SUBJECT}",
            f"Date: {formatdate(localtime=True)}",
            f"Message-ID: {message_id}",
            "",
            "Sent by `uccx-compliance probe smtp --send-test` to check that the receive connector",
            "accepts mail from this host for UCCX. It can be deleted.",
        ]
        for line in body:
            # Dot-stuffing (RFC 5321 4.5.2): a line starting with "." gets another one.
            self._conn.send_line(stage, "." + line if line.startswith(".") else line)
        reply = self._command(stage, ".", {250})
        return f"{reply.words} ({message_id} from <{message.mail_from}> to <{message.mail_to}>)"

    def begin_close(self) -> None:
        # Already gone? finish_close then reports this session as not closed properly.
        with contextlib.suppress(SessionFailed):
            self._conn.send_line("quit", "QUIT")

    def finish_close(self) -> bool:
        try:
            self._expect("quit", {221})
            return True
        except SessionFailed:
            return False
        finally:
            self._conn.close()

    def _command(self, stage: str, line: str, ok_codes: set[int]) -> _Reply:
        log.debug("C: %s", line)
        self._conn.send_line(stage, line)
        return self._expect(stage, ok_codes)

    def _expect(self, stage: str, ok_codes: set[int]) -> _Reply:
        reply = self._read_reply(stage)
        if reply.code not in ok_codes:
            raise SessionFailed(stage, FailureKind.REPLY, f"server answered {reply.words}", words=reply.words)
        return reply

    def _read_reply(self, stage: str) -> _Reply:
        lines: list[str] = []
        while True:
            line = self._conn.read_line(stage)
            log.debug("S: %s", line)
            lines.append(line)
            if len(line) < 3 or not line[:3].isdigit():
                raise SessionFailed(stage, FailureKind.REPLY, f"not an SMTP reply: {line}", words=line)
            if line[3:4] != "-":
                return _Reply(int(line[:3]), lines)


def probe_smtp(options: SmtpProbeOptions) -> ProbeResult:
    """Run the probe and classify what the server did; never raises for server behaviour."""
    context = make_context(options.tls) if options.starttls else None
    budget = Budget(options.budget)
    greetings: list[str] = []

    def open_one(number: int, steps: StepRecorder) -> SmtpSession:
        session = SmtpSession.open(options, context, budget, steps, on_greeting=greetings)
        # The test message goes on the first session only, before the others are opened.
        if number == 1 and options.test_message is not None:
            try:
                with steps.step("send_test") as note:
                    note.detail = session.send_test(options.test_message, options.helo)
            except SessionFailed:
                session.begin_close()
                session.finish_close()
                raise
        return session

    opened = open_sessions(options.connections, budget, open_one)
    steps = list(opened.first_steps.steps)
    steps.append(connections_step(options.connections, opened, "from this host"))
    if opened.sessions:
        steps.append(close_step("quit", "QUIT", opened.sessions))
    outcome, advice = classify_smtp(
        ProbeContext(options.host, options.port, None, options.budget), len(opened.sessions), opened.refusal
    )
    refusal = opened.refusal
    server = None
    if greetings:
        server = "Microsoft Exchange" if is_exchange_banner(greetings[0]) else "other SMTP server"
    warnings = [INSECURE_WARNING] if options.starttls and options.tls.insecure_skip_verify else []
    return ProbeResult(
        probe="smtp",
        host=options.host,
        port=options.port,
        security="starttls" if options.starttls else "none",
        outcome=outcome,
        requested=options.connections,
        accepted=len(opened.sessions),
        refusal=refusal.failure.words if refusal else None,
        refusal_kind=refusal.kind.value if refusal else None,
        advice=advice,
        steps=steps,
        warnings=warnings,
        server=server,
    )


def is_exchange_banner(words: str) -> bool:
    """Exchange's SMTP banner: ``220 EX01.contoso.com Microsoft ESMTP MAIL Service ready at ...``."""
    return EXCHANGE_BANNER.lower() in words.lower()
