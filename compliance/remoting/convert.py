"""pypsrp output objects -> the neutral form (``PSObj`` and plain values) the fact parsers read.

The live counterpart of ``compliance.facts.psobject.from_psrpcore``: the same object must give
the same neutral value whether it came over WinRM or from an ``Export-Clixml`` file.

pypsrp 0.9's deserializer is lossy for what Exchange sends: a ``<DT>`` stays text, and the
``<LST>`` inside a ``MultiValuedProperty`` object comes back as raw XML text. pypsrp keeps each
output object's CLIXML in ``_xml``, and each PSRP output message is serialized on its own (its
type-name and object references are self-contained), so that CLIXML is re-read with psrpcore,
the offline folder's reader: live and offline facts then agree by construction. Objects built
without ``_xml`` go through the structural conversion below.
"""

from __future__ import annotations

from typing import Any

from compliance.facts.psobject import PSObj, deserialize, from_psrpcore

_OBJS_OPEN = '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'


def from_pypsrp(value: Any) -> Any:
    """Convert a value returned by ``pypsrp.powershell.PowerShell.invoke`` into neutral form."""
    from pypsrp.complex_objects import ComplexObject, GenericComplexObject

    if value is None:
        return None
    if isinstance(value, list):
        return [from_pypsrp(v) for v in value]
    if isinstance(value, dict):
        return {str(k): from_pypsrp(v) for k, v in value.items()}
    if isinstance(value, GenericComplexObject):
        wire = getattr(value, "_xml", None)
        if wire:
            try:
                return _from_clixml(wire)
            except (KeyError, ValueError, SyntaxError):  # references outside the fragment: read it as is
                pass
        return _structural(value)
    if isinstance(value, ComplexObject):
        # A typed pypsrp class (ErrorRecord...): rarely output; keep its type and ToString.
        return PSObj(tuple(getattr(value, "_types", ()) or ()), str(value) or None)
    return value


def _from_clixml(fragment: str) -> Any:
    values = deserialize(f"{_OBJS_OPEN}{fragment}</Objs>")
    return from_psrpcore(values[0]) if values else None


def _structural(obj: Any) -> Any:
    """``GenericComplexObject`` attribute by attribute, mirroring ``from_psrpcore``."""
    types = tuple(t for t in (obj.types or ()) if t)
    props = {
        name: from_pypsrp(raw)
        for source in (obj.adapted_properties, obj.extended_properties)
        for name, raw in source.items()
        if name != "SerializationData"  # an opaque .NET blob; nothing reads it
    }
    to_string = None if obj.to_string is None else str(obj.to_string)
    for inner in obj.property_sets:
        if isinstance(inner, (list, dict)):
            # A collection (MultiValuedProperty, ArrayList, Hashtable): only its items, as offline.
            return from_pypsrp(inner)
        if isinstance(inner, str) and inner.lstrip().startswith(("<LST", "<IE", "<DCT", "<QUE", "<STK")):
            return _from_clixml(f'<Obj RefId="0">{inner}</Obj>')
    if obj.property_sets and not props:
        inner = from_pypsrp(obj.property_sets[0])
        if types and not types[0].removeprefix("Deserialized.").startswith("System."):
            # An enum or typed primitive: ServerRole 38 shown as "Mailbox, ClientAccess, HubTransport".
            return PSObj(types, to_string, value=inner)
        return inner
    return PSObj(types, to_string, props)
