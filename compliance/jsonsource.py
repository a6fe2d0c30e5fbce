"""JSON input with located errors: the reports ``merge`` joins are hostile input too.

``json`` keeps no positions, and a fleet's report can be tens of megabytes, too big for the YAML
reader's bounds and too slow to keep a position for every value. So the document is parsed with
the C scanner, and a position is found only when an error needs one: ``JsonDocument.position``
walks the text to the value at ``loc`` (skipping siblings with ``raw_decode``), which gives the
same ``FILE:LINE:COL: field: message`` lines as the YAML inputs, through the same
``compliance.modelerrors``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from compliance.errors import InputError
from compliance.yamlsource import Loc, Position, YamlDocument

MAX_BYTES = 512 * 1024 * 1024  # a merged report of thousands of organizations stays far below
_SPACE = " \t\n\r"


@dataclass
class JsonDocument(YamlDocument):
    text: str = field(default="", repr=False)

    def position(self, loc: Loc) -> Position:
        offset = _offset(self.text, loc)
        line = self.text.count("\n", 0, offset) + 1
        return Position(line, offset - (self.text.rfind("\n", 0, offset) + 1) + 1)


def read_json(path: Path, *, what: str) -> JsonDocument:
    """The JSON document at ``path``; one line naming the file (and the place) when it is not one."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError(f"{path}: {size} bytes, more than the {MAX_BYTES} a {what} may have")
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}:{exc.colno}: not a {what} (not JSON: {exc.msg})") from None
    except RecursionError:
        raise InputError(f"{path}:1:1: not a {what} (nested too deeply)") from None
    return JsonDocument(path=path, data=data, positions={}, text=text)


def _skip(text: str, at: int) -> int:
    while at < len(text) and text[at] in _SPACE:
        at += 1
    return at


def _offset(text: str, loc: Loc) -> int:
    """Where the value at ``loc`` starts (or the nearest container on the way, if it is missing)."""
    decoder = json.JSONDecoder()
    at = _skip(text, 0)
    for part in loc:
        if at >= len(text) or text[at] not in "{[":
            return at
        opening, at = text[at], _skip(text, at + 1)
        index = 0
        while at < len(text) and text[at] not in "}]":
            if opening == "{":
                key, at = json.decoder.scanstring(text, at + 1)  # type: ignore[attr-defined]
                at = _skip(text, _skip(text, at) + 1)  # past the colon
                hit = key == part
            else:
                hit = index == part
            if hit:
                break
            _, at = decoder.raw_decode(text, at)
            at = _skip(text, at)
            if at < len(text) and text[at] == ",":
                at = _skip(text, at + 1)
            index += 1
        else:
            return at
    return at
