"""Loading a baseline: read YAML with positions, apply vars and ``--var`` overrides, validate."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from compliance.baseline.expressions import ExpressionError, render
from compliance.baseline.model import Baseline
from compliance.errors import InputError
from compliance.facts.collection import CollectionRequest, EventQuery
from compliance.yamlsource import Loc, YamlDocument, dotted, read_yaml, validate


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


def parse_var_overrides(items: Iterable[str]) -> dict[str, Any]:
    """``--var name=value`` (value read as YAML: ``agents=300``, ``receive_connectors=['*']``)."""
    overrides: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise InputError(f"--var {item!r}: expected NAME=VALUE")
        try:
            overrides[name.strip()] = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError as exc:
            # PyYAML's str() spans several lines with a caret drawing; the problem alone fits one line.
            problem = getattr(exc, "problem", None) or type(exc).__name__
            raise InputError(f"--var {item!r}: value is not valid YAML: {problem}") from None
    return overrides


def load_baseline(path: Path, overrides: Mapping[str, Any] | None = None) -> LoadedBaseline:
    doc = read_yaml(path)
    if not isinstance(doc.data, dict):
        raise InputError(f"{path}:1:1: (top level): expected a mapping with apiVersion, kind, metadata, rules")
    defaults = doc.data.get("vars") or {}
    if not isinstance(defaults, dict):
        pos = doc.position(("vars",))
        raise InputError(f"{path}:{pos.line}:{pos.column}: vars: expected a mapping of name: default")
    variables = {**defaults, **_checked_overrides(defaults, overrides or {})}
    rendered = YamlDocument(doc.path, _render_tree(doc, doc.data, (), variables), doc.positions)
    _refuse_duplicate_ids(rendered)
    baseline = validate(Baseline, rendered)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return LoadedBaseline(path=path, sha256=digest, baseline=baseline, vars=variables)


def _refuse_duplicate_ids(doc: YamlDocument) -> None:
    """Point at the second use of a check id (the model's own check can only say "somewhere")."""
    seen: dict[str, Loc] = {}
    for check_id, loc in _ids(doc.data.get("rules"), ("rules",)):
        if check_id in seen:
            pos = doc.position((*loc, "id"))
            first = doc.position((*seen[check_id], "id"))
            raise InputError(
                f"{doc.path}:{pos.line}:{pos.column}: {dotted((*loc, 'id'))}: check id {check_id} "
                f"is used twice (first at line {first.line}); ids must be stable and unique"
            )
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


def _checked_overrides(defaults: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    for name, value in overrides.items():
        if name not in defaults:
            close = difflib.get_close_matches(name, list(defaults), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(sorted(defaults))})"
            raise InputError(f"--var {name}: this baseline has no var {name!r}{hint}")
        expected = defaults[name]
        if expected is not None and not _same_kind(expected, value):
            raise InputError(
                f"--var {name}={value!r}: expected {type(expected).__name__} like the default {expected!r}"
            )
    return dict(overrides)


def _same_kind(default: Any, value: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    return isinstance(value, type(default))


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
        raise InputError(f"{doc.path}:{pos.line}:{pos.column}: {dotted(loc)}: {exc}") from None
