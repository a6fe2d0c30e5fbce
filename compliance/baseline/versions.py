"""Exchange version ranges (``applies_to: ">=14.1,<15"``) checked against AdminDisplayVersion, and the
shipped baselines by the range each applies to (``--baseline auto``, ``uccx-compliance baselines``)."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from compliance import resources
from compliance.facts.values import ServerVersion
from compliance.yamlsource import read_yaml

_CLAUSE = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(\d+(?:\.\d+){0,3})\s*$")
_OPERATORS: dict[str, Callable[[tuple[int, ...], tuple[int, ...]], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}


@dataclass(frozen=True)
class VersionRange:
    text: str
    clauses: tuple[tuple[str, tuple[int, ...]], ...]

    @classmethod
    def parse(cls, text: str) -> VersionRange:
        clauses = []
        for part in text.split(","):
            match = _CLAUSE.match(part)
            if not match:
                raise ValueError(f"bad version clause {part.strip()!r}: expected e.g. '>=14.1,<15'")
            clauses.append((match.group(1), tuple(int(n) for n in match.group(2).split("."))))
        return cls(text, tuple(clauses))

    def contains(self, version: ServerVersion) -> bool:
        full = (version.major, version.minor, version.build, version.revision)
        # "<15" compares on the given parts only: 15.0.1497.2 is not < 15, and == 15.1 means any 15.1 build.
        return all(_OPERATORS[op](full[: len(bound)], bound) for op, bound in self.clauses)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Shipped:
    """A baseline shipped with the tool: its name (the file stem) and the versions it applies to."""

    name: str
    path: Path
    applies_to: VersionRange


def shipped_baselines() -> list[Shipped]:
    """Every shipped baseline, by name. Only ``applies_to`` is read here (the whole model is loaded
    when one is used): the list and the "use --baseline ..." hint must work even for a baseline
    whose vars a target would refuse."""
    found = []
    for path in sorted(resources.baselines_dir().glob("*.yaml")):
        document = read_yaml(path)
        text = document.data.get("applies_to") if isinstance(document.data, dict) else None
        if isinstance(text, str):
            found.append(Shipped(path.stem, path, VersionRange.parse(text)))
    return found


def shipped_for(version: ServerVersion) -> Shipped | None:
    """The shipped baseline whose ``applies_to`` holds ``version`` (the ranges do not overlap)."""
    return next((s for s in shipped_baselines() if s.applies_to.contains(version)), None)


def dotted(version: ServerVersion) -> str:
    """``15.2.1118.7``: how the wrong-version message and ``baselines`` show a build."""
    return f"{version.major}.{version.minor}.{version.build}.{version.revision}"
