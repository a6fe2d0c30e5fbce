"""Report writers. Each turns plans into text with one signature: ``render(plans, verbose) -> str``;
a writer that uses the run's context (``reporters.context.RunContext``) takes it as ``context=``.

A registry of module names, imported only when used, keeps ``--help`` fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from compliance.plan import Plan
from compliance.reporters.context import RunContext

REPORTERS: dict[str, str] = {
    "text": "compliance.reporters.text",
    "json": "compliance.reporters.json",
    "junit": "compliance.reporters.junit",
    "markdown": "compliance.reporters.markdown",
    "ps1": "compliance.reporters.ps1",
    "html": "compliance.reporters.html",
    "sarif": "compliance.reporters.sarif",
    "prometheus": "compliance.reporters.prometheus",
    "csv": "compliance.reporters.csv",
}


def render(fmt: str, plans: Sequence[Plan], *, verbose: bool = False, context: RunContext | None = None) -> str:
    module = importlib.import_module(REPORTERS[fmt])
    if getattr(module, "USES_CONTEXT", False):
        text: str = module.render(plans, verbose=verbose, context=context)
    else:
        text = module.render(plans, verbose=verbose)
    return text
