"""The one YAML reader: bounded (size, depth, aliases, values, integers), the YAML 1.2 core schema
only, the line and column of every value kept, and every error one ``FILE:LINE:COL: field:
message`` line. Checking a document against a model is ``compliance.modelerrors.validate``.

Baselines, inventories and ``--var`` values all go through here, so every input error looks the
same and no input can make the reader run long, use much memory or raise anything but
``InputError``. The limits are documented in docs/baselines.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pydantic
import yaml

from compliance.errors import InputError

Loc = tuple[int | str, ...]
M = TypeVar("M", bound=pydantic.BaseModel)
N = TypeVar("N", yaml.SequenceNode, yaml.MappingNode)


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


# Limits on what a YAML file may ask of the reader (docs/baselines.md, "Limits"). Baselines and
# inventories are a few kilobytes; these are far above any real one and far below what would hurt.
MAX_BYTES = 1024 * 1024  # the text of one file
MAX_DEPTH = 64  # nested collections; PyYAML's composer recurses, so this stays far below the recursion limit
MAX_ALIASES = 100  # *alias references in one document
MAX_NODES = 100_000  # values built, every alias expanded where it is used: an alias bomb stops here
INT_LIMIT = 2**63  # |integer| must be below this: Exchange's limits are Int32, Int64 and byte quantities

_CORE = "tag:yaml.org,2002:"
# The YAML 1.2 core schema. PyYAML resolves YAML 1.1, where `on`, `yes` and `2024-01-01` are a bool
# and a date and `1:20` is 80; here they are strings, and only these tags exist.
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_SCALAR_TAGS = {f"{_CORE}null", f"{_CORE}bool", f"{_CORE}int", f"{_CORE}float", f"{_CORE}str"}
# Characters str.splitlines() breaks at: escaped, so that an error is one line whatever a key holds.
_LINE_BREAKS = {c: repr(chr(c))[1:-1] for c in (0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029)}


class _CoreResolver(yaml.resolver.BaseResolver):
    pass


for _tag, _pattern, _first in [
    ("null", _NULL, ["~", "n", "N", ""]),
    ("bool", _BOOL, list("tTfF")),
    ("int", _INT, list("-+0123456789")),
    ("float", _FLOAT, list("-+0123456789.")),
]:
    _CoreResolver.add_implicit_resolver(f"{_CORE}{_tag}", _pattern, _first)


class _LimitError(Exception):
    """A limit was reached while composing; carries where, so the message can be located."""

    def __init__(self, mark: yaml.Mark, loc: Loc, message: str) -> None:
        super().__init__(message)
        self.mark, self.loc, self.message = mark, loc, message


class _Loader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, yaml.composer.Composer, _CoreResolver):
    """PyYAML's composer with a depth, alias and node budget, and the path of the value it is in.

    The two collection methods are PyYAML's own with the budget added: composing is where nesting
    recurses, so the depth is refused here, long before Python's recursion limit."""

    def __init__(self, text: str) -> None:
        yaml.reader.Reader.__init__(self, text)  # refuses non-printable characters here
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _CoreResolver.__init__(self)
        self.loc: list[int | str] = []
        self.nodes = 0
        self.aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self.nodes += 1
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                mark = self._peek().start_mark
                raise _LimitError(mark, tuple(self.loc), f"more than {MAX_ALIASES} aliases")
        if self.nodes > MAX_NODES:
            raise _LimitError(self._peek().start_mark, tuple(self.loc), f"more than {MAX_NODES} values")
        return super().compose_node(parent, index)

    # PyYAML's parser and resolver are untyped in types-PyYAML; these are the calls made here.
    def _peek(self) -> Any:
        return self.peek_event()  # type: ignore[no-untyped-call]

    def _take(self) -> Any:
        return self.get_event()  # type: ignore[no-untyped-call]

    def _resolve(self, kind: type[yaml.Node], implicit: Any) -> str:
        return str(self.resolve(kind, None, implicit))  # type: ignore[no-untyped-call]

    def _start(self, kind: type[N], anchor: Any) -> N:
        """Open a collection: refuse it past the depth limit, else make its node (PyYAML's steps)."""
        start_event = self._take()
        if len(self.loc) >= MAX_DEPTH:
            raise _LimitError(start_event.start_mark, tuple(self.loc), f"nested deeper than {MAX_DEPTH} levels")
        tag = start_event.tag
        if tag is None or tag == "!":
            tag = self._resolve(kind, start_event.implicit)
        node = kind(tag, [], start_event.start_mark, None, flow_style=start_event.flow_style)
        if anchor is not None:
            self.anchors[anchor] = node
        return node

    def compose_sequence_node(self, anchor: Any) -> yaml.SequenceNode:
        node = self._start(yaml.SequenceNode, anchor)
        index = 0
        while not self.check_event(yaml.SequenceEndEvent):
            self.loc.append(index)
            node.value.append(self.compose_node(node, index))
            self.loc.pop()
            index += 1
        node.end_mark = self._take().end_mark
        return node

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:
        node = self._start(yaml.MappingNode, anchor)
        while not self.check_event(yaml.MappingEndEvent):
            item_key = self.compose_node(node, None)
            self.loc.append(item_key.value if isinstance(item_key, yaml.ScalarNode) else "<complex key>")
            item_value = self.compose_node(node, item_key)
            self.loc.pop()
            node.value.append((item_key, item_value))
        node.end_mark = self._take().end_mark
        return node


