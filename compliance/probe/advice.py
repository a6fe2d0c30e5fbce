"""What a probe's outcome means, in words an Exchange admin can act on.

The probes report what happened (which session stopped, at which step, with which server
words); this module turns that into an ``Outcome`` and the setting to look at. The Exchange
settings named here are the ones of docs/diagnostics.md and the checklist.
"""

from __future__ import annotations

from dataclasses import dataclass

from compliance import sizing
from compliance.kinds.imap_settings import KIND as IMAP_SETTINGS
from compliance.probe.result import Outcome, Refusal, plural
from compliance.probe.session import FailureKind, SessionFailed

IMAP = IMAP_SETTINGS.cmdlet  # the advice names the cmdlet an admin runs to compare the limits

# RFC 5530 response codes that mean "not now" rather than "wrong password". Dovecot sends
# [UNAVAILABLE] for mail_max_userip_connections; what Exchange sends is unconfirmed: it is known
# to answer a plain "NO AUTHENTICATE failed." both for a bad password and for a reached limit.
LIMIT_CODES = ("[UNAVAILABLE]", "[LIMIT]", "[INUSE]")

NOT_EXCHANGE_NOTE = (
    "(This server did not greet as Microsoft Exchange: its own per-user limit applies, "
    "e.g. Dovecot's mail_max_userip_connections.)"
)

# IMAP steps before any login: a refusal there is a per-source or total limit, not a per-user one.
_IMAP_PRE_LOGIN = ("tcp_connect", "tls_handshake", "greeting", "capability", "starttls")


@dataclass(frozen=True)
class ProbeContext:
    host: str
    port: int
    user: str | None  # None: no login was asked for
    budget: float
    agents: int | None = None  # --agents: the team size the probe's sessions stand for
    own: int = sizing.UCCX_SERVER_CONNECTIONS  # UCCX's own sessions on the account (as the plan counts)

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def classify_imap(ctx: ProbeContext, accepted: int, refusal: Refusal | None) -> tuple[Outcome, str]:
    if refusal is None:
        if ctx.user is None:
            return Outcome.OK, (
                "The server answers IMAP. Add --user and --password-env to test the UCCX account's "
                "login, and --connections to test how many sessions it may hold at once."
            )
        if ctx.agents is not None:
            return Outcome.OK, (
                f"The server held {plural(accepted, 'session')} for {ctx.user} at once: enough for "
                f"{plural(ctx.agents, 'agent')} (2 IMAP sessions per agent desktop + {ctx.own} of UCCX's own)."
            )
        return Outcome.OK, (
            f"The server held {plural(accepted, 'session')} for {ctx.user} at once, room for "
            f"{plural(sizing.agents_fit(accepted, ctx.own), 'agent desktop')} (2 IMAP sessions per agent + "
            f"{ctx.own} of UCCX's own). Probe again with --agents N to cover the whole team."
        )
    failure = refusal.failure
    if failure.kind is FailureKind.BUDGET:
        return Outcome.INCOMPLETE, _budget_advice(ctx, accepted)
    if accepted == 0:
        return _imap_first_session(ctx, failure)
    if failure.stage in _IMAP_PRE_LOGIN:
        return Outcome.THROTTLED, (
            f"The server refused a new connection after {accepted} were open ({refusal.describe()}). "
            "That is a per-source or total limit, before any login: compare "
            f"{accepted} with {IMAP} MaxConnectionFromSingleIP (checklist 2000) and "
            "MaxConnections (checklist 2400), and with any firewall or load balancer connection limit."
        )
    return Outcome.THROTTLED, _imap_per_user_advice(ctx, accepted, refusal)


