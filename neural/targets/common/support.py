"""The registry of support definitions that generated modules include when their layers need them.

Each entry is plain Python source (no DSL text inside), written once in the target and copied into the
generated module, so the module stays self-contained. An entry names the entries it uses; a module gets
the entries its layers name and everything those use, in the order they were registered.
"""

from __future__ import annotations

from collections.abc import Iterable


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
