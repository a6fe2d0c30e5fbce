"""Loading a baseline: read YAML with positions, apply vars and ``--var`` overrides, validate."""

from __future__ import annotations

import difflib
import functools
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from compliance.baseline.expressions import ExpressionError, render
from compliance.baseline.model import Baseline, Vars, VarSpec
from compliance.errors import InputError
from compliance.facts.collection import CollectionRequest, EventQuery
from compliance.modelerrors import validate
from compliance.yamlsource import Loc, VarPosition, YamlDocument, located, parse_source, parse_yaml, read_source


@dataclass(frozen=True)
class LoadedBaseline:
    """A validated baseline with its vars resolved, and where it came from."""

    path: Path
    sha256: str
    baseline: Baseline
    vars: dict[str, Any]

    @property
    def name(self) -> str:
        return self.baseline.metadata.name

    def collection_request(self) -> CollectionRequest:
        rules = self.baseline.rules
        services: list[str] = []
        if rules.imap_settings:
            services += rules.imap_settings.restart_services
        services += [r.restart_service for r in rules.registry_values if r.restart_service]
        mailbox = self.vars.get("uccx_mailbox") or (rules.mailbox_policy.mailbox if rules.mailbox_policy else "")
        return CollectionRequest(
            uccx_mailbox=str(mailbox),
            registry_paths=tuple(dict.fromkeys(r.path for r in rules.registry_values)),
            events=tuple(EventQuery(e.log_name, e.provider, e.event_id, e.role) for e in rules.event_log),
            event_lookback_days=max((e.lookback_days for e in rules.event_log), default=7),
            services=tuple(dict.fromkeys(services)),
        )


def var_source(name: str) -> str:
    """The pseudo-file a ``--var`` error names: ``--var agents:1:1: agents: message``.

    LINE:COL count in the VALUE text (1:1 when the whole value is wrong); the field is the name,
    with ``[i]`` for an item of a list."""
    return f"--var {name}"


def parse_var_overrides(items: Iterable[str]) -> dict[str, Any]:
    """``--var name=value``, the value read as YAML by the one bounded reader (``agents=300``,
    ``receive_connectors=['*']``); its type and range are checked against the baseline's var."""
    overrides: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise InputError(located(var_source(name), 1, 1, (name,) if name else (), "expected NAME=VALUE"))
        overrides[name] = parse_yaml(text, var_source(name), (name,)).data if text.strip() else ""
    return overrides


class _VarsBlock(BaseModel):
    """The ``vars:`` block alone: vars are checked before any template that uses them is rendered."""

    model_config = ConfigDict(extra="ignore")
    vars: Vars = {}


def load_baseline(
    path: Path, overrides: Mapping[str, Any] | None = None, *, written_at: Mapping[str, VarPosition] | None = None
) -> LoadedBaseline:
    """The baseline with ``overrides`` for its vars. A refused override is located at ``written_at[name]``
    (an inventory's ``targets[i].vars.NAME``) when given, otherwise as ``--var NAME``."""
    raw = read_source(path)
    digest = hashlib.sha256(raw).hexdigest()  # of the bytes parsed, not of a second read
    doc = _parsed(path, raw)
    if not isinstance(doc.data, dict):
        raise InputError(located(path, 1, 1, (), "expected a mapping with apiVersion, kind, metadata, rules"))
    block = doc.data.get("vars") or {}
    if not isinstance(block, dict):
        pos = doc.position(("vars",))
        raise InputError(located(path, pos.line, pos.column, ("vars",), "expected a mapping of name: var"))
    specs = validate(_VarsBlock, YamlDocument(path, {"vars": block}, doc.positions)).vars
    variables = {name: spec.default for name, spec in specs.items()}
    variables.update(_checked_overrides(specs, overrides or {}, written_at or {}))
    rendered = YamlDocument(doc.path, _render_tree(doc, doc.data, (), variables), doc.positions)
    _refuse_duplicate_ids(rendered)
    baseline = validate(Baseline, rendered)
    return LoadedBaseline(path=path, sha256=digest, baseline=baseline, vars=variables)


@functools.lru_cache(maxsize=32)
def _parsed(path: Path, raw: bytes) -> YamlDocument:
    """A baseline's text parsed once per content and path (a file edited mid-run is parsed again).

    A fleet's targets share a few baselines, and parsing one was about a quarter of a target's
    client CPU (bench/fleet.py). Safe to share between targets and threads: nothing changes the
    parsed tree; rendering and validation build new objects from it.
    """
    return parse_source(raw, path)


def _refuse_duplicate_ids(doc: YamlDocument) -> None:
    """Point at the second use of a check id (the model's own check can only say "somewhere")."""
    seen: dict[str, Loc] = {}
    for check_id, loc in _ids(doc.data.get("rules"), ("rules",)):
        if check_id in seen:
            pos = doc.position((*loc, "id"))
            first = doc.position((*seen[check_id], "id"))
            message = f"check id {check_id} is used twice (first at line {first.line}); ids must be stable and unique"
            raise InputError(located(doc.path, pos.line, pos.column, (*loc, "id"), message))
        seen[check_id] = loc


def _ids(data: Any, loc: Loc) -> Iterable[tuple[str, Loc]]:
    if isinstance(data, dict):
        if isinstance(data.get("id"), str):
            yield data["id"], loc
        for key, value in data.items():
            yield from _ids(value, (*loc, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _ids(value, (*loc, index))


def _checked_overrides(
    specs: Mapping[str, VarSpec], overrides: Mapping[str, Any], written_at: Mapping[str, VarPosition]
) -> dict[str, Any]:
    for name, value in overrides.items():
        if name not in specs:
            close = difflib.get_close_matches(name, list(specs), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(sorted(specs)) or 'none'})"
            problem: str | None = f"this baseline has no var {name!r}{hint}"
        else:
            problem = specs[name].problem(value)
        if problem:
            where = written_at.get(name)
            raise InputError(where.error(problem) if where else located(var_source(name), 1, 1, (name,), problem))
    return dict(overrides)


def _render_tree(doc: YamlDocument, data: Any, loc: Loc, variables: Mapping[str, Any]) -> Any:
    if loc == ("vars",):
        return data  # defaults are data, not templates
    if isinstance(data, dict):
        return {k: _render_tree(doc, v, (*loc, k), variables) for k, v in data.items()}
    if isinstance(data, list):
        return [_render_tree(doc, v, (*loc, i), variables) for i, v in enumerate(data)]
    try:
        return render(data, variables)
    except ExpressionError as exc:
        pos = doc.position(loc)
        raise InputError(located(doc.path, pos.line, pos.column, loc, str(exc))) from None
