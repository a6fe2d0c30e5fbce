"""pypsrp output objects -> the neutral form (``PSObj`` and plain values) the fact parsers read.

The live counterpart of ``compliance.facts.psobject.from_psrpcore``: the same object must give
the same neutral value whether it came over WinRM or from an ``Export-Clixml`` file.

pypsrp 0.9's deserializer is lossy for what Exchange sends: a ``<DT>`` stays text, and the
``<LST>`` inside a ``MultiValuedProperty`` object comes back as raw XML text. pypsrp keeps each
output object's CLIXML in ``_xml``, and each PSRP output message is serialized on its own (its
type-name and object references are self-contained), so that CLIXML is re-read as an offline
fact file is: by the streaming reader (``compliance.facts.clixml_reader``), and by psrpcore, the
reference, whatever that declines. Live and offline facts then agree by construction. Objects built
without ``_xml`` go through the structural conversion below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compliance.facts import clixml_reader
from compliance.facts.psobject import PSObj, deserialize, from_psrpcore

_OBJS_OPEN = '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'


@dataclass(frozen=True)
class WireOutput:
    """One PIPELINE_OUTPUT message's CLIXML, as it came (``keep_output_as_text``)."""

    clixml: str


def keep_output_as_text(pool: Any) -> None:
    """Make ``pool`` hand each output object over as its CLIXML text (``WireOutput``), unread.

    pypsrp's deserializer reads every output message into its own objects, writing each nested
    element back to text on the way (``ET.tostring`` per element, for ``_xml``), and that text is
    then read again here: about a third of a live audit's client CPU (bench/fleet.py). Output is the
    only message pypsrp deserializes with no metadata (``Message.unpack``, pypsrp 0.9, pinned below
    0.10); every other message, the host calls and the session key keep pypsrp's serializer.
    """
    from pypsrp.serializer import Serializer

    class OutputAsText(Serializer):
        def deserialize(self, element: Any, metadata: Any = None, clear: bool = True) -> Any:
            if metadata is None and isinstance(element, str):
                return WireOutput(element)
            return super().deserialize(element, metadata, clear)

    serializer = OutputAsText()
    pool._serializer = pool._fragmenter.serializer = serializer


def from_pypsrp(value: Any) -> Any:
    """Convert a value returned by ``pypsrp.powershell.PowerShell.invoke`` into neutral form."""
    from pypsrp.complex_objects import ComplexObject, GenericComplexObject

    if value is None:
        return None
    if isinstance(value, WireOutput):
        return _from_wire(value.clixml)
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


def _from_wire(clixml: str) -> Any:
    """An output message's CLIXML: as an offline fact file, else as pypsrp would have read it."""
    try:
        return _from_clixml(clixml)
    except (KeyError, ValueError, SyntaxError):  # references outside the fragment: pypsrp reads it
        pass
    from pypsrp.complex_objects import GenericComplexObject, ObjectMeta
    from pypsrp.exceptions import SerializationError
    from pypsrp.serializer import Serializer

    try:
        value = Serializer().deserialize(clixml)
    except SerializationError:  # as pypsrp's Message.unpack does: a generic object at least
        value = Serializer().deserialize(clixml, ObjectMeta("ObjDynamic", object=GenericComplexObject))
    return from_pypsrp(value)


def _from_clixml(fragment: str) -> Any:
    text = f"{_OBJS_OPEN}{fragment}</Objs>"
    try:
        values = clixml_reader.read(text)  # as offline: the streaming reader, psrpcore when it declines
    except Exception:  # declined, or failed: psrpcore reads it, and its value or error stands
        values = [from_psrpcore(item) for item in deserialize(text)]
    return values[0] if values else None


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
