"""``plan --format`` offers every registered report writer, and each is importable with ``render``."""

from __future__ import annotations

import importlib
import inspect

from compliance.commands.plan import FORMATS
from compliance.reporters import REPORTERS


def test_plan_offers_every_reporter() -> None:
    assert tuple(REPORTERS) == FORMATS


def test_a_writer_that_uses_the_context_takes_it() -> None:
    for fmt, name in REPORTERS.items():
        module = importlib.import_module(name)
        parameters = inspect.signature(module.render).parameters
        assert "verbose" in parameters, fmt
        assert ("context" in parameters) == getattr(module, "USES_CONTEXT", False), fmt
