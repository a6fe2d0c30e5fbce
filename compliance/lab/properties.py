"""Properties of psrpcore objects by name, case-insensitively, as PowerShell looks them up."""

from __future__ import annotations

from typing import Any


def prop(obj: Any, name: str) -> Any:
    """A property of a psrpcore object by name (case-insensitive), or None."""
    if obj is None:
        return None
    info = find_property(obj, name)
    return info.get_value(obj) if info is not None else None


def find_property(obj: Any, name: str) -> Any:
    ps = getattr(obj, "PSObject", None)
    if ps is None:
        return None
    lowered = name.lower()
    for info in [*ps.adapted_properties, *ps.extended_properties]:
        if info.name.lower() == lowered:
            return info
    return None
