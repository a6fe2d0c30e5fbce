"""Run reads on a runspace pool: cmdlets with parameters only, batched, errors attributed.

The Exchange endpoint is NoLanguage, so nothing here ever sends a script: each command is
``add_cmdlet(name)`` plus ``add_parameter(k, v)``. Several reads go in ONE invocation, separated
by ``add_statement()``, so the number of round trips does not grow with the number of checks.

Whether Exchange's NoLanguage endpoint accepts several statements in one pipeline is
unconfirmed (see exchange-facts.md); and in a batch an error record cannot be tied to the
statement that wrote it. So a batch that fails, or writes an error record that no command in it
declares as "nothing there" (``Command.empty_when``), is run again one command at a time: each
command's error then makes only its own fact unreadable.

Output objects are tied to their read by type name: every read in a batch has a distinct
``output_type`` (``ReceiveConnector``, ``EventLogRecord``...); an object of any other type sends
the batch back to one-by-one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from compliance.cmdlet import Command
from compliance.errors import UnreachableError
from compliance.facts.model import Reading
from compliance.facts.psobject import PSObj
from compliance.fleet import step
from compliance.kinds.base import owns
from compliance.remoting.convert import from_pypsrp
from compliance.remoting.errors import describe_failure, describe_record, record_id, record_message
from compliance.remoting.session import RemoteSession

log = logging.getLogger(__name__)


def _means_empty(command: Command, record: Any) -> bool:
    """An error record the command declares as "nothing there" (``Command.empty_when``)."""
    error_id = record_id(record)
    return any(error_id.startswith(prefix) for prefix in command.empty_when)


@dataclass(frozen=True)
class Read:
    """One fact file's worth of commands (``GetImapSettings``: one command per CAS server)."""

    stem: str
    commands: tuple[Command, ...]
    output_type: str  # last part of the output's type name: "Imap4AdConfiguration"

    def owns(self, value: Any) -> bool:
        return owns(self.output_type, value)


class CommandFailed(Exception):
    """The server refused or broke one pipeline; the endpoint itself still works."""


class _BatchNotAttributable(Exception):
    """The batch wrote something that cannot be tied to one read; run one command at a time."""


def run_reads(session: RemoteSession, reads: Sequence[Read], *, batch: bool = True) -> dict[str, Reading[list[Any]]]:
    """Every read's objects, or the one line saying why that read failed.

    ``batch=False`` sends one pipeline per command (the benchmark's baseline for comparison).
    """
    step(f"connecting to {session.endpoint.url}")
    try:
        pool = session.pool()
    except UnreachableError as exc:
        return {read.stem: Reading.failed(str(exc)) for read in reads}
    commands = [c for read in reads for c in read.commands]
    step(f"reading {', '.join(dict.fromkeys(c.cmdlet for c in commands))} on {session.endpoint.url}")
    if batch and len(commands) > 1 and len({r.output_type for r in reads}) == len(reads):
        try:
            return _run_batch(session, pool, reads)
        except (_BatchNotAttributable, CommandFailed) as why:
            log.debug("batch of %d commands re-run one at a time: %s", len(commands), why)
        except UnreachableError as exc:
            return {read.stem: Reading.failed(str(exc)) for read in reads}
    return {read.stem: _run_read(session, pool, read) for read in reads}


def _run_batch(session: RemoteSession, pool: Any, reads: Sequence[Read]) -> dict[str, Reading[list[Any]]]:
    commands = [c for read in reads for c in read.commands]
    ps = _pipeline(pool, commands)
    output = _invoke(session, ps)
    for record in ps.streams.error:
        # A "nothing there" record (Command.empty_when) means no objects from the command that
        # wrote it. Which of the commands that declare it wrote it does not matter: each would read
        # it so, objects are tied to reads by type, and the record carries none. (Two services the
        # server lacks, or two event providers with no events, used to send the batch back to one
        # pipeline per command: 26 requests on a host endpoint instead of 10.)
        if not any(_means_empty(c, record) for c in commands):
            raise _BatchNotAttributable(record_message(record))
    if ps.had_errors:
        raise _BatchNotAttributable("the pipeline failed")
    found: dict[str, list[Any]] = {read.stem: [] for read in reads}
    for value in (from_pypsrp(item) for item in output):
        owner = next((read for read in reads if read.owns(value)), None)
        if owner is None:
            raise _BatchNotAttributable(f"an output object of type {_type_of(value)} belongs to no read")
        found[owner.stem].append(value)
    return {stem: Reading(values) for stem, values in found.items()}


def _run_read(session: RemoteSession, pool: Any, read: Read) -> Reading[list[Any]]:
    values: list[Any] = []
    for command in read.commands:
        try:
            ps = _pipeline(pool, [command])
            output = _invoke(session, ps)
        except (UnreachableError, CommandFailed) as exc:
            return Reading.failed(f"{command}: {exc}" if isinstance(exc, CommandFailed) else str(exc))
        errors = [r for r in ps.streams.error if not _means_empty(command, r)]
        if errors:
            return Reading.failed(describe_record(errors[0], str(command)))
        if ps.had_errors and not ps.streams.error:
            return Reading.failed(f"{command}: the pipeline failed without an error record")
        try:
            values += [from_pypsrp(item) for item in output]
        except (KeyError, ValueError, SyntaxError) as exc:
            return Reading.failed(f"{command}: cannot read the returned objects: {type(exc).__name__}: {exc}")
    return Reading(values)


def _pipeline(pool: Any, commands: Sequence[Command]) -> Any:
    from pypsrp.powershell import PowerShell

    ps = PowerShell(pool)
    for index, command in enumerate(commands):
        if index:
            ps.add_statement()
        ps.add_cmdlet(command.cmdlet)
        for name, value in command.parameters:
            ps.add_parameter(name, value)
    return ps


def _invoke(session: RemoteSession, ps: Any) -> list[Any]:
    """Run the pipeline.

    A connection-level failure marks the endpoint failed and raises ``UnreachableError``; a
    WS-Management fault or a PSRP protocol error raises ``CommandFailed`` with one line and
    leaves the endpoint usable (it may be the NoLanguage endpoint refusing this pipeline).
    """
    from pypsrp.exceptions import AuthenticationError, WinRMError, WinRMTransportError, WSManFaultError
    from requests.exceptions import RequestException

    try:
        return list(ps.invoke())
    except (RequestException, AuthenticationError, WinRMTransportError, OSError) as exc:
        raise UnreachableError(session.fail(exc)) from None
    except (WSManFaultError, WinRMError) as exc:
        raise CommandFailed(
            describe_failure(exc, session.endpoint.url, username=session.target.username, auth=session.target.auth)
        ) from None


def _type_of(value: Any) -> str:
    return value.type_names[0] if isinstance(value, PSObj) and value.type_names else type(value).__name__
