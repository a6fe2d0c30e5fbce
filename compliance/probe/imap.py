"""The IMAP probe: log in as the UCCX account, and hold N sessions open at once.

A small hand-written IMAP client (not imaplib) so that every server line is kept verbatim for
the report: the admin needs to see ``A2 NO AUTHENTICATE failed.`` exactly as a capture would.
Client lines that carry credentials are never kept or logged, and never sent over a connection
that is not encrypted unless ``--allow-insecure-transport`` says so: not without --tls/--starttls,
and not after a STARTTLS the server refused or a handshake that failed (the session stops there).
"""

from __future__ import annotations

import base64
import contextlib
import logging
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from compliance import sizing
from compliance.errors import InputError
from compliance.probe.advice import NOT_EXCHANGE_NOTE, ProbeContext, classify_imap
from compliance.probe.concurrency import close_step, connections_step, open_sessions
from compliance.probe.result import Outcome, ProbeResult, StepRecorder
from compliance.probe.session import Budget, FailureKind, LineConnection, Secret, SessionFailed
from compliance.probe.tls import INSECURE_WARNING, TlsOptions, make_context

log = logging.getLogger(__name__)

Security = Literal["none", "starttls", "tls"]
Mechanism = Literal["auto", "login", "plain"]

EXCHANGE_GREETING = "Microsoft Exchange IMAP4 service is ready"
_LITERAL = re.compile(r"\{(\d+)\+?\}$")


@dataclass(frozen=True)
class Credentials:
    user: str
    password: Secret
    mechanism: Mechanism = "auto"


@dataclass(frozen=True)
class ImapProbeOptions:
    host: str
    port: int
    security: Security = "none"
    tls: TlsOptions = field(default_factory=TlsOptions)
    credentials: Credentials | None = None
    connections: int = 1
    timeout: float = 10.0
    budget: float = 60.0
    allow_insecure_transport: bool = False  # send the login in clear text (a lab without TLS)
    agents: int | None = None  # --agents: the team the sessions stand for (connections = sizing of it)
    uccx_connections: int = sizing.UCCX_SERVER_CONNECTIONS  # UCCX's own sessions, as in the plan


@dataclass
class _Reply:
    line: str  # the tagged completion line, verbatim
    untagged: list[str]


