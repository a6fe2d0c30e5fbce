"""pydantic validation errors as located lines: ``FILE:LINE:COL: path.to.field: message``.

A document read by ``compliance.yamlsource`` keeps the position of every value; ``validate``
checks it against a model and turns each error into one line at that position, with a "did you
mean" for a misspelt key (found by walking the model's field types).
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable
from typing import Any, TypeVar

import pydantic

from compliance.errors import InputErrors
from compliance.yamlsource import Loc, YamlDocument, dotted

M = TypeVar("M", bound=pydantic.BaseModel)


def validate(model: type[M], doc: YamlDocument) -> M:
    """Validate a document against a pydantic model; every error becomes one located line."""
    try:
        return model.model_validate(doc.data)
    except pydantic.ValidationError as exc:
        raise InputErrors(format_errors(model, doc, exc.errors())) from None


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
        if typing.get_origin(current) is dict:  # a key of a mapping of models (vars: {name: VarSpec})
            current = typing.get_args(current)[1]
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
