"""``uccx-compliance lab serve``: run the simulated Exchange organization (or many) on 127.0.0.1."""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from compliance import output

if TYPE_CHECKING:
    from compliance.lab import LabFaults
    from compliance.lab.kdc import Kdc
    from compliance.lab.server import LabTls

HELP = "run a simulated Exchange 2010 organization on 127.0.0.1 for trying the tool (docs/lab.md)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="lab_command", metavar="ACTION", required=True)
    serve = sub.add_parser(
        "serve", help="serve the lab until Ctrl-C or SIGTERM", description="serve the lab until Ctrl-C or SIGTERM"
    )
    serve.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (default: a free one)")
    serve.add_argument(
        "--scenario",
        default="exchange2010-sp3-defaults",
        help="a shipped scenario name or a fact folder path (default: %(default)s)",
    )
    serve.add_argument("--password", default="uccx-lab", help="the lab user's password (default: %(default)s)")
    serve.add_argument("--write-inventory", metavar="PATH", help="write an inventory pointing at the lab")
    serve.add_argument(
        "--baseline",
        default="uccx-exchange2010-sp1",
        help="baseline named in the written inventory (default: %(default)s)",
    )
    serve.add_argument("--tls-cert", type=Path, metavar="FILE", help="serve HTTPS with this PEM certificate")
    serve.add_argument("--tls-key", type=Path, metavar="FILE", help="the PEM private key of --tls-cert")
    serve.add_argument("--tls-ca", type=Path, metavar="FILE", help="its CA, written as ca_file: in the inventory")
    serve.add_argument(
        "--extended-protection",
        action="store_true",
        help="require the TLS channel binding in every NTLM and Kerberos handshake, as an Exchange with "
        "Extended Protection turned on does (needs --tls-cert)",
    )
    serve.add_argument("--latency-ms", type=int, default=0, help="delay added to every request (of every organization)")
    serve.add_argument(
        "--organizations",
        type=int,
        metavar="M",
        help="serve M organizations org-0001... on the one port, each under /org/<name>/ with its own "
        "state (docs/lab.md, Many organizations)",
    )
    serve.add_argument(
        "--first-org",
        type=int,
        default=1,
        metavar="N",
        help="with --organizations: number the first one N, to split a fleet over lab processes (default: 1)",
    )
    serve.add_argument(
        "--hung",
        type=int,
        default=0,
        metavar="K",
        help="with --organizations: the first K accept TCP, read each request and never answer",
    )
    serve.add_argument(
        "--kerberos",
        action="store_true",
        help="also run a real MIT KDC (realm LAB.LOCAL, on 127.0.0.1; needs Debian's krb5-kdc and "
        "krb5-admin-server) and accept Kerberos; the written inventory then uses the audit user's keytab",
    )
    serve.add_argument(
        "--fail-cmdlet",
        action="append",
        default=[],
        metavar="NAME[=MESSAGE]",
        help="make a cmdlet fail with MESSAGE (repeatable)",
    )


