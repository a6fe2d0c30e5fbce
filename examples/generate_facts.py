"""Write the example fact folders (``examples/facts/*/``) from the data in ``examples/source/``.

Run ``python examples/generate_facts.py`` from the repository root. Every file of a folder comes
from the source file of the same name (``GetMailbox.yaml`` -> ``GetMailbox.xml``); ``common.yaml``
holds what they share and ``folders.yaml`` the values that differ between the organizations. A
folder of another Exchange version names an ``overlay:`` subfolder whose files replace the shared
files of the same name for that folder only (``source/exchange2019/``).
The format (typed values, objects, ``${...}`` variables, templates) is described in
``examples/source/README.md``. The CLIXML is written by the package's own writer,
``compliance.facts.clixml_writer``; the output is byte-identical on every run, so ``git diff`` after
a rerun shows only intended changes. The committed XML is what the tests and the lab read.
"""

from __future__ import annotations

import datetime
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

EXAMPLES = Path(__file__).resolve().parent
SOURCE = EXAMPLES / "source"
FACTS = EXAMPLES / "facts"
if sys.path[0] != str(EXAMPLES.parent):
    sys.path.insert(0, str(EXAMPLES.parent))  # this checkout's package, not an installed one

from compliance.facts.clixml_writer import Int, Members, TypedList, write_clixml  # noqa: E402
from compliance.facts.psobject import PSObj  # noqa: E402

_VAR = re.compile(r"\$\{([^}]*)\}")
_OBJECT_KEYS = {"Type", "ToString", "Value", "List", "Props", "MS"}
# ${dn|rdn} and the like: values a template derives from its arguments.
FILTERS: dict[str, Callable[[Any], Any]] = {
    "rdn": lambda dn: dn.split(",", 1)[0],  # CN=EX01
    "cn": lambda dn: dn.split(",", 1)[0].split("=", 1)[1],  # EX01
    "depth": lambda dn: dn.count(","),  # the RDNs below the root
    "utc": lambda when: when.astimezone(datetime.timezone.utc),
}


@dataclass(frozen=True)
class Tagged:
    """``!I64 0``, ``!U32 ${x}``, ``!G ...``, ``!Ref Identity``: a scalar typed once its ``${...}`` are replaced."""

    tag: str
    text: str


class _Loader(yaml.SafeLoader):
    pass


def _tagged(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Tagged:
    return Tagged(node.tag[1:], loader.construct_scalar(node))


for _tag in ("I64", "U32", "By", "Db", "G", "TS", "Ref"):
    _Loader.add_constructor(f"!{_tag}", _tagged)


def _typed(tag: str, value: Any) -> Any:
    if tag == "Db":
        return float(value)
    if tag == "G":
        return uuid.UUID(str(value))
    if tag == "TS":
        return datetime.timedelta(seconds=float(value))
    return Int(int(value), tag)


@dataclass(frozen=True)
class Binding:
    """A variable or a template argument: its data, and the scope its ``${...}`` are resolved in."""

    raw: Any
    scope: dict[str, Binding]


class Resolver:
    """Turns source data into neutral objects (``PSObj``, ``Members``, lists and primitives)."""

    def __init__(self, templates: dict[str, Any], variables: dict[str, Any]) -> None:
        self.templates = templates
        self.scope: dict[str, Binding] = {}
        self.scope.update({name: Binding(raw, self.scope) for name, raw in variables.items()})

    def value(self, node: Any, scope: dict[str, Binding]) -> Any:
        if isinstance(node, str):
            return self.text(node, scope)
        if isinstance(node, Tagged):
            if node.tag == "Ref":
                raise ValueError(f"!Ref {node.text}: only a property's value can be a reference")
            return _typed(node.tag, self.text(node.text, scope))
        if isinstance(node, list):
            return [self.value(item, scope) for item in node]
        if isinstance(node, dict):
            if "use" in node:
                return self.call(node, scope)
            return self.obj(node, scope) if "Type" in node else self.members(node, scope)
        if isinstance(node, datetime.datetime) and node.tzinfo is None:
            raise ValueError(f"{node}: give every example time a time zone")
        return node  # int, bool, None, datetime (a YAML timestamp), float

    def text(self, text: str, scope: dict[str, Binding]) -> Any:
        """``${name}`` alone is that value, whatever its type; inside a longer string, its text."""
        whole = _VAR.fullmatch(text)
        if whole:
            return self.lookup(whole.group(1), scope)
        return _VAR.sub(lambda m: str(self.lookup(m.group(1), scope)), text)

    def lookup(self, expr: str, scope: dict[str, Binding]) -> Any:
        """``name``, ``name.Key`` (a key of a mapping) and ``name|filter``."""
        path, *filters = expr.split("|")
        name, *keys = path.split(".")
        if name not in scope:
            raise KeyError(f"${{{expr}}}: no variable or argument {name!r}")
        result = self.value(scope[name].raw, scope[name].scope)
        for key in keys:
            result = result[key]
        for name in filters:
            result = FILTERS[name](result)
        return result

    def call(self, node: dict[str, Any], scope: dict[str, Binding]) -> Any:
        """``{use: Template, arg: ...}``: the template's data, seeing the variables and its arguments."""
        arguments = {name: Binding(raw, scope) for name, raw in node.items() if name != "use"}
        return self.value(self.templates[node["use"]], {**self.scope, **arguments})

    def obj(self, node: dict[str, Any], scope: dict[str, Binding]) -> Any:
        if set(node) - _OBJECT_KEYS:
            raise ValueError(f"unknown object keys {sorted(set(node) - _OBJECT_KEYS)}")
        types = tuple(_flatten(self.value(node["Type"], scope)))
        if "List" in node:
            return TypedList(self.value(node["List"], scope), types)
        props, notes = self.value(node.get("Props", {}), scope), self.value(node.get("MS", {}), scope)
        if set(props) & set(notes):
            raise ValueError(f"in both Props and MS: {sorted(set(props) & set(notes))}")
        members = Members({**props, **notes}, notes=notes, refs=props.refs | notes.refs)
        to_string = str(self.value(node["ToString"], scope)) if "ToString" in node else None
        return PSObj(types, to_string, members, self.value(node.get("Value"), scope))

    def members(self, node: dict[str, Any], scope: dict[str, Binding]) -> Members:
        """Properties in order. ``+name: <properties>`` splices more in; one already there keeps its place."""
        out: dict[str, Any] = {}
        refs: set[str] = set()
        for key, raw in node.items():
            if isinstance(raw, Tagged) and raw.tag == "Ref":
                out[key] = out[raw.text]  # the very object, written as <Ref> to it
                refs.add(key)
                continue
            part = self.value(raw, scope)
            if not str(key).startswith("+"):
                out[key] = part
                continue
            for name, item in part.items():
                if out.setdefault(name, item) != item:
                    raise ValueError(f"{key}: {name} differs from the value already there")
            refs |= part.refs
        return Members(out, refs=refs)


def _flatten(types: Any) -> Iterator[str]:
    for item in types if isinstance(types, list) else [types]:
        if isinstance(item, list):
            yield from _flatten(item)
        else:
            yield str(item)


def _load(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), _Loader)  # _Loader is a SafeLoader


