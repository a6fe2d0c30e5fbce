"""The plan as a reviewable Exchange Management Shell script (``--format ps1``); see docs/apply.md."""

from __future__ import annotations

from collections.abc import Sequence

from compliance.plan import Plan


def render(plans: Sequence[Plan], *, verbose: bool = False) -> str:
    from compliance.apply.ps1 import render_script

    return render_script(plans)
