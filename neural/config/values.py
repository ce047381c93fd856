"""Runtime values of the language after evaluation (before a spec gives them meaning)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from neural.source import Span


@dataclass(frozen=True)
class CallValue:
    """A call written as a value: `Adam(learning_rate=1e-3)`, `LSTM(64)` inside `Bidirectional(...)`.

    `args` holds positional values, `kwargs` named ones, each paired with its span.
    """

    func: str
    args: tuple[tuple[Any, Span], ...]
    kwargs: tuple[tuple[str, Any, Span], ...]
    span: Span = field(compare=False)
    func_span: Span = field(compare=False)


@dataclass(frozen=True)
class SymbolValue:
    """A bare name used as a value that is not a macro parameter: `optimizer: Adam`, `layout: channels_first`."""

    name: str
    span: Span = field(compare=False)

    def __str__(self) -> str:
        return self.name


def describe(value: Any) -> str:
    """A value as the user would have written it, for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, str):
        return repr(value).replace("'", '"') if "'" not in value else repr(value)
    if isinstance(value, tuple):
        inner = ", ".join(describe(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(describe(v) for v in value) + "]"
    if isinstance(value, CallValue):
        parts = [describe(v) for v, _ in value.args] + [f"{k}={describe(v)}" for k, v, _ in value.kwargs]
        return f"{value.func}({', '.join(parts)})"
    if isinstance(value, SymbolValue):
        return value.name
    return str(value)