def _merge(into: dict[str, Any], more: dict[str, Any], what: str) -> None:
    clash = set(into) & set(more)
    if clash:
        raise ValueError(f"{what} defined twice: {sorted(clash)}")
    into.update(more)


def sources(overlay: str | None = None) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """The output files' sources, the templates, and the variables every folder shares.

    ``overlay`` names a subfolder of ``source/`` whose files replace the shared files of the same
    name (their templates and variables too) for one folder: another Exchange version's shapes.
    """
    paths = {path.name: path for path in SOURCE.glob("*.yaml") if path.name != "folders.yaml"}
    if overlay is not None:
        replacing = {path.name: path for path in (SOURCE / overlay).glob("*.yaml")}
        if not replacing or set(replacing) - set(paths):
            raise ValueError(f"overlay {overlay!r}: replaces no file, or one with no shared file {sorted(replacing)}")
        paths.update(replacing)
    files: list[dict[str, Any]] = []
    templates: dict[str, Any] = {}
    variables: dict[str, Any] = {}
    for _name, path in sorted(paths.items()):
        data = _load(path)
        _merge(templates, data.get("templates") or {}, "templates")
        _merge(variables, data.get("vars") or {}, "variables")
        if "file" in data:
            files.append(data)
    return files, templates, variables


FOLDERS: dict[str, dict[str, Any]] = _load(SOURCE / "folders.yaml")


@dataclass(frozen=True)
class Output:
    name: str
    objects: list[Any] | None  # an Export-Clixml file's top-level objects, or
    lines: list[str] | None  # a text file's lines
    deserialized: bool = False


def build(folder: str) -> list[Output]:
    """The files of one example folder, as neutral objects (or lines of text)."""
    values = dict(FOLDERS[folder])
    files, templates, variables = sources(values.pop("overlay", None))
    _merge(variables, values, "variables")
    resolver = Resolver(templates, variables)
    outputs = []
    for spec in files:
        name = resolver.text(spec["file"], resolver.scope)
        if "lines" in spec:
            lines = [f"{key}: {value}" for key, value in resolver.value(spec["lines"], resolver.scope).items()]
            outputs.append(Output(name, None, lines))
        else:
            objects = resolver.value(spec["objects"], resolver.scope)
            outputs.append(Output(name, objects, None, bool(spec.get("deserialized"))))
    return outputs


def write(root: Path = FACTS) -> list[Path]:
    written = []
    for folder in FOLDERS:
        target = root / folder
        target.mkdir(parents=True, exist_ok=True)
        for output in build(folder):
            path = target / output.name
            if output.lines is not None:
                # As the collector's Out-File -Encoding UTF8 writes it on Windows PowerShell: BOM, CRLF.
                path.write_bytes(b"\xef\xbb\xbf" + "".join(f"{line}\r\n" for line in output.lines).encode("utf-8"))
            else:
                # LF line ends, as the real exports are kept in ../shared/fixtures/css-exchange.
                write_clixml(path, output.objects or [], deserialized=output.deserialized, newline="\n")
            written.append(path)
    return written


def main() -> None:
    for path in write():
        print(f"wrote {path.relative_to(EXAMPLES.parent)}")


if __name__ == "__main__":
    main()
