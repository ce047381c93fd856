"""Definitions from library.py (and the runner's code) as source text for generated modules.

A generated module copies the top-level definitions its layers name, with every definition of library.py
those use (found by the names they reference), in the order of library.py. The copied code is real,
linted and type-checked Python; nothing in it comes from a .neural file.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

LIBRARY = Path(__file__).with_name("library.py")


@dataclass(frozen=True)
class Definition:
    name: str
    source: str
    uses: frozenset[str]


@lru_cache(maxsize=1)
def definitions() -> dict[str, Definition]:
    """The top-level functions and classes of library.py by name, in file order."""
    text = LIBRARY.read_text(encoding="utf-8")
    lines = text.splitlines()
    tree = ast.parse(text)
    names = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    found: dict[str, Definition] = {}
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            continue
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        assert node.end_lineno is not None
        source = "\n".join(lines[first - 1 : node.end_lineno])
        uses = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in names and n.id != node.name}
        found[node.name] = Definition(node.name, source, frozenset(uses))
    return found


HELPERS = frozenset(definitions())


def helper_sources(names: Iterable[str]) -> list[str]:
    """The sources of `names` and of what they use, in library order, each followed by two blank lines."""
    table = definitions()
    wanted: set[str] = set()
    stack = list(names)
    while stack:
        name = stack.pop()
        if name in wanted:
            continue
        if name not in table:
            raise KeyError(f"library.py has no definition {name!r}")
        wanted.add(name)
        stack.extend(table[name].uses)
    lines: list[str] = []
    for name, definition in table.items():
        if name in wanted:
            lines += [definition.source, "", ""]
    return lines
