"""The one output layer: every report format, and the saved plan, written to stdout or a file."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from compliance.files import write_atomic
from compliance.plan import Plan
from compliance.reporters import render
from compliance.reporters.common import combined_exit


def emit(plans: Sequence[Plan], fmt: str, out: Path | None, *, verbose: bool) -> int:
    """Write the plans in ``fmt`` to ``out`` (stdout when None); returns the plans' exit code."""
    text = render(fmt, plans, verbose=verbose)
    if out is None:
        sys.stdout.write(text)
    else:
        write_atomic(out, text)
        print(f"wrote {fmt} report to {out}", file=sys.stderr)
    return int(combined_exit(plans))


def save_plan(plans: Sequence[Plan], out: Path, inventory: Path, overrides: Mapping[str, Any] | None = None) -> int:
    """The JSON report plus what apply needs (targets, commands, checksum): ``apply FILE`` takes it."""
    from compliance.apply.saved_plan import write_saved_plan

    write_saved_plan(out, plans, inventory, overrides)
    print(f"wrote saved plan to {out}; review it, then: uccx-compliance apply {out}", file=sys.stderr)
    return int(combined_exit(plans))