def _imap_per_user_advice(ctx: ProbeContext, accepted: int, refusal: Refusal) -> str:
    fit = sizing.agents_fit(accepted, ctx.own)
    wanted = (
        "" if ctx.agents is None else f", {plural(max(0, ctx.agents - fit), 'agent')} short of --agents {ctx.agents}"
    )
    advice = (
        f"The server accepted {accepted} concurrent sessions for {ctx.user or 'the account'}, then refused "
        f"({refusal.describe()}). UCCX and every agent desktop share this account, 2 IMAP sessions per "
        f"agent plus {ctx.own} of UCCX's own, so {plural(accepted, 'session')} leave room for "
        f"{plural(fit, 'agent desktop')} at most{wanted}. "
        f"Compare {accepted} with: "
        f"{IMAP} MaxConnectionsPerUser (default 16, checklist 2400); IMAPMaxConcurrency of the "
        "throttling policy on the UCCX mailbox (Get-Mailbox | fl ThrottlingPolicy, Get-ThrottlingPolicy; "
        "checklist $null, no limit); and the Mailbox server's DWORD 'Maximum Allowed Service Sessions "
        "Per User' under HKLM\\SYSTEM\\CurrentControlSet\\Services\\MSExchangeIS\\ParametersSystem "
        "(KB 980049, default 16; event 9646 from MSExchangeIS in the Application log points at this one)."
    )
    if accepted == 16:
        advice += " 16 is the default of both MaxConnectionsPerUser and the store's service sessions."
    if refusal.kind is FailureKind.TIMEOUT:
        advice += " The refusal was silence, not a NO: some limits hold the connection instead of refusing."
    return advice


def _imap_first_session(ctx: ProbeContext, failure: SessionFailed) -> tuple[Outcome, str]:
    if failure.kind is FailureKind.CONNECT:
        return Outcome.UNREACHABLE, (
            f"Nothing answered at {ctx.where} ({failure.detail}). From this machine check DNS, routing "
            f"and firewalls to port {ctx.port}; on Exchange the IMAP4 service (MSExchangeIMAP4 on 2010, "
            "MSExchangeImap4 and MSExchangeIMAP4BE on 2013+) must be running: it is Manual by default."
        )
    no_starttls = failure.stage == "starttls" and failure.kind is FailureKind.NOT_OFFERED
    if failure.kind is FailureKind.TLS or no_starttls:
        return Outcome.TLS_FAILED, (
            f"TLS with {ctx.where} failed: {failure.detail}. If the certificate comes from an internal "
            "CA, name it with --ca-file; probe with the host name in the certificate (the one UCCX uses); "
            "on Exchange check the IMAP certificate (Get-ExchangeCertificate | fl Services,Subject,NotAfter; "
            "Set-ImapSettings -X509CertificateName)."
        )
    if failure.stage in ("greeting", "capability"):
        if failure.kind is FailureKind.BYE:
            return Outcome.THROTTLED, (
                f"The server refused the connection before login ({failure.words}): a connection limit "
                f"is already reached. Compare {IMAP} MaxConnections and MaxConnectionFromSingleIP "
                "with the sessions UCCX and the agents hold."
            )
        silent = failure.kind is FailureKind.TIMEOUT
        hint = " If the port expects TLS from the start (993), use --tls." if silent else ""
        return Outcome.UNREACHABLE, (
            f"Something answers at {ctx.where} but does not speak IMAP as expected ({failure.detail}).{hint}"
        )
    if failure.kind is FailureKind.NOT_OFFERED:
        return Outcome.AUTH_REJECTED, (
            "The server refuses clear-text login on this connection (LOGINDISABLED) and offers no "
            "AUTH=PLAIN: probe with --starttls or --tls, which UCCX must then use too "
            f"(Exchange: {IMAP} | fl LoginType)."
        )
    user = ctx.user or "the account"
    if failure.kind is FailureKind.BYE or any(code in (failure.words or "").upper() for code in LIMIT_CODES):
        return Outcome.THROTTLED, (
            f"The very first session was refused with a limit, not a password error ({failure.words}): "
            f"other sessions of {user} (UCCX, agent desktops) may already hold every slot. Stop them or "
            "compare their count with MaxConnectionsPerUser, IMAPMaxConcurrency and the store's "
            "'Maximum Allowed Service Sessions Per User' (KB 980049)."
        )
    opened_mailbox = "" if failure.stage == "login" else " logged in, but INBOX could not be opened;"
    return Outcome.AUTH_REJECTED, (
        f"The first login as {user} failed:{opened_mailbox} ({failure.words or failure.detail}). "
        "Check the user name (as UCCX is configured), the password, that the account is enabled, "
        "has a mailbox and may use IMAP (Get-CASMailbox | fl ImapEnabled). Exchange answers "
        "'NO AUTHENTICATE failed.' for a reached limit too: if the credentials are right, "
        "probe while UCCX and the agents are logged off."
    )


