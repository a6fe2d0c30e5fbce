"""Baselines: the YAML language (``model``), its templates (``expressions``), loading (``load``)."""

from compliance.baseline.load import LoadedBaseline, load_baseline, parse_var_overrides

__all__ = ["LoadedBaseline", "load_baseline", "parse_var_overrides"]
