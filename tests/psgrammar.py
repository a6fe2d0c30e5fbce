"""The real PowerShell grammar (tree-sitter-powershell) for the tests of the scripts we hand to Windows.

Both the collector script (tests/facts/test_collector_grammar.py) and the remediation script
(tests/apply/test_ps1_grammar.py) are parsed with it: no ERROR or MISSING node, and then walked.
"""

from __future__ import annotations

from collections.abc import Iterator

import tree_sitter
import tree_sitter_powershell

PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))


def parse(script: str) -> tree_sitter.Node:
    """The script's tree; fails naming where, when the grammar has an ERROR or MISSING node."""
    tree = PARSER.parse(script.encode("utf-8"))
    bad = [n for n in walk(tree.root_node) if n.type == "ERROR" or n.is_error or n.is_missing]
    assert not bad, f"parse errors at {[n.start_point for n in bad]}"
    return tree.root_node


def walk(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    yield node
    for child in node.children:
        yield from walk(child)


def text(node: tree_sitter.Node) -> str:
    return (node.text or b"").decode("utf-8")


def ancestors(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent
