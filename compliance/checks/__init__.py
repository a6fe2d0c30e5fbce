"""Checks: a baseline's rules evaluated against facts, one module per area."""
