"""Turn an ``Export-Clixml`` file into what a PSRP server sends: one self-contained fragment per
output object, decoded by pypsrp's own deserializer.

An export shares type-name (``TNRef``) and object (``Ref``) references across its top-level
objects; a PSRP output message is serialized on its own, so each fragment here carries copies of
the definitions it refers to, exactly the information the server would send.
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

_NS = ' xmlns="http://schemas.microsoft.com/powershell/2004/04"'


def fragments(path: Path) -> list[str]:
    root = ET.fromstring(path.read_text(encoding="utf-8-sig").replace(_NS, ""))
    type_names = {tn.attrib["RefId"]: tn for tn in root.iter("TN")}
    objects = {obj.attrib["RefId"]: obj for obj in root.iter("Obj") if "RefId" in obj.attrib}
    out = []
    for top in list(root):
        element = copy.deepcopy(top)
        _inline(element, type_names, objects, set())
        out.append(ET.tostring(element, encoding="unicode"))
    return out


def _inline(
    element: ET.Element, type_names: dict[str, ET.Element], objects: dict[str, ET.Element], defined: set[str]
) -> None:
    for index, child in enumerate(list(element)):
        if child.tag == "TN":
            defined.add(child.attrib["RefId"])
        elif child.tag == "TNRef" and child.attrib["RefId"] not in defined:
            replacement = copy.deepcopy(type_names[child.attrib["RefId"]])
            replacement.tail = child.tail
            element[index] = replacement
            defined.add(replacement.attrib["RefId"])
        elif child.tag == "Ref":
            replacement = copy.deepcopy(objects[child.attrib["RefId"]])
            replacement.attrib.update({k: v for k, v in child.attrib.items() if k == "N"})
            replacement.tail = child.tail
            element[index] = replacement
            _inline(replacement, type_names, objects, defined)
            continue
        _inline(element[index], type_names, objects, defined)


def received(path: Path) -> list[Any]:
    """The objects pypsrp's ``PowerShell.invoke`` would return for the file's objects."""
    from pypsrp.serializer import Serializer

    return [Serializer().deserialize(fragment) for fragment in fragments(path)]
