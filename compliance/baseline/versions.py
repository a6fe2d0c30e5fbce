"""Exchange version ranges (``applies_to: ">=14.1,<15"``) checked against AdminDisplayVersion."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from compliance.facts.values import ServerVersion

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
