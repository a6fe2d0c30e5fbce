"""The ``uccx-compliance`` command: argument parsing and the single error handler.

Each subcommand lives in ``compliance/commands/<name>.py`` and exposes ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``. Command modules import their heavy
dependencies (pypsrp, psrpcore, pydantic) inside ``run`` so that ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import traceback
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from compliance import __version__, output
from compliance.errors import ComplianceError, ExitCode, OutputLost
from compliance.remoting.secrets import install_log_redaction

# An explicit registry: command name -> module. Order is the order shown in --help.
COMMANDS: dict[str, str] = {
    "validate": "compliance.commands.validate",
    "baselines": "compliance.commands.baselines",
    "plan": "compliance.commands.plan",
    "audit": "compliance.commands.audit",
    "merge": "compliance.commands.merge",
    "apply": "compliance.commands.apply",
    "rollback": "compliance.commands.rollback",
    "history": "compliance.commands.history",
    "facts": "compliance.commands.facts",
    "collector-script": "compliance.commands.collector_script",
    "probe": "compliance.commands.probe",
    "lab": "compliance.commands.lab",
    "demo": "compliance.commands.demo",
}

log = logging.getLogger("compliance")


def _load(module_name: str) -> ModuleType:
    return importlib.import_module(module_name)


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on a usage error; 2 means drift here, so usage errors exit 1."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(int(ExitCode.BAD_INPUT), f"{self.prog}: error: {message}\n")

    def _print_message(self, message: str, file: object = None) -> None:
        # --help into a closed pipe: the output layer's handling, not a traceback.
        if not message:
            return
        if file is sys.stderr:
            output.write_err(message)
        else:
            output.write_out(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if status == 0 and (lost := output.lost()):  # help or version that could not be printed
            message, status = f"uccx-compliance: error: {lost}\n", int(ExitCode.OUTPUT_LOST)
        super().exit(status, message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="uccx-compliance",
        description=(
            "Check, plan and correct the Microsoft Exchange settings that Cisco UCCX email "
            "integration depends on (IMAP and receive connector limits, throttling policy, "
            "store session limit, AD permission)."
        ),
        epilog=(
            "exit codes: 0 compliant; 1 bad input or usage; 2 drift (every fact was read); "
            "3 incomplete (something could not be read); 4 internal error (a bug); 5 output lost "
            "(stdout closed or full). See docs/exit-codes.md."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging (never secrets)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = _load(module_name)
        cmd = sub.add_parser(name, help=module.HELP, description=module.HELP)
        cmd.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        module.add_arguments(cmd)
        cmd.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    output.reset()
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_module", None) is None:
        parser.print_help()
        return int(ExitCode.BAD_INPUT)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # Always on, at every level: auth headers and NTLM/Kerberos tokens never reach a log (docs/security.md).
    install_log_redaction()
    try:
        code = int(args._module.run(args))
        output.check_delivered()  # a report that did not reach stdout is never a success (exit 5)
        return code
    except ComplianceError as exc:
        if args.debug:
            log.exception("failed")
        if (lost := output.lost()) and not isinstance(exc, OutputLost):
            # Both said in one line; the lost output decides the code: the report was not seen.
            exc = OutputLost(f"{lost}; {exc}")
        output.note(f"uccx-compliance: error: {exc}")
        return int(exc.exit_code)
    except KeyboardInterrupt:
        output.note("uccx-compliance: interrupted")
        return 130
    except Exception as exc:  # a bug: one line and its own exit code, never "bad input" (1)
        if args.debug:
            traceback.print_exc(file=sys.stderr)
        where = "" if args.debug else "; rerun with --debug for the traceback"
        output.note(f"uccx-compliance: internal error (a bug): {type(exc).__name__}: {exc}{where}")
        return int(ExitCode.INTERNAL_ERROR)