# -- SMTP --------------------------------------------------------------------------------------


def is_connection_limit_reply(words: str | None) -> bool:
    """Exchange's answer when a receive connector's MaxInboundConnectionPerSource is reached:
    ``421 4.3.2 The maximum number of concurrent connections has exceeded a limit, closing
    transmission channel``. The enhanced status 4.3.2 ("system not accepting messages") is the
    marker; the text varies between versions.
    """
    return words is not None and words.startswith("421") and " 4.3.2" in words[:10]


def classify_smtp(ctx: ProbeContext, accepted: int, refusal: Refusal | None) -> tuple[Outcome, str]:
    if refusal is None:
        return Outcome.OK, (
            f"The receive connector at {ctx.where} held {plural(accepted, 'session')} from this host "
            "at once. UCCX sends from one source address: probe with --connections at the number of "
            "concurrent sends UCCX makes if mail is refused under load."
        )
    failure = refusal.failure
    if failure.kind is FailureKind.BUDGET:
        return Outcome.INCOMPLETE, _budget_advice(ctx, accepted)
    if is_connection_limit_reply(failure.words):
        return Outcome.THROTTLED, (
            f"The receive connector accepted {accepted} connections from this host and answered the next "
            f"with '{failure.words}': its MaxInboundConnectionPerSource (default 20, checklist 250) is "
            "reached; Exchange logs that as MSExchangeTransport event 1021. Find the connector that "
            "serves this source (Get-ReceiveConnector | fl Identity,Bindings,RemoteIPRanges,"
            "MaxInboundConnectionPerSource,MaxInboundConnectionPercentagePerSource) and raise it: "
            "Set-ReceiveConnector '<SERVER\\Connector>' -MaxInboundConnectionPerSource 250 "
            "-MaxInboundConnectionPercentagePerSource 5 (the checklist's values)."
        )
    if accepted > 0:
        return Outcome.THROTTLED, (
            f"The server accepted {accepted} connections from this host, then refused "
            f"({refusal.describe()}). Compare {accepted} with the receive connector's "
            "MaxInboundConnectionPerSource (checklist 250), MaxInboundConnectionPercentagePerSource "
            "(checklist 5) and MaxInboundConnection (checklist 5000), and with any firewall limit."
        )
    return _smtp_first_session(ctx, failure)


def _smtp_first_session(ctx: ProbeContext, failure: SessionFailed) -> tuple[Outcome, str]:
    if failure.kind is FailureKind.CONNECT:
        return Outcome.UNREACHABLE, (
            f"Nothing answered at {ctx.where} ({failure.detail}). Check DNS, routing and firewalls to "
            f"port {ctx.port}, and that a receive connector is bound to it (Get-ReceiveConnector | fl "
            "Bindings) with the Microsoft Exchange Transport service running."
        )
    no_starttls = failure.stage == "starttls" and failure.kind is FailureKind.NOT_OFFERED
    if failure.kind is FailureKind.TLS or no_starttls:
        return Outcome.TLS_FAILED, (
            f"TLS with {ctx.where} failed: {failure.detail}. Name an internal CA with --ca-file; on "
            "Exchange check the connector's certificate (Get-ReceiveConnector | fl TlsCertificateName, "
            "Get-ExchangeCertificate | fl Services,Subject,NotAfter)."
        )
    if failure.stage == "send_test":
        return Outcome.AUTH_REJECTED, (
            f"The receive connector refused the test message ({failure.words or failure.detail}). Check "
            "that the connector serving this host lets it submit (or relay) for these addresses: "
            "Get-ReceiveConnector | fl PermissionGroups,AuthMechanism,RemoteIPRanges."
        )
    return Outcome.UNREACHABLE, (
        f"Something answers at {ctx.where} but did not serve SMTP ({failure.words or failure.detail})."
    )


def _budget_advice(ctx: ProbeContext, accepted: int) -> str:
    return (
        f"The time budget ({ctx.budget:g} s) ran out after {accepted} sessions, before the server "
        "accepted them all or refused one: raise --budget (or lower --connections)."
    )
