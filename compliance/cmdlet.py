"""A cmdlet call as data: the reads a resource kind sends and the changes apply sends.

Nothing here is script text. A call is a cmdlet name and its parameters; ``compliance.remoting``
turns it into ``add_cmdlet``/``add_parameter`` (the Exchange endpoint is NoLanguage), and the ps1
writer quotes every value with ``quote``/``argument``. Both kinds of call live here so that the
resource kinds, apply and the writers share them without importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

EXCHANGE = "exchange"
HOST_PREFIX = "host:"

# PowerShell's single-quote characters (System.Management.Automation.Language.CharExtensions).
SINGLE_QUOTES = frozenset("'\u2018\u2019\u201a\u201b")
# Characters that end a line for PowerShell's tokenizer, and other breaks an editor may show.
LINE_BREAKS = frozenset("\r\n\v\f\x85\u2028\u2029")


def one_line(text: str) -> str:
    """``text`` on one line: line breaks become spaces, other control characters ``\\xNN`` (a lone
    surrogate ``\\uXXXX``). For a
    ``#`` comment (which a line break would end, letting the rest run as code) and for an error
    message, which is one line by the house rule even when a tampered file put a break in a name."""
    out = []
    for ch in text:
        if ch in LINE_BREAKS:
            out.append(" ")
        elif ord(ch) < 0x20 or ch == "\x7f":
            out.append(f"\\x{ord(ch):02x}")
        elif 0xD800 <= ord(ch) <= 0xDFFF:  # a lone surrogate (JSON can carry one): no UTF-8 for it
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def host_endpoint(server: str) -> str:
    """The endpoint name of a server's own WinRM endpoint (``Microsoft.PowerShell``)."""
    return f"{HOST_PREFIX}{server}"


def quote(text: str) -> str:
    """``text`` as one PowerShell single-quoted literal: every quote character doubled."""
    return "'" + "".join(ch + ch if ch in SINGLE_QUOTES else ch for ch in text) + "'"


def argument(value: Any) -> str:
    """A parameter value: ``$null`` for no limit, ``$true``/``$false``, otherwise a quoted literal."""
    if value is None:
        return "$null"
    if isinstance(value, bool):
        return "$true" if value else "$false"
    return quote(str(value))


@dataclass(frozen=True)
class Command:
    """A read: ``Get-ReceiveConnector -Server EX01``, a cmdlet and its parameters, in order."""

    cmdlet: str
    parameters: tuple[tuple[str, Any], ...] = ()
    # Error records that mean "nothing there" rather than "could not read": a matching
    # FullyQualifiedErrorId prefix ("NoMatchingEventsFound", "PathNotFound").
    empty_when: tuple[str, ...] = ()

    def __str__(self) -> str:
        shown = " ".join(f"-{name} {_shown(value)}" for name, value in self.parameters)
        return f"{self.cmdlet} {shown}".rstrip()


@dataclass(frozen=True)
class CommandSpec:
    """A change: one cmdlet to send, where, and its parameters in the order they are added."""

    endpoint: str  # "exchange" or "host:<SERVER>"
    cmdlet: str
    parameters: dict[str, Any] = field(default_factory=dict, hash=False)

    @property
    def server(self) -> str | None:
        return self.endpoint[len(HOST_PREFIX) :] if self.endpoint.startswith(HOST_PREFIX) else None

    def to_dict(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "cmdlet": self.cmdlet, "parameters": dict(self.parameters)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CommandSpec:
        return cls(str(data["endpoint"]), str(data["cmdlet"]), dict(data.get("parameters") or {}))

    def __str__(self) -> str:
        # A bool is a switch: PowerShell writes its value after a colon (-Confirm:$false).
        shown = " ".join(
            f"-{name}:{argument(value)}" if isinstance(value, bool) else f"-{name} {argument(value)}"
            for name, value in self.parameters.items()
        )
        where = f"[{self.server}] " if self.server else ""
        return f"{where}{self.cmdlet} {shown}".rstrip()


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'" if " " in value else value
    if isinstance(value, (list, tuple)):
        return ",".join(_shown(v) for v in value)
    if isinstance(value, dict):
        return "@{" + "; ".join(f"{k}={_shown(v)}" for k, v in value.items()) + "}"
    text = getattr(value, "text", None)  # an ElementTree <DT> built for a DateTime parameter
    return str(text) if text is not None else str(value)