class ImapSession:
    """One IMAP connection taken through the probe's steps."""

    def __init__(self, conn: LineConnection) -> None:
        self._conn = conn
        self._tag = 0
        self.capabilities: set[str] = set()

    # -- the steps -------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        options: ImapProbeOptions,
        context: ssl.SSLContext | None,
        budget: Budget,
        steps: StepRecorder,
        on_greeting: Callable[[str], None] | None = None,
    ) -> ImapSession:
        """Connect and run every step up to SELECT INBOX; raises SessionFailed at the first failure."""
        with steps.step("tcp_connect") as note:
            conn = LineConnection.open(options.host, options.port, budget, options.timeout)
            note.detail = f"connected to {options.host}:{options.port}"
        session = cls(conn)
        try:
            if options.security == "tls" and context is not None:
                with steps.step("tls_handshake") as note:
                    conn.start_tls("tls_handshake", context, options.host)
                    note.detail = conn.tls_summary()
            with steps.step("greeting") as note:
                note.detail = session._greeting()
                if on_greeting is not None:
                    on_greeting(note.detail)
            with steps.step("capability") as note:
                note.detail = session._capability("capability")
            if options.security == "starttls" and context is not None:
                with steps.step("starttls") as note:
                    note.detail = session._starttls(context, options.host)
            if options.credentials is not None:
                with steps.step("login") as note:
                    if not conn.encrypted and not options.allow_insecure_transport:
                        # Reached only through a bug: _check_credentials refuses this before connecting.
                        raise SessionFailed("login", FailureKind.TLS, "the connection is not encrypted: no login sent")
                    note.detail = session._login(options.credentials)
                with steps.step("select") as note:
                    note.detail = session._select()
        except SessionFailed:
            conn.close()
            raise
        return session

    def _greeting(self) -> str:
        line = self._read_line("greeting")
        upper = line.upper()
        if upper.startswith("* BYE"):
            raise SessionFailed("greeting", FailureKind.BYE, f"server said BYE: {line}", words=line)
        if not (upper.startswith("* OK") or upper.startswith("* PREAUTH")):
            raise SessionFailed("greeting", FailureKind.REPLY, f"not an IMAP greeting: {line}", words=line)
        self._capabilities_from_code(line)
        server = "Microsoft Exchange" if is_exchange_greeting(line) else "not Microsoft Exchange"
        return f"{line} ({server})"

    def _capability(self, stage: str) -> str:
        reply = self._command(stage, "CAPABILITY")
        found: set[str] = set()
        for line in reply.untagged:
            if line.upper().startswith("* CAPABILITY "):
                found.update(line[len("* CAPABILITY ") :].upper().split())
        self.capabilities = found
        auth = sorted(c[len("AUTH=") :] for c in found if c.startswith("AUTH="))
        return (
            f"AUTH mechanisms: {', '.join(auth) or 'none'}; "
            f"LOGINDISABLED {'present' if 'LOGINDISABLED' in found else 'absent'}; "
            f"STARTTLS {'offered' if 'STARTTLS' in found else 'not offered'}"
        )

    def _starttls(self, context: ssl.SSLContext, host: str) -> str:
        if "STARTTLS" not in self.capabilities:
            raise SessionFailed("starttls", FailureKind.NOT_OFFERED, "the server does not offer STARTTLS")
        reply = self._command("starttls", "STARTTLS")
        self._conn.start_tls("starttls", context, host)
        # Capabilities change once encrypted (LOGINDISABLED usually goes away): ask again.
        after = self._capability("starttls")
        return f"{reply.line}; {self._conn.tls_summary()}; after TLS: {after}"

    def _login(self, credentials: Credentials) -> str:
        mechanism = self._choose_mechanism(credentials)
        user, password = credentials.user, credentials.password.reveal()
        if mechanism == "plain":
            token = base64.b64encode(f"\0{user}\0{password}".encode()).decode("ascii")
            if "SASL-IR" in self.capabilities:
                reply = self._command("login", f"AUTHENTICATE PLAIN {token}", shown="AUTHENTICATE PLAIN ***")
            else:
                reply = self._command("login", "AUTHENTICATE PLAIN", continuation=token)
        else:
            reply = self._command("login", f"LOGIN {quote(user)} {quote(password)}", shown=f"LOGIN {quote(user)} ***")
        return f"{'AUTHENTICATE PLAIN' if mechanism == 'plain' else 'LOGIN'} as {user}: {reply.line}"

    def _choose_mechanism(self, credentials: Credentials) -> Literal["login", "plain"]:
        if credentials.mechanism != "auto":
            return credentials.mechanism
        offers_plain = "AUTH=PLAIN" in self.capabilities
        if "LOGINDISABLED" not in self.capabilities and can_quote(credentials.password.reveal()):
            return "login"
        if offers_plain:
            return "plain"
        raise SessionFailed(
            "login",
            FailureKind.NOT_OFFERED,
            "the server refuses LOGIN on this connection (LOGINDISABLED) and offers no AUTH=PLAIN",
        )

    def _select(self) -> str:
        reply = self._command("select", "SELECT INBOX")
        exists = next((ln.split()[1] for ln in reply.untagged if ln.upper().endswith(" EXISTS")), "?")
        return f"INBOX has {exists} messages: {reply.line}"

    # -- closing (see compliance.probe.concurrency) ------------------------------------------

    def begin_close(self) -> None:
        # Already gone? finish_close then reports this session as not closed properly.
        with contextlib.suppress(SessionFailed):
            self._send("logout", "LOGOUT")

    def finish_close(self) -> bool:
        try:
            self._read_reply("logout", f"A{self._tag}")
            return True
        except SessionFailed:
            return False
        finally:
            self._conn.close()

    # -- the protocol ------------------------------------------------------------------------

    def _command(
        self, stage: str, command: str, *, shown: str | None = None, continuation: str | None = None
    ) -> _Reply:
        tag = self._send(stage, command, shown=shown)
        return self._read_reply(stage, tag, continuation=continuation)

    def _send(self, stage: str, command: str, *, shown: str | None = None) -> str:
        self._tag += 1
        tag = f"A{self._tag}"
        log.debug("C: %s %s", tag, shown or command)
        self._conn.send_line(stage, f"{tag} {command}")
        return tag

    def _read_reply(self, stage: str, tag: str, *, continuation: str | None = None) -> _Reply:
        untagged: list[str] = []
        bye: str | None = None
        while True:
            try:
                line = self._read_line(stage)
            except SessionFailed as exc:
                if bye is not None and exc.kind is FailureKind.DROPPED:
                    detail = f"server said BYE: {bye}"
                    raise SessionFailed(stage, FailureKind.BYE, detail, words=bye) from None
                raise
            if line.upper().startswith(f"{tag} "):
                status = line[len(tag) + 1 :].split(" ", 1)[0].upper()
                if status == "OK":
                    return _Reply(line, untagged)
                raise SessionFailed(stage, FailureKind.NO, f"server answered {status}: {line}", words=line)
            if line.startswith("+") and continuation is not None:
                self._conn.send_line(stage, continuation)
                continuation = None
                continue
            if line.upper().startswith("* BYE"):
                bye = line
            untagged.append(line)

    def _read_line(self, stage: str) -> str:
        """One response line, with any IMAP literals ({n}) folded in."""
        line = self._conn.read_line(stage)
        while (match := _LITERAL.search(line)) is not None:
            literal = self._conn.read_exact(stage, int(match.group(1))).decode("utf-8", errors="replace")
            line = line + literal + self._conn.read_line(stage)
        log.debug("S: %s", line)
        return line

    def _capabilities_from_code(self, line: str) -> None:
        match = re.search(r"\[CAPABILITY ([^\]]*)\]", line, re.IGNORECASE)
        if match:
            self.capabilities = set(match.group(1).upper().split())


