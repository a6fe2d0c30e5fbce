"""``uccx-compliance probe imap|smtp``: reproduce, from the network, what UCCX runs into."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from compliance import output, sizing
from compliance.errors import InputError
from compliance.files import write_atomic

if TYPE_CHECKING:  # the probe modules load ssl: only imported inside run()
    from compliance.probe.result import ProbeResult
    from compliance.probe.tls import TlsOptions

HELP = "probe IMAP/SMTP as UCCX does: login with the shared account, N sessions at once, refusals"

DEFAULT_CAP = 64  # without --agents; with it, the cap is what that many agents need (compliance.sizing)
_FORMATS = ("text", "json", "junit")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="protocol", metavar="PROTOCOL")
    imap = sub.add_parser("imap", help="IMAP: greeting, CAPABILITY, STARTTLS, login, SELECT INBOX, N sessions")
    _common(imap, default_ports="143, or 993 with --tls")
    imap.add_argument("--tls", action="store_true", help="implicit TLS (IMAPS, port 993)")
    imap.add_argument("--user", help="the UCCX mailbox account, as UCCX is configured with it")
    imap.add_argument(
        "--password-env",
        metavar="VAR",
        help="name of the environment variable holding the password (else a prompt)",
    )
    imap.add_argument(
        "--auth",
        choices=("auto", "login", "plain"),
        default="auto",
        help="LOGIN or AUTHENTICATE PLAIN; auto: LOGIN unless LOGINDISABLED (default auto)",
    )
    imap.add_argument(
        "--allow-insecure-transport",
        action="store_true",
        help="allow the login without --tls or --starttls (sends the password in clear text; a lab only)",
    )
    imap.add_argument(
        "--budget",
        type=float,
        default=60.0,
        metavar="S",
        help="time budget for the whole probe in seconds (default 60)",
    )
    imap.add_argument(
        "--agents",
        type=int,
        metavar="N",
        help="hold the sessions N agents and UCCX need (2 x N + UCCX's own, as the plan counts); "
        "instead of --connections, and the cap follows it",
    )
    imap.add_argument(
        "--uccx-server-connections",
        type=int,
        default=sizing.UCCX_SERVER_CONNECTIONS,
        metavar="N",
        help=f"IMAP sessions UCCX itself holds (default {sizing.UCCX_SERVER_CONNECTIONS}, "
        "the baselines' uccx_server_connections)",
    )
    imap.set_defaults(_probe="imap")

    smtp = sub.add_parser("smtp", help="SMTP: greeting, EHLO, STARTTLS, AUTH offered, test message, N sessions")
    _common(smtp, default_ports="25")
    smtp.add_argument("--send-test", action="store_true", help="send a small test message (needs --from, --to)")
    smtp.add_argument("--from", dest="mail_from", metavar="ADDRESS", help="envelope sender of the test message")
    smtp.add_argument("--to", dest="mail_to", metavar="ADDRESS", help="recipient of the test message")
    smtp.add_argument("--helo", default="uccx-compliance.probe", help="name to give in EHLO")
    smtp.add_argument(
        "--budget",
        type=float,
        default=60.0,
        metavar="S",
        help="time budget for the whole probe in seconds (default 60)",
    )
    smtp.set_defaults(_probe="smtp")


def _common(parser: argparse.ArgumentParser, default_ports: str) -> None:
    parser.add_argument("--host", required=True, help="the Exchange server (or load balancer) UCCX uses")
    parser.add_argument("--port", type=int, help=f"TCP port (default {default_ports})")
    parser.add_argument("--starttls", action="store_true", help="upgrade to TLS with STARTTLS")
    parser.add_argument("--ca-file", type=Path, metavar="PEM", help="CA bundle that issued the server certificate")
    parser.add_argument(
        "--insecure-skip-verify",
        action="store_true",
        help="do not verify the server certificate (prints a warning)",
    )
    parser.add_argument(
        "--connections",
        type=int,
        metavar="N",
        help="sessions to hold open at once with the one account (default 1)",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        metavar="CAP",
        help=f"refuse more sessions than this (default {DEFAULT_CAP}, or what --agents needs)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="timeout of each step in seconds (default 10)",
    )
    parser.add_argument("--format", choices=_FORMATS, default="text", help="report format (default text)")
    parser.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="write the report there (the text report still goes to stdout)",
    )


def run(args: argparse.Namespace) -> int:
    # Imported here so `uccx-compliance --help` does not load ssl and the probe code.
    from compliance.probe.result import REPORTERS, render_text

    protocol = getattr(args, "_probe", None)
    if protocol is None:
        raise InputError("probe: say which protocol: `uccx-compliance probe imap ...` or `probe smtp ...`")
    _check_limits(args)
    result = _run_imap(args) if protocol == "imap" else _run_smtp(args)
    report = REPORTERS[args.format](result)
    if args.format != "text" and args.out is None:
        # A text report carries its warnings; JSON/JUnit on stdout go to a machine, so tell the person.
        for warning in result.warnings:
            output.note(f"uccx-compliance: warning: {warning}")
    if args.out is not None:
        write_atomic(args.out, report, what="probe report")
    text = render_text(result) if args.out is not None or args.format == "text" else None
    if text is None:
        output.write_out(report)  # JSON or JUnit, for a machine
    else:
        for line in text.splitlines():  # the server's banner and replies are shown, never obeyed
            output.say(line)
    return int(result.exit_code)


def _check_limits(args: argparse.Namespace) -> None:
    """Resolve ``--connections`` and the cap from ``--agents``, then hold them to their bounds."""
    agents = getattr(args, "agents", None)
    if agents is not None:
        if args.connections is not None:
            raise InputError("--agents and --connections exclude each other: --agents N holds 2 x N + UCCX's own")
        if agents < 1:
            raise InputError(f"--agents {agents}: must be 1 or more")
        if args.uccx_server_connections < 0:
            raise InputError(f"--uccx-server-connections {args.uccx_server_connections}: must be 0 or more")
        args.connections = sizing.connections_needed(agents, args.uccx_server_connections)
    elif args.connections is None:
        args.connections = 1
    if args.max_connections is None:
        # An explicit --agents is the operator's statement of the load; the default cap guards a typo.
        args.max_connections = max(DEFAULT_CAP, args.connections) if agents is not None else DEFAULT_CAP
    if args.connections < 1:
        raise InputError(f"--connections {args.connections}: must be 1 or more")
    if args.connections > args.max_connections:
        asked = (
            f"--agents {agents} needs {args.connections} sessions, which"
            if agents
            else f"--connections {args.connections}"
        )
        raise InputError(
            f"{asked} is above the cap of {args.max_connections}; "
            f"raise it with --max-connections {args.connections} if the server may take that load"
        )
    for name in ("timeout", "budget"):
        if getattr(args, name) <= 0:
            raise InputError(f"--{name} {getattr(args, name):g}: must be more than 0 seconds")
    if getattr(args, "tls", False) and args.starttls:
        raise InputError("--tls and --starttls exclude each other: --tls for port 993, --starttls for 143")


def _password(variable: str | None, user: str) -> str:
    """The password from the named environment variable, or a prompt; never from the command line."""
    if variable:
        value = os.environ.get(variable)
        if value is None:
            raise InputError(f"--password-env {variable}: that environment variable is not set")
        if not value:
            raise InputError(f"--password-env {variable}: that environment variable is empty")
        return value
    if sys.stdin.isatty():
        return getpass.getpass(f"password for {user}: ")
    raise InputError("--user needs --password-env VAR (or a terminal to prompt for the password)")


def _tls(args: argparse.Namespace) -> TlsOptions:
    from compliance.probe.tls import TlsOptions

    return TlsOptions(ca_file=args.ca_file, insecure_skip_verify=args.insecure_skip_verify)


def _run_imap(args: argparse.Namespace) -> ProbeResult:
    from compliance.probe.imap import Credentials, ImapProbeOptions, probe_imap
    from compliance.probe.session import Secret

    credentials = None
    if args.user:
        credentials = Credentials(args.user, Secret(_password(args.password_env, args.user)), args.auth)
    elif args.password_env:
        raise InputError("--password-env needs --user")
    options = ImapProbeOptions(
        host=args.host,
        port=args.port or (993 if args.tls else 143),
        security="tls" if args.tls else "starttls" if args.starttls else "none",
        tls=_tls(args),
        credentials=credentials,
        connections=args.connections,
        timeout=args.timeout,
        budget=args.budget,
        allow_insecure_transport=args.allow_insecure_transport,
        agents=args.agents,
        uccx_connections=args.uccx_server_connections,
    )
    return probe_imap(options)


def _run_smtp(args: argparse.Namespace) -> ProbeResult:
    from compliance.probe.smtp import SmtpProbeOptions, TestMessage, probe_smtp

    test_message = None
    if args.send_test:
        if not (args.mail_from and args.mail_to):
            raise InputError("--send-test needs --from ADDRESS and --to ADDRESS")
        test_message = TestMessage(args.mail_from, args.mail_to)
    elif args.mail_from or args.mail_to:
        raise InputError("--from and --to are for --send-test; add it to send a test message")
    options = SmtpProbeOptions(
        host=args.host,
        port=args.port or 25,
        starttls=args.starttls,
        tls=_tls(args),
        helo=args.helo,
        test_message=test_message,
        connections=args.connections,
        timeout=args.timeout,
        budget=args.budget,
    )
    return probe_smtp(options)
