"""Send steps to the live endpoints, in order, stopping at the first failure.

``Runner`` sends one ``CommandSpec`` through the target's PSRP sessions (one runspace pool per
endpoint): ``add_cmdlet`` and ``add_parameter`` only, ``-WhatIf`` as ``add_parameter("WhatIf",
True)`` for a dry run. A command failed when the pipeline failed or when it wrote ANY error
record: Exchange reports "couldn't be found" as a non-terminating error, so ``had_errors`` alone
would call a change that did nothing a success. Lines the server writes to the host UI ("What
if: ...", warnings) are returned with the result.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from compliance.apply.commands import Step
from compliance.cmdlet import EXCHANGE, CommandSpec
from compliance.errors import UnreachableError
from compliance.remoting.session import HOST_CONFIGURATION, RemoteSession, Sessions


class Outcome(str, enum.Enum):
    """What became of a change (or a step) in apply and rollback, as reports and JSON say it."""

    APPLIED = "applied"
    FAILED = "failed"
    NOT_ATTEMPTED = "not-attempted"
    WHAT_IF = "what-if"
    VERIFIED = "verified"  # read back after apply: the value it was set to
    MISMATCH = "mismatch"  # read back after apply: another value, or unreadable

    def __str__(self) -> str:  # "applied", as the reports and the audit log write it
        return self.value


@dataclass(frozen=True)
class Sent:
    """What one command did: its error (None when it succeeded), host lines and output."""

    command: CommandSpec
    error: str | None = None
    lines: tuple[str, ...] = ()
    output: tuple[Any, ...] = ()


@dataclass
class StepOutcome:
    step: Step
    result: Outcome  # applied | failed | not-attempted | what-if
    message: str | None = None
    lines: list[str] = field(default_factory=list)


class Runner:
    """Sends commands over the sessions of one target; ``host_urls`` maps server -> host endpoint."""

    def __init__(self, sessions: Sessions, host_urls: dict[str, str]) -> None:
        self._sessions = sessions
        self._host_urls = {k.casefold(): v for k, v in host_urls.items()}
        self.sent: list[Sent] = []

    def _session(self, endpoint: str) -> RemoteSession:
        if endpoint == EXCHANGE:
            return self._sessions.exchange()
        server = endpoint.split(":", 1)[1]
        url = self._host_urls.get(server.casefold())
        if url is None:
            raise UnreachableError(f"no host endpoint for server {server} in the inventory")
        return self._sessions.get(url, HOST_CONFIGURATION)

    def send(self, command: CommandSpec, *, what_if: bool = False) -> Sent:
        from pypsrp.exceptions import WinRMError, WSManFaultError
        from pypsrp.powershell import PowerShell
        from requests.exceptions import RequestException

        from compliance.remoting.errors import describe_failure, describe_record

        try:
            session = self._session(command.endpoint)
            pool = session.pool()
        except UnreachableError as exc:
            return self._keep(Sent(command, str(exc)))
        before = len(session.host_lines)
        ps = PowerShell(pool)
        ps.add_cmdlet(command.cmdlet)
        for name, value in command.parameters.items():
            ps.add_parameter(name, value)
        if what_if:
            ps.add_parameter("WhatIf", True)
        try:
            output = tuple(ps.invoke())
        except (RequestException, OSError) as exc:
            return self._keep(Sent(command, session.fail(exc)))
        except (WSManFaultError, WinRMError) as exc:
            return self._keep(
                Sent(
                    command,
                    describe_failure(
                        exc, session.endpoint.url, username=session.target.username, auth=session.target.auth
                    ),
                )
            )
        lines = tuple(session.host_lines[before:])
        if ps.streams.error:
            return self._keep(Sent(command, describe_record(ps.streams.error[0], command.cmdlet), lines, output))
        if ps.had_errors:
            return self._keep(Sent(command, f"{command.cmdlet}: the pipeline failed without an error record", lines))
        return self._keep(Sent(command, None, lines, output))

    def _keep(self, sent: Sent) -> Sent:
        self.sent.append(sent)
        return sent


Send = Callable[[CommandSpec, bool], Sent]


def run_steps(
    send: Send,
    steps: Sequence[Step],
    *,
    dry_run: bool,
    on_outcome: Callable[[StepOutcome], None] | None = None,
) -> list[StepOutcome]:
    """Run the steps in order.

    Applying: the first failure stops the run; every later step is "not-attempted". Dry run:
    every step is sent with -WhatIf and a failure stops nothing (nothing changes anyway), but a
    step that needs an object an earlier step would create is not sent: the object is absent.
    """
    outcomes: list[StepOutcome] = []
    stopped = False
    failed_steps: set[int] = set()
    for step in steps:
        if stopped or failed_steps.intersection(step.depends_on):
            outcome = StepOutcome(step, Outcome.NOT_ATTEMPTED, "not attempted: an earlier change failed")
        elif dry_run and step.needs_created:
            outcome = StepOutcome(
                step, Outcome.WHAT_IF, f"not sent: it needs the object step {step.depends_on[0]} creates"
            )
        else:
            outcome = _run_step(send, step, dry_run)
            if outcome.result is Outcome.FAILED:
                failed_steps.add(step.number)
                stopped = not dry_run
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return outcomes


def _run_step(send: Send, step: Step, dry_run: bool) -> StepOutcome:
    lines: list[str] = []
    for command in step.commands:
        sent = send(command, dry_run)
        lines += sent.lines
        if sent.error is not None:
            return StepOutcome(step, Outcome.FAILED, sent.error, lines)
    return StepOutcome(step, Outcome.WHAT_IF if dry_run else Outcome.APPLIED, None, lines)
