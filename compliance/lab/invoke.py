"""Run one PSRP pipeline against the lab's cmdlets, the way a remote runspace would.

The client's pipeline is a list of commands; ``end_of_statement`` splits it into statements
(pypsrp ``add_statement``), each statement is a pipeline of commands where objects flow from one
command to the next. Emissions from the cmdlets become PSRP messages: output, error records, and
host UI calls (``WriteLine`` for "What if:" text). A terminating error fails the pipeline with its
record, as PowerShell sends it in the final PipelineState.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psrpcore
from psrpcore.types import ErrorCategoryInfo, ErrorRecord, HostInfo, NETException, PSInvocationState

from compliance.lab import records
from compliance.lab.cmdlet_base import Cmdlet, CmdletCall, CmdletError, Parameters
from compliance.lab.faults import LabFaults
from compliance.lab.properties import prop
from compliance.lab.records import ErrorSpec
from compliance.lab.state import LabState
from compliance.lab.wire import send_output

_STOP, _SILENT, _IGNORE = "stop", "silentlycontinue", "ignore"
_ACTION_PREFERENCE_NAMES = {0: _SILENT, 1: _STOP, 2: "continue", 3: "inquire", 4: _IGNORE}


@dataclass(frozen=True)
class EndpointProfile:
    """What one endpoint offers: its cmdlets, its language mode and the server it runs on."""

    cmdlets: Mapping[str, Cmdlet]  # keys in lower case
    no_language: bool
    server: str | None = None
    # Cmdlets (lower case) that change nothing; any other makes a shared state load its own copy.
    read_only: frozenset[str] = frozenset()


class PipelineExecutor:
    """The ``PipelineRunner`` for one endpoint: called by ``RunspaceSession`` per pipeline."""

    def __init__(self, state: LabState, faults: LabFaults, profile: EndpointProfile) -> None:
        self._state = state
        self._faults = faults
        self._profile = profile

    def __call__(self, pipeline: psrpcore.ServerPipeline, metadata: psrpcore.PowerShell) -> None:
        pipeline.start()
        host_available = _has_host_ui(pipeline, metadata)
        try:
            with self._state.lock:
                if self._state.shared and not self._reads_only(metadata.commands):
                    self._state.unshare()  # before the first change, never into the shared objects
                for statement in _statements(metadata.commands):
                    self._run_statement(statement, pipeline, host_available)
        except CmdletError as exc:
            # psrpcore 0.3 has no public "fail" for a server pipeline; _change_state is what its
            # own stop() uses to send PipelineState with the terminating error record.
            pipeline._change_state(PSInvocationState.Failed, error=error_record(exc.spec))
        else:
            pipeline.complete()

    def _reads_only(self, commands: list[psrpcore.Command]) -> bool:
        # A script is refused before it runs anything, so it changes nothing either.
        return all(c.is_script or str(c.command_text).lower() in self._profile.read_only for c in commands)

    def _run_statement(
        self, commands: list[psrpcore.Command], pipeline: psrpcore.ServerPipeline, host_available: bool
    ) -> None:
        flowing: list[Any] | None = None
        for position, command in enumerate(commands):
            is_last = position == len(commands) - 1
            produced: list[Any] = []
            for call in self._calls(command, flowing):
                self._invoke(call)
                for emission in call.emitted:
                    if emission.kind == "output":
                        if is_last:
                            self._write_output(pipeline, emission.value)
                        else:
                            produced.append(emission.value)
                    elif emission.kind == "error":
                        self._write_error(pipeline, call.params, emission.value)
                    elif host_available:
                        psrpcore.ServerHostRequestor(pipeline).write_line(emission.value)
            flowing = produced

    def _write_output(self, pipeline: psrpcore.ServerPipeline, value: Any) -> None:
        wire = self._state.wire  # None once the state has objects of its own
        if wire is not None and wire.holds(value):
            send_output(pipeline, wire.message(value, pipeline.runspace_pool))
        else:
            pipeline.write_output(value)

    def _calls(self, command: psrpcore.Command, flowing: list[Any] | None) -> list[CmdletCall]:
        """One call without pipeline input, or one call per object piped in (bound by Identity)."""
        name = str(command.command_text)
        if command.is_script:
            raise CmdletError(
                records.no_language_mode() if self._profile.no_language else records.scripts_not_simulated()
            )
        cmdlet = self._profile.cmdlets.get(name.lower())
        if cmdlet is None:
            raise CmdletError(records.command_not_found(name))
        params = _bind(name, cmdlet, command.parameters)
        if flowing is None:
            return [CmdletCall(name, params, self._state, self._profile.server)]
        calls = []
        for item in flowing:
            bound = params
            if cmdlet.pipeline_parameter and cmdlet.pipeline_parameter not in params:
                identity = prop(item, "Identity") or prop(item, "DistinguishedName") or item
                bound = params.with_value(cmdlet.pipeline_parameter, str(identity))
            calls.append(CmdletCall(name, bound, self._state, self._profile.server))
        return calls

    def _invoke(self, call: CmdletCall) -> None:
        delay = self._faults.latency_for(call.name)
        if delay:
            time.sleep(delay)
        injected = self._faults.failure_for(call.name)
        if injected is not None:
            raise CmdletError(records.injected_failure(call.name, injected))
        cmdlet = self._profile.cmdlets[call.name.lower()]
        cmdlet.run(call)

    def _write_error(self, pipeline: psrpcore.ServerPipeline, params: Parameters, spec: ErrorSpec) -> None:
        preference = _error_action(params)
        if preference == _STOP:
            raise CmdletError(spec)
        if preference in (_SILENT, _IGNORE):
            return
        record = error_record(spec)
        pipeline.write_error(
            record.Exception,
            category_info=record.CategoryInfo,
            target_object=record.TargetObject,
            fully_qualified_error_id=record.FullyQualifiedErrorId,
        )


def _statements(commands: list[psrpcore.Command]) -> list[list[psrpcore.Command]]:
    statements: list[list[psrpcore.Command]] = [[]]
    for command in commands:
        statements[-1].append(command)
        if command.end_of_statement:
            statements.append([])
    return [s for s in statements if s]


def _bind(cmdlet_name: str, cmdlet: Cmdlet, pairs: list[tuple[str | None, Any]]) -> Parameters:
    named: list[tuple[str, Any]] = []
    for name, value in pairs:
        if name is None:
            # A positional argument: Exchange and registry cmdlets take their identity first.
            if cmdlet.pipeline_parameter is None:
                raise CmdletError(records.parameter_not_found(cmdlet_name, str(value)))
            named.append((cmdlet.pipeline_parameter, value))
        elif not cmdlet.accepts(name):
            raise CmdletError(records.parameter_not_found(cmdlet_name, name))
        else:
            named.append((name, value))
    return Parameters(named)


def _error_action(params: Parameters) -> str:
    if "ErrorAction" not in params:
        return "continue"
    value = params["ErrorAction"]
    if isinstance(value, int) and not isinstance(value, bool):
        return _ACTION_PREFERENCE_NAMES.get(int(value), "continue")
    return str(value).lower()


def _has_host_ui(pipeline: psrpcore.ServerPipeline, metadata: psrpcore.PowerShell) -> bool:
    """Host calls only reach a client that sent a host with a UI (pypsrp ``PSHost(ui=...)``)."""
    host: HostInfo | None = metadata.host
    if host is None or host.UseRunspaceHost:
        host = pipeline.runspace_pool.host
    return host is not None and not host.IsHostNull and not host.IsHostUINull


def error_record(spec: ErrorSpec) -> ErrorRecord:
    exception = NETException(Message=spec.message, HResult=-2146233088)
    exception.PSObject.type_names = [*spec.exception_types, "System.Object"]
    return ErrorRecord(
        Exception=exception,
        CategoryInfo=ErrorCategoryInfo(
            Category=spec.category,
            Activity=spec.activity or None,
            Reason=spec.reason,
            TargetName=spec.target_name or None,
            TargetType="String" if spec.target_name else None,
        ),
        TargetObject=spec.target_name or None,
        FullyQualifiedErrorId=spec.fully_qualified_error_id,
    )
