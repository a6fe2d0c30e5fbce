"""``{{ expression }}`` templates in baselines, evaluated against the baseline's vars.

Only what sizing needs is allowed: var names, integer and string literals, ``+ - * //`` and unary
``-`` on integers, parentheses, ``max()`` and ``min()``. Values are typed (integer, string,
boolean, list of strings) and never mixed. A value that is one whole template keeps its type
(``"{{ receive_connectors }}"`` stays a list); text around a template makes it a string.

An expression is bounded before Python's parser sees it (length, nesting, operators: ``ast.parse``
recurses, and a thousand minus signs were a RecursionError), and every integer it makes is bounded
like the reader's. Every failure is an ``ExpressionError`` of one line, which ``load.py`` locates.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from compliance.baseline.model import inferred_type
from compliance.yamlsource import INT_LIMIT

MAX_LENGTH = 500  # characters in one expression; the sizing formula is 45
MAX_NESTING = 32  # brackets inside one another
MAX_OPERATORS = 64  # operator characters: each one is a level Python's parser may recurse into
MAX_TREE_DEPTH = 2 * MAX_NESTING + MAX_OPERATORS + 2  # what the two allow; _eval recurses this deep

_TEMPLATE = re.compile(r"\{\{(.*?)\}\}")
_WHOLE = re.compile(r"^\s*\{\{((?:(?!\}\}).)*)\}\}\s*$")
_BINARY: dict[type[ast.operator], Callable[[int, int], int]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {"max": max, "min": min}


class ExpressionError(ValueError):
    pass


def evaluate(expression: str, variables: Mapping[str, Any]) -> Any:
    text = expression.strip()
    _check_size(text)
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError):  # ValueError: a NUL character
        raise ExpressionError(f"cannot parse expression {text!r}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError(f"expression too complex for the parser: {_short(text)}") from None
    if _depth(tree.body) > MAX_TREE_DEPTH:  # a second guard; the text limits should make it unreachable
        raise ExpressionError(f"expression nested deeper than {MAX_TREE_DEPTH} levels: {_short(text)}")
    return _eval(tree.body, variables)


def _check_size(text: str) -> None:
    """Bound the expression by its text, before ``ast.parse`` can recurse on it."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
    depth = deepest = operators = 0
    quote = ""
    escaped = False
    for char in text:
        if quote:  # brackets and operators inside a string literal are text
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
            continue
        if char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
        elif char in "+-*/~%@<>=!&|^":
            operators += 1
    if deepest > MAX_NESTING:
        raise ExpressionError(f"expression nested deeper than {MAX_NESTING} brackets: {_short(text)}")
    if operators > MAX_OPERATORS:
        raise ExpressionError(f"expression has more than {MAX_OPERATORS} operators: {_short(text)}")


def _depth(root: ast.AST) -> int:
    deepest, stack = 0, [(root, 1)]
    while stack:  # iterative: the tree is not trusted yet
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack += [(child, level + 1) for child in ast.iter_child_nodes(node)]
    return deepest


def _eval(node: ast.AST, variables: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant) and _kind(node.value) in ("an integer", "a string"):
        return _bounded(node.value)
    if isinstance(node, ast.Name):
        if node.id not in variables:
            raise ExpressionError(f"unknown var {node.id!r} (known: {', '.join(sorted(variables)) or 'none'})")
        value = variables[node.id]
        if _kind(value) is None:
            raise ExpressionError(f"var {node.id!r} is not an integer, string, boolean or list of strings")
        # The readers bound every var already; a caller that builds vars itself is bounded here too.
        return _bounded(value)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left, variables), _eval(node.right, variables)
        symbol = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.FloorDiv: "//"}[type(node.op)]
        if _kind(left) != "an integer" or _kind(right) != "an integer":
            raise ExpressionError(f"{symbol} needs integers, got {_kind(left)} and {_kind(right)}")
        if isinstance(node.op, ast.FloorDiv) and right == 0:
            raise ExpressionError(f"division by zero in {_short(ast.unparse(node))}")
        return _bounded(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        operand = _eval(node.operand, variables)
        if _kind(operand) != "an integer":
            raise ExpressionError(f"unary - needs an integer, got {_kind(operand)}")
        return -operand
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        return _call(node.func.id, [_eval(arg, variables) for arg in node.args])
    raise ExpressionError(f"not allowed in a baseline expression: {_short(ast.unparse(node))}")


def _call(name: str, args: list[Any]) -> Any:
    """``max(a, b, ...)`` of integers or of strings, or ``max(list)`` of a non-empty list."""
    if not args:
        raise ExpressionError(f"{name}() needs at least one value")
    if len(args) == 1:
        [only] = args
        if not isinstance(only, list):
            raise ExpressionError(f"{name}() of one value needs a list, got {_kind(only)}")
        if not only:
            raise ExpressionError(f"{name}() of an empty list")
        return _FUNCTIONS[name](only)
    kinds = sorted({str(_kind(arg)) for arg in args})
    if kinds not in (["an integer"], ["a string"]):
        raise ExpressionError(f"{name}() compares integers or strings, not {' and '.join(kinds)}")
    return _FUNCTIONS[name](args)


_KINDS = {"integer": "an integer", "string": "a string", "boolean": "a boolean", "string_list": "a list"}


def _kind(value: Any) -> str | None:
    """The expression type of a value, as the messages name it; None for anything else."""
    found = inferred_type(value)
    return None if found is None else _KINDS[found]


def _bounded(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= INT_LIMIT:
        raise ExpressionError("integer out of range (|n| < 2**63)")
    return value


def _short(text: str) -> str:
    return repr(text if len(text) <= 60 else f"{text[:57]}...")


def render(value: Any, variables: Mapping[str, Any]) -> Any:
    """Render one value: a whole template keeps its type, embedded templates become text."""
    if not isinstance(value, str) or "{{" not in value:
        return value
    whole = _WHOLE.match(value)
    if whole:
        return evaluate(whole.group(1), variables)
    return _TEMPLATE.sub(lambda m: str(evaluate(m.group(1), variables)), value)
