"""Definitions from library.py (and the runner's code) as source text for generated modules.

A generated module copies the top-level definitions its layers name, with every definition of library.py
those use (found by the names they reference), in the order of library.py. The copied code is real,
linted and type-checked Python; nothing in it comes from a .neural file.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from neural.targets.common.support import HelperRegistry, module_helpers

LIBRARY = Path(__file__).with_name("library.py")


@lru_cache(maxsize=1)
def registry() -> HelperRegistry:
    """The top-level functions and classes of library.py, each using the definitions it names."""
    return module_helpers(LIBRARY)


HELPERS = frozenset(registry().sources)


def helper_sources(names: Iterable[str]) -> list[str]:
    """The sources of `names` and of what they use, in library order, each followed by two blank lines."""
    return registry().helper_sources(names)
