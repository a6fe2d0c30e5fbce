"""Third-party readers that check a report the way its consumer reads it.

- JUnit: the XSD that Jenkins' xUnit plugin checks JUnit reports against
  (``tests/fixtures/junit/junit-10.xsd``, MIT, source beside it), read by ``xmlschema``.
- Markdown: markdown-it-py, a CommonMark parser, with GFM tables and strikethrough on, as GitHub
  renders ``$GITHUB_STEP_SUMMARY`` (GitHub's math, ``$...$``, is not in it). A table row that a
  stray ``|`` splits, or a name that turns into HTML or a link, shows up in its tokens.
"""

from __future__ import annotations

import functools
from pathlib import Path

import xmlschema
from markdown_it import MarkdownIt
from markdown_it.token import Token

JUNIT_XSD = Path(__file__).resolve().parents[1] / "fixtures" / "junit" / "junit-10.xsd"


@functools.cache
def junit_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(JUNIT_XSD)


def junit_errors(text: str) -> list[str]:
    """Every way ``text`` breaks the JUnit schema, as ``reason at path`` (empty when it is valid)."""
    return [f"{error.reason} at {error.path}" for error in junit_schema().iter_errors(text)]


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def markdown_tokens(text: str) -> list[Token]:
    """``text`` parsed as CommonMark with the GFM extensions, flattened: inline children follow their parent."""
    flat: list[Token] = []
    for token in _parser().parse(text):
        flat.append(token)
        flat.extend(token.children or ())
    return flat


def markdown_tables(text: str) -> list[list[list[str]]]:
    """Each table of ``text`` as rows of cell texts (the header row first), as a renderer shows them."""
    tables: list[list[list[str]]] = []
    row: list[str] | None = None
    for token in _parser().parse(text):
        if token.type == "table_open":
            tables.append([])
        elif token.type == "tr_open":
            row = []
        elif token.type == "inline" and row is not None:
            row.append("".join(child.content for child in token.children or () if child.type != "softbreak"))
        elif token.type == "tr_close" and row is not None:
            tables[-1].append(row)
            row = None
    return tables
