"""YAML files read with the line and column of every value, and pydantic errors turned into
``FILE:LINE:COL: path.to.field: message`` lines (with a "did you mean" for a misspelt key).

Baselines and inventories both go through here, so every input error looks the same.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pydantic
import yaml

from compliance.errors import InputError

Loc = tuple[int | str, ...]
M = TypeVar("M", bound=pydantic.BaseModel)


@dataclass(frozen=True)
class Position:
    line: int
    column: int


@dataclass
class YamlDocument:
    path: Path
    data: Any
    positions: dict[Loc, Position]

    def position(self, loc: Loc) -> Position:
        """The position of ``loc``, or of its nearest ancestor that has one (a missing key)."""
        for end in range(len(loc), -1, -1):
            found = self.positions.get(loc[:end])
            if found is not None:
                return found
        return Position(1, 1)


def read_yaml(path: Path) -> YamlDocument:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    return parse_yaml(text, path)


def parse_yaml(text: str, path: Path) -> YamlDocument:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise InputError(f"{where}: invalid YAML: {exc.problem}") from None
    positions: dict[Loc, Position] = {}
    data = _build(node, (), positions, path) if node is not None else None
    return YamlDocument(path, data, positions)


def _build(node: yaml.Node, loc: Loc, positions: dict[Loc, Position], path: Path) -> Any:
    positions[loc] = Position(node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "<complex key>"
            if key in result:
                line = key_node.start_mark.line + 1
                raise InputError(f"{path}:{line}:{key_node.start_mark.column + 1}: {key}: duplicate key")
            key_loc: Loc = (*loc, key)
            result[key] = _build(value_node, key_loc, positions, path)
            # Errors about a value point at its key, as an editor's "go to line" expects.
            positions[key_loc] = Position(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*loc, i), positions, path) for i, item in enumerate(node.value)]
    return yaml.SafeLoader("").construct_object(node, deep=True)


def validate(model: type[M], doc: YamlDocument) -> M:
    """Validate a document against a pydantic model; every error becomes one line."""
    try:
        return model.model_validate(doc.data)
    except pydantic.ValidationError as exc:
        raise InputError("\n".join(format_errors(model, doc, exc.errors()))) from None


def format_errors(model: type[pydantic.BaseModel], doc: YamlDocument, errors: Iterable[Any]) -> list[str]:
    located = [(tuple(part for part in error["loc"] if not _is_union_tag(part)), error) for error in errors]
    # A misspelt required key is reported by pydantic twice: as an unknown key and as the key it was
    # meant to be, missing. It is one mistake, so only the "unknown key ... did you mean" line is kept.
    meant: dict[Loc, str | None] = {
        loc: _closest(loc[-1], allowed_keys(model, loc[:-1]))
        for loc, error in located
        if error["type"] == "extra_forbidden" and loc and isinstance(loc[-1], str)
    }
    explained = {(*loc[:-1], key) for loc, key in meant.items() if key is not None}
    lines = []
    for loc, error in located:
        if error["type"] == "missing" and loc in explained:
            continue
        pos = doc.position(loc)
        field = dotted(loc) or "(top level)"
        # pydantic prefixes a validator's ValueError with "Value error, "; the message is ours alone.
        message = str(error["msg"]).removeprefix("Value error, ")
        if loc in meant:
            close = meant[loc]
            message = f"unknown key {loc[-1]!r}" + (f" (did you mean {close!r}?)" if close else "")
        elif error["type"] == "missing":
            message = "required key is missing"
        lines.append(f"{doc.path}:{pos.line}:{pos.column}: {field}: {message}")
    return lines


def dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _is_union_tag(part: int | str) -> bool:
    # pydantic inserts the chosen union member's name (e.g. "function-after[...]") into loc.
    return isinstance(part, str) and ("[" in part or part.startswith("function-"))


def _closest(key: str, allowed: list[str]) -> str | None:
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if not close:
        lowered = {a.lower(): a for a in allowed}
        if key.lower() in lowered:
            close = [lowered[key.lower()]]
    return close[0] if close else None


def allowed_keys(model: type[pydantic.BaseModel], loc: Loc) -> list[str]:
    """The keys a mapping at ``loc`` may have, found by walking the model's field types."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            current = _element_type(current)
            continue
        target = _model_in(current)
        if target is None:
            return []
        field = target.model_fields.get(part) or next(
            (f for f in target.model_fields.values() if f.alias == part), None
        )
        if field is None:
            return []
        current = field.annotation
    target = _model_in(current)
    if target is None:
        return []
    return [f.alias or name for name, f in target.model_fields.items()]


def _model_in(tp: Any) -> type[pydantic.BaseModel] | None:
    if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
        return tp
    for arg in typing.get_args(tp):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _element_type(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (list, tuple) or origin is typing.Union or origin is types.UnionType:
        for arg in typing.get_args(tp):
            if arg is not type(None):
                return _element_type(arg) if typing.get_origin(arg) in (list, tuple) else arg
    return tp
