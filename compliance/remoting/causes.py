"""Walking an exception's causes: what requests, urllib3, pypsrp and pyspnego wrap around the error."""

from __future__ import annotations

from collections.abc import Iterator


def causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its arguments that are exceptions (urllib3 wraps), and its chain.

    ``base_error`` is where pyspnego keeps the GSSAPI error under a ``SpnegoError``.
    """
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [a for a in current.args if isinstance(a, BaseException)]
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
        for linked in (current.__cause__, current.__context__, getattr(current, "base_error", None)):
            if isinstance(linked, BaseException):
                todo.append(linked)