@dataclass(frozen=True)
class VarPosition:
    """Where a value given for a baseline var was written (an inventory's ``targets[i].vars.NAME``)."""

    path: Path | str
    line: int
    column: int
    loc: Loc

    def error(self, message: str) -> str:
        return located(self.path, self.line, self.column, self.loc, message)


def located(path: Path | str, line: int, column: int, loc: Loc, message: str) -> str:
    """The one error form: ``FILE:LINE:COL: field: message``, always one line."""
    text = f"{path}:{line}:{column}: {dotted(loc) or '(top level)'}: {message}"
    return text.translate(_LINE_BREAKS)


def read_yaml(path: Path, *, max_bytes: int = MAX_BYTES) -> YamlDocument:
    return parse_source(read_source(path, max_bytes=max_bytes), path, max_bytes=max_bytes)


def read_source(path: Path, *, max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes of a YAML file, never more than ``max_bytes`` of them in memory."""
    try:
        with path.open("rb") as stream:
            raw = stream.read(max_bytes + 1)
    except FileNotFoundError:
        raise InputError(located(path, 1, 1, (), "file not found")) from None
    except OSError as exc:
        raise InputError(located(path, 1, 1, (), f"cannot read: {exc.strerror or exc}")) from None
    if len(raw) > max_bytes:
        raise InputError(located(path, 1, 1, (), f"larger than the {max_bytes}-byte limit"))
    return raw


def parse_source(raw: bytes, path: Path, *, max_bytes: int = MAX_BYTES) -> YamlDocument:
    """``raw`` (from ``read_source``) decoded as UTF-8 and parsed; ``path`` names it in errors."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError(located(path, line, column, (), "not UTF-8 text")) from None
    return parse_yaml(text, path, max_bytes=max_bytes)


def parse_yaml(text: str, path: Path | str, root: Loc = (), *, max_bytes: int = MAX_BYTES) -> YamlDocument:
    """Compose ``text`` within the limits and build it by the core schema.

    ``path`` names the source in errors; ``root`` prefixes every field (a ``--var`` value is the
    value of its name). Any failure is an ``InputError`` of one located line."""
    if len(text) > max_bytes:
        raise InputError(located(path, 1, 1, root, f"larger than the {max_bytes}-byte limit"))
    loader: _Loader | None = None
    try:
        loader = _Loader(text)  # the reader refuses non-printable characters here
        node = loader.get_single_node()
    except _LimitError as exc:
        where = exc.mark
        raise InputError(located(path, where.line + 1, where.column + 1, (*root, *exc.loc), exc.message)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or type(exc).__name__
        if problem.startswith("but ") and exc.context:  # "but found another document" needs its start
            problem = f"{exc.context}, {problem}"
        raise InputError(located(path, line, column, (*root, *_where(loader)), f"invalid YAML: {problem}")) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        character = chr(exc.character) if isinstance(exc.character, int) else exc.character
        message = f"invalid YAML: character {character!r} is not allowed"
        raise InputError(located(path, line, column, (*root, *_where(loader)), message)) from None
    except yaml.YAMLError as exc:
        raise InputError(located(path, 1, 1, root, f"invalid YAML: {type(exc).__name__}")) from None
    finally:
        if loader is not None:
            loader.dispose()
    positions: dict[Loc, Position] = {}
    data = _Builder(path, positions).build(node, root) if node is not None else None
    return YamlDocument(Path(path), data, positions)


@dataclass
class _Builder:
    """Nodes to Python values by the core schema, counting every value built (aliases expanded)."""

    path: Path | str
    positions: dict[Loc, Position]
    built: int = 0
    depth: int = 0

    def fail(self, node: yaml.Node, loc: Loc, message: str) -> InputError:
        mark = node.start_mark
        return InputError(located(self.path, mark.line + 1, mark.column + 1, loc, message))

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.built += 1
        if self.built > MAX_NODES:
            raise self.fail(node, loc, f"more than {MAX_NODES} values once aliases are expanded")
        self.positions.setdefault(loc, Position(node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, loc)
        # An alias can make a collection contain itself, so depth is counted here too.
        if self.depth >= MAX_DEPTH:
            raise self.fail(node, loc, f"nested deeper than {MAX_DEPTH} levels once aliases are expanded")
        self.depth += 1
        try:
            if isinstance(node, yaml.SequenceNode) and node.tag == f"{_CORE}seq":
                return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]
            if isinstance(node, yaml.MappingNode) and node.tag == f"{_CORE}map":
                return self.mapping(node, loc)
            raise self.fail(node, loc, _refused(node.tag))
        finally:
            self.depth -= 1

    def mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, loc, "a key must be a plain value, not a list or mapping")
            if key_node.tag not in _SCALAR_TAGS:
                raise self.fail(key_node, loc, _refused(key_node.tag))
            key = key_node.value
            key_loc: Loc = (*loc, key)
            if key in result:
                raise self.fail(key_node, key_loc, "duplicate key")
            result[key] = self.build(value_node, key_loc)
            # Errors about a value point at its key, as an editor's "go to line" expects.
            self.positions[key_loc] = Position(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        return result

    def scalar(self, node: yaml.ScalarNode, loc: Loc) -> Any:
        tag, value = node.tag, node.value
        if tag == f"{_CORE}str":
            return value
        if tag == f"{_CORE}null" and _NULL.match(value):
            return None
        if tag == f"{_CORE}bool" and _BOOL.match(value):
            return value[0] in "tT"
        if tag == f"{_CORE}int" and _INT.match(value):
            return self.integer(node, loc, value)
        if tag == f"{_CORE}float" and _FLOAT.match(value):
            # float() reads "1e3", ".5" and "-inf" but not YAML's ".inf" / ".NaN".
            return float(value.replace(".", "", 1).lower() if value.lower().lstrip("+-") in (".inf", ".nan") else value)
        if tag in _SCALAR_TAGS:
            raise self.fail(node, loc, f"{value!r} is not a valid {_short(tag)}")
        raise self.fail(node, loc, _refused(tag))

    def integer(self, node: yaml.ScalarNode, loc: Loc, text: str) -> int:
        body = text.lstrip("+-")
        # Decimal length is checked on the text: int() refuses over 4300 digits with its own error.
        if body[:2] in ("0x", "0o"):
            number = int(body[2:], 16 if body[1] == "x" else 8)
        else:
            number = int(body) if len(body.lstrip("0")) <= 19 else INT_LIMIT
        if text.startswith("-"):
            number = -number
        if abs(number) < INT_LIMIT:
            return number
        shown = text if len(text) <= 24 else f"{text[:12]}...({len(text)} characters)"
        raise self.fail(node, loc, f"integer {shown} out of range (|n| < 2**63)")


def _where(loader: _Loader | None) -> Loc:
    return tuple(loader.loc) if loader is not None else ()


def _short(tag: str) -> str:
    return f"!!{tag.removeprefix(_CORE)}" if tag.startswith(_CORE) else tag


def _refused(tag: str) -> str:
    return f"tag {_short(tag)} is not allowed (the core schema only: null, bool, int, float, str, seq, map)"


def dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out
