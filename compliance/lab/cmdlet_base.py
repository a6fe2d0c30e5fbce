"""What a lab cmdlet receives and what it can emit, independent of the PSRP transport.

A cmdlet is a Python function ``(call: CmdletCall) -> None``. It reads its bound parameters,
reads or changes the ``LabState``, and emits output objects, error records and host UI lines
through the call, in the order PowerShell would. ``compliance.lab.invoke`` replays the emissions
into a psrpcore ``ServerPipeline``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from compliance.lab.records import ErrorSpec, missing_parameter

if TYPE_CHECKING:
    from compliance.lab.state import LabState

# Common parameters every cmdlet accepts (about_CommonParameters, plus Exchange's DomainController).
COMMON_PARAMETERS = frozenset(
    name.lower()
    for name in (
        "WhatIf",
        "Confirm",
        "ErrorAction",
        "WarningAction",
        "Verbose",
        "Debug",
        "ErrorVariable",
        "WarningVariable",
        "OutVariable",
        "OutBuffer",
        "DomainController",
    )
)


class CmdletError(Exception):
    """A terminating error: the pipeline fails with this record."""

    def __init__(self, spec: ErrorSpec) -> None:
        super().__init__(spec.message)
        self.spec = spec


class Parameters(Mapping[str, Any]):
    """Bound parameters, looked up case-insensitively like PowerShell; keeps the caller's spelling."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        self._values: dict[str, tuple[str, Any]] = {name.lower(): (name, value) for name, value in pairs}

    def __getitem__(self, name: str) -> Any:
        return self._values[name.lower()][1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values

    def __iter__(self) -> Iterator[str]:
        return (spelled for spelled, _ in self._values.values())

    def __len__(self) -> int:
        return len(self._values)

    def switch(self, name: str) -> bool:
        """A switch is on when present without a value (``add_parameter("WhatIf")``) or truthy."""
        if name not in self:
            return False
        value = self[name]
        return value is None or bool(value)

    def with_value(self, name: str, value: Any) -> Parameters:
        copy = Parameters([])
        copy._values = dict(self._values)
        copy._values[name.lower()] = (name, value)
        return copy


@dataclass
class Emission:
    kind: str  # "output", "error" or "host"
    value: Any


@dataclass
class CmdletCall:
    """One invocation of a cmdlet: its name, parameters, the state, and what it emits."""

    name: str
    params: Parameters
    state: LabState
    server: str | None = None  # the server a host endpoint belongs to; None on the Exchange endpoint
    emitted: list[Emission] = field(default_factory=list)

    def require(self, name: str) -> Any:
        """A mandatory parameter. PowerShell would prompt for it; a remote API call has nobody to ask."""
        if name not in self.params:
            raise CmdletError(missing_parameter(self.name, name))
        return self.params[name]

    def write_output(self, value: Any) -> None:
        self.emitted.append(Emission("output", value))

    def write_error(self, spec: ErrorSpec) -> None:
        self.emitted.append(Emission("error", spec))

    def write_host_line(self, line: str) -> None:
        self.emitted.append(Emission("host", line))

    def should_process(self, target: str, operation: str | None = None) -> bool:
        """PowerShell's ShouldProcess: with -WhatIf, say what would happen and do nothing.

        The operation is the cmdlet name unless the cmdlet names it (providers say "Set Property").
        The text has PowerShell 2.0's shape, the version Exchange 2010 runs on.
        """
        if self.params.switch("WhatIf"):
            self.write_host_line(f'What if: Performing operation "{operation or self.name}" on Target "{target}".')
            return False
        return True


@dataclass(frozen=True)
class Cmdlet:
    """A registry entry: the function and the parameters it accepts besides the common ones."""

    run: Callable[[CmdletCall], None]
    parameters: frozenset[str]
    # The parameter an object from the previous command binds to (ValueFromPipeline, by Identity).
    pipeline_parameter: str | None = None

    def accepts(self, name: str) -> bool:
        lowered = name.lower()
        return lowered in self.parameters or lowered in COMMON_PARAMETERS


def cmdlet(run: Callable[[CmdletCall], None], *parameters: str, pipeline_parameter: str | None = None) -> Cmdlet:
    return Cmdlet(run, frozenset(p.lower() for p in parameters), pipeline_parameter)
