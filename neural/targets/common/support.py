"""The registry of support definitions that generated modules include when their layers need them.

Each entry is plain Python source (no DSL text inside), written once in the target and copied into the
generated module, so the module stays self-contained. An entry names the entries it uses; a module gets
the entries its layers name and everything those use, in the order they were registered. Entries come
from source text registered one by one, or from the top-level definitions of a real (linted and
type-checked) module (`module_helpers`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path


class HelperRegistry:
    """Support definitions by name, in registration order, with the names each one uses."""

    def __init__(self) -> None:
        self.sources: dict[str, str] = {}
        self.requires: dict[str, tuple[str, ...]] = {}

    def add(self, name: str, source: str, requires: Iterable[str] = ()) -> None:
        """Register `source` (surrounding blank lines dropped) as `name`, using the entries `requires`."""
        if name in self.sources:
            raise TypeError(f"two support definitions named {name}")
        self.sources[name] = source.strip("\n")
        self.requires[name] = tuple(requires)

    def wanted(self, names: Iterable[str]) -> set[str]:
        """`names` and every entry they use, directly or not."""
        found: set[str] = set()
        stack = list(names)
        while stack:
            name = stack.pop()
            if name in found:
                continue
            if name not in self.sources:
                raise KeyError(f"no support definition {name!r}")
            found.add(name)
            stack.extend(self.requires[name])
        return found

    def helper_sources(self, names: Iterable[str]) -> list[str]:
        """The sources of `names` and what they use, in registration order, each followed by two blank lines."""
        wanted = self.wanted(names)
        lines: list[str] = []
        for name, source in self.sources.items():
            if name in wanted:
                lines += [source, "", ""]
        return lines


def module_helpers(path: Path, below: str = "") -> HelperRegistry:
    """The top-level functions and classes of the module at `path` (those after the line `below`, when given),
    in file order, each using the others it names."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    start = lines.index(below) + 1 if below else 0
    tree = ast.parse(text)
    nodes = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.lineno > start]
    names = {node.name for node in nodes}
    found = HelperRegistry()
    for node in nodes:
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        assert node.end_lineno is not None
        uses = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in names and n.id != node.name}
        found.add(node.name, "\n".join(lines[first - 1 : node.end_lineno]), sorted(uses))
    return found
