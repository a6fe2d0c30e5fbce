"""Exit codes and the exceptions that carry a one-line message to the user.

Every user-facing failure is a ``ComplianceError``; ``compliance.cli`` has the one handler that
turns it into its exit code and a single line on stderr (a traceback only with ``--debug``).
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Documented exit codes; pipeline gates depend on them (docs/exit-codes.md)."""

    OK = 0  # compliant, or the command did what was asked
    BAD_INPUT = 1  # bad input or usage, stale plan, failed change: nothing (more) was sent
    DRIFT = 2  # every fact was read and something differs from the baseline
    INCOMPLETE = 3  # something could not be read (unreachable target, missing file, failed read)
    INTERNAL_ERROR = 4  # a bug in uccx-compliance: an unexpected exception (rerun with --debug)
    OUTPUT_LOST = 5  # stdout closed or unwritable (EPIPE, full disk): the output is incomplete
    LOCKED = 6  # audit: another audit holds the lock; this one did nothing


class ComplianceError(Exception):
    """An error the user can act on. ``str(exc)`` is the whole one-line message."""

    exit_code: ExitCode = ExitCode.BAD_INPUT


class InputError(ComplianceError):
    """Bad input: a baseline, inventory, plan, fact file or command-line value.

    The message names the file, line and field where they are known:
    ``baselines/site.yaml:14:5: rules.imap_settings[0].at_least: expected an integer``.
    """


class InputErrors(InputError):
    """Several located mistakes in one file. Every command says the first, in one line, and how
    many more there are; ``validate`` lists each on its own line (``lines``)."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = list(lines)
        more = len(self.lines) - 1
        super().__init__(self.lines[0] + (f" (and {more} more in this file)" if more else ""))


class StalePlanError(ComplianceError):
    """A saved plan no longer matches the live server, its checksum or its baseline."""


class UnreachableError(ComplianceError):
    """A target or endpoint could not be reached or read at all."""

    exit_code = ExitCode.INCOMPLETE


class ApplyError(ComplianceError):
    """A change failed or did not verify; the report says what was applied."""


class OutputLost(ComplianceError):
    """Standard output could not be written (a closed pipe, a full disk): the rest was dropped."""

    exit_code = ExitCode.OUTPUT_LOST