def is_exchange_greeting(line: str) -> bool:
    return EXCHANGE_GREETING.lower() in line.lower()


def can_quote(value: str) -> bool:
    """Whether an IMAP quoted string can carry ``value`` (7-bit, no CR, LF or NUL)."""
    return value.isascii() and not any(ch in value for ch in "\r\n\0")


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- the probe ---------------------------------------------------------------------------------


def probe_imap(options: ImapProbeOptions) -> ProbeResult:
    """Run the probe and classify what the server did; never raises for server behaviour."""
    _check_credentials(options)
    context = make_context(options.tls) if options.security != "none" else None
    budget = Budget(options.budget)
    greetings: list[str] = []
    opened = open_sessions(
        options.connections,
        budget,
        lambda _number, steps: ImapSession.open(options, context, budget, steps, on_greeting=greetings.append),
    )
    steps = list(opened.first_steps.steps)
    accepted = len(opened.sessions)
    if options.credentials is not None:
        steps.append(connections_step(options.connections, opened, "with one account"))
    if opened.sessions:
        steps.append(close_step("logout", "LOGOUT", opened.sessions))

    user = options.credentials.user if options.credentials else None
    outcome, advice = classify_imap(
        ProbeContext(
            options.host, options.port, user, options.budget, agents=options.agents, own=options.uccx_connections
        ),
        accepted,
        opened.refusal,
    )
    server = None
    if greetings:
        server = "Microsoft Exchange" if is_exchange_greeting(greetings[0]) else "other IMAP server"
        # Only a limit is server-specific; reachability, TLS and credentials advice holds anywhere.
        if server != "Microsoft Exchange" and outcome is Outcome.THROTTLED:
            advice = f"{advice} {NOT_EXCHANGE_NOTE}"
    refusal = opened.refusal
    return ProbeResult(
        probe="imap",
        host=options.host,
        port=options.port,
        security=options.security,
        outcome=outcome,
        requested=options.connections,
        accepted=accepted,
        refusal=refusal.failure.words if refusal else None,
        refusal_kind=refusal.kind.value if refusal else None,
        advice=advice,
        steps=steps,
        warnings=warnings_for(options),
        server=server,
    )


def _check_credentials(options: ImapProbeOptions) -> None:
    creds = options.credentials
    if creds is None:
        if options.connections > 1:
            raise InputError("--connections above 1 needs --user: sessions are counted once logged in")
        return
    if options.security == "none" and not options.allow_insecure_transport:
        raise InputError(
            f"--user {creds.user} without --tls or --starttls would send the password in clear text; "
            "use --tls (port 993) or --starttls, or pass --allow-insecure-transport for a lab"
        )
    if creds.mechanism == "login" and not can_quote(creds.password.reveal()):
        raise InputError(
            "the password has characters IMAP LOGIN cannot carry (non-ASCII or a line break): use --auth plain"
        )


def warnings_for(options: ImapProbeOptions) -> list[str]:
    warnings = []
    if options.credentials is not None and options.security == "none":
        warnings.append(
            "the login goes to the server in clear text (no --tls or --starttls): "
            "anyone on the path can read the UCCX account's password"
        )
    if options.security != "none" and options.tls.insecure_skip_verify:
        warnings.append(INSECURE_WARNING)
    return warnings
