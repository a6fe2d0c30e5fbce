"""Where the shipped baselines and example fact folders are found.

In a source checkout they are the top-level ``baselines/`` and ``examples/facts/`` folders; in an
installed wheel the same files are package data under ``compliance/_shipped/`` (see pyproject).
One function each, so nothing else needs to know which layout it runs from.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _shipped(kind: str, source_relative: str) -> Path:
    installed = _PACKAGE_DIR / "_shipped" / kind
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / source_relative


def baselines_dir() -> Path:
    """The folder of shipped baselines (``uccx-exchange2010-sp1.yaml`` ...)."""
    return _shipped("baselines", "baselines")


def scenarios_dir() -> Path:
    """The folder of example fact folders, which are also the lab's scenarios."""
    return _shipped("facts", "examples/facts")


def shipped_baseline(name: str) -> Path:
    """A shipped baseline by name, with or without ``.yaml``."""
    stem = name.removesuffix(".yaml")
    return baselines_dir() / f"{stem}.yaml"


def scenario_dir(name: str) -> Path:
    return scenarios_dir() / name


def scenario_names() -> list[str]:
    root = scenarios_dir()
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
