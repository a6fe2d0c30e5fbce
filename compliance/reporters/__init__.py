"""Report writers. Each turns plans into text with one signature: ``render(plans, verbose) -> str``.

A registry of module names, imported only when used, keeps ``--help`` fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from compliance.plan import Plan

REPORTERS: dict[str, str] = {
    "text": "compliance.reporters.text",
    "json": "compliance.reporters.json",
    "junit": "compliance.reporters.junit",
    "markdown": "compliance.reporters.markdown",
    "ps1": "compliance.reporters.ps1",
}


def render(fmt: str, plans: Sequence[Plan], *, verbose: bool = False) -> str:
    module = importlib.import_module(REPORTERS[fmt])
    text: str = module.render(plans, verbose=verbose)
    return text
