"""``{{ expression }}`` templates in baselines, evaluated against the baseline's vars.

Only what sizing needs is allowed: var names, integer and string literals, ``+ - * //``,
parentheses, ``max()`` and ``min()``. A value that is one whole template keeps its type
(``"{{ receive_connectors }}"`` stays a list); text around a template makes it a string.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

_TEMPLATE = re.compile(r"\{\{(.*?)\}\}")
_WHOLE = re.compile(r"^\s*\{\{(.*?)\}\}\s*$")
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {"max": max, "min": min}


class ExpressionError(ValueError):
    pass


def evaluate(expression: str, variables: Mapping[str, Any]) -> Any:
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        raise ExpressionError(f"cannot parse expression {expression.strip()!r}") from None
    return _eval(tree.body, variables)


def _eval(node: ast.AST, variables: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | str) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in variables:
            raise ExpressionError(f"unknown var {node.id!r} (known: {', '.join(sorted(variables))})")
        return variables[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left, variables), _eval(node.right, variables)
        if not (isinstance(left, int) and isinstance(right, int)):
            raise ExpressionError("arithmetic needs integers")
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_eval(node.operand, variables)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        return _FUNCTIONS[node.func.id](*(_eval(arg, variables) for arg in node.args))
    raise ExpressionError(f"not allowed in a baseline expression: {ast.unparse(node)!r}")


def render(value: Any, variables: Mapping[str, Any]) -> Any:
    """Render one value: a whole template keeps its type, embedded templates become text."""
    if not isinstance(value, str) or "{{" not in value:
        return value
    whole = _WHOLE.match(value)
    if whole:
        return evaluate(whole.group(1), variables)
    return _TEMPLATE.sub(lambda m: str(evaluate(m.group(1), variables)), value)