def _stop_on_ctrl_c_or_sigterm() -> None:
    """``lab serve`` runs until Ctrl-C, or SIGTERM (``kill``, a service manager, a benchmark).

    A shell starts a background job (``lab serve ... &``) with SIGINT ignored, and Python then
    leaves it ignored: Ctrl-C is put back, and SIGTERM stops the lab the same way.
    """
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers belong to the main thread (the tests call main() from others)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupted)


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _ignore_further_signals() -> None:
    """A second Ctrl-C (or a wrapper forwarding the signal twice) must not break the shutdown."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def run(args: argparse.Namespace) -> int:
    from compliance.errors import InputError
    from compliance.lab import LAB_USER, Lab
    from compliance.lab.inventory import PASSWORD_ENV
    from compliance.lab.server import LabTls

    if not 0 <= args.port <= 65535:
        raise InputError(f"--port: expected 0-65535, got {args.port}")
    failing = {}
    for entry in args.fail_cmdlet:
        name, _, message = entry.partition("=")
        if not name.strip():
            raise InputError(f"--fail-cmdlet: expected NAME[=MESSAGE], got {entry!r}")
        failing[name.strip()] = message or f"{name.strip()} failed (injected by the lab)."
    if (args.tls_cert is None) != (args.tls_key is None) or (args.tls_ca and not args.tls_cert):
        raise InputError("--tls-cert and --tls-key go together (and --tls-ca needs them)")
    if args.extended_protection and not args.tls_cert:
        raise InputError(
            "--extended-protection binds the handshake to the TLS channel: it needs --tls-cert and --tls-key"
        )
    tls = LabTls(args.tls_cert, args.tls_key, args.tls_ca, args.extended_protection) if args.tls_cert else None
    _stop_on_ctrl_c_or_sigterm()
    if args.organizations is not None:
        return _serve_fleet(args, tls, _faults(args.latency_ms, failing))
    if args.hung or args.first_org != 1:
        raise InputError("--hung and --first-org go with --organizations")
    faults = _faults(args.latency_ms, failing)()
    kdc = _start_kdc(args.password) if args.kerberos else None
    try:
        lab = Lab(
            scenario=args.scenario,
            port=args.port,
            password=args.password,
            faults=faults,
            events_relative_to_now=True,
            tls=tls,
            kerberos_keytab=kdc.service_keytab if kdc else None,
        ).start()
    except OSError as exc:
        if kdc is not None:
            kdc.stop()
        raise InputError(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror}") from None
    try:
        output.say(f"lab scenario {lab.scenario} serving on 127.0.0.1:{lab.port}")
        output.say(f"  Exchange endpoint: {lab.exchange_endpoint} (configuration Microsoft.Exchange)")
        for server, url in lab.host_endpoints.items():
            output.say(f"  {server} host endpoint: {url} (configuration Microsoft.PowerShell)")
        output.say(f"  user: {LAB_USER} (NTLM; set {PASSWORD_ENV} to the lab password)")
        if tls is not None and tls.extended_protection:
            output.say(
                "  Extended Protection: required (every handshake must carry this certificate's channel binding)"
            )
        kerberos: dict[str, object] = {}
        if kdc is not None:
            output.say(f"  Kerberos: realm {kdc.realm}, KDC on 127.0.0.1:{kdc.port}, user {kdc.user_principal}")
            output.say(f"    keytab {kdc.user_keytab}; before a run: export KRB5_CONFIG={kdc.krb5_conf}")
            kerberos = {"auth": "kerberos", "username": kdc.user_principal, "password_env": None}
            kerberos["keytab"] = str(kdc.user_keytab)
        if args.write_inventory:
            written = lab.write_inventory(args.write_inventory, baseline=args.baseline, **kerberos)
            output.say(f"  inventory written to {written}")
        output.say("Ctrl-C (or SIGTERM) to stop.")
        threading.Event().wait()
    except KeyboardInterrupt:
        _ignore_further_signals()
        output.say("lab stopped")
    finally:
        lab.stop()
        if kdc is not None:
            kdc.stop()  # its folder (database, keytabs, krb5.conf) goes with it
    return 0


def _faults(latency_ms: int, failing: dict[str, str]) -> Callable[[], LabFaults]:
    """A maker of fresh ``LabFaults``: each organization of a fleet changes its own."""
    from compliance.lab import LabFaults

    return lambda: LabFaults(latency_ms=max(0, latency_ms), failing_cmdlets=dict(failing))


def _serve_fleet(args: argparse.Namespace, tls: LabTls | None, faults: Callable[[], LabFaults]) -> int:
    """``--organizations M``: a summary of a few lines, not M of them."""
    from compliance.errors import InputError
    from compliance.lab import LAB_USER
    from compliance.lab.fleet import Fleet
    from compliance.lab.inventory import PASSWORD_ENV

    if args.kerberos:
        raise InputError("--kerberos serves one organization; it does not go with --organizations")
    fleet = Fleet.numbered(
        args.organizations,
        args.first_org,
        scenario=args.scenario,
        password=args.password,
        hung=args.hung,
        faults=faults,
        port=args.port,
        tls=tls,
        events_relative_to_now=True,
    )
    try:
        fleet.start()
    except OSError as exc:
        fleet.stop()
        raise InputError(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror}") from None
    orgs = fleet.organizations()
    try:
        first, last = orgs[0], orgs[-1]
        output.say(
            f"lab: {len(orgs)} organizations {first.name}..{last.name} of scenario {first.scenario} "
            f"serving on 127.0.0.1:{fleet.port}"
        )
        output.say(f"  Exchange endpoints: {fleet.base_url}/org/<name>/PowerShell/, e.g. {first.exchange_endpoint}")
        for server in first.host_endpoints:
            output.say(f"  {server} host endpoints: {fleet.base_url}/org/<name>/wsman/{server}")
        hung = [org.name for org in orgs if org.hung]
        if hung:
            shown = ", ".join(hung) if len(hung) <= 3 else f"{hung[0]}..{hung[-1]}"
            output.say(f"  hung (accept TCP, never answer): {len(hung)}: {shown}")
        if args.latency_ms > 0:
            output.say(f"  latency: {args.latency_ms} ms added to every request")
        output.say(f"  user: {LAB_USER} in each organization (NTLM; set {PASSWORD_ENV} to the lab password)")
        if args.write_inventory:
            written = fleet.write_inventory(args.write_inventory, baseline=args.baseline)
            output.say(f"  inventory written to {written} ({len(orgs)} targets)")
        output.say("Ctrl-C (or SIGTERM) to stop.")
        threading.Event().wait()
    except KeyboardInterrupt:
        _ignore_further_signals()
        output.say(f"lab stopped after {fleet.requests} requests")
    finally:
        fleet.stop()
    return 0


def _start_kdc(password: str) -> Kdc:
    from compliance.errors import InputError
    from compliance.lab.kdc import Kdc, KdcUnavailable

    try:
        return Kdc(user_password=password).start()
    except KdcUnavailable as exc:
        raise InputError(f"--kerberos: {exc}") from None
    except (OSError, RuntimeError) as exc:
        raise InputError(f"--kerberos: the KDC did not start: {exc}") from None
