"""One exception family for everything a user can get wrong, each carrying a source span.

`NeuralError` is the base; the CLI prints it as `path:line:col: error: message`, the source line
with a caret, then the hint. `NeuralErrors` groups several independent errors found in one pass.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from neural.source import Span


class NeuralError(Exception):
    """A user-facing error: message, optional span and hint, and a short category code."""

    code = "error"

    def __init__(
        self,
        message: str,
        span: Span | None = None,
        *,
        hint: str | None = None,
        code: str | None = None,
        notes: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = hint
        self.notes = tuple(notes)
        if code is not None:
            self.code = code

    def with_span(self, span: Span | None) -> NeuralError:
        """Attach `span` if this error has none yet; returns self."""
        if self.span is None:
            self.span = span
        return self

    def __str__(self) -> str:
        where = f"{self.span}: " if self.span is not None else ""
        return f"{where}{self.message}"

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.code,
            "message": self.message,
            "span": self.span.to_json() if self.span else None,
            "hint": self.hint,
            "notes": list(self.notes),
        }


class NeuralSyntaxError(NeuralError):
    """The text does not follow the grammar."""

    code = "syntax"


class NameResolutionError(NeuralError):
    """An unknown layer, macro, argument, activation, optimizer, loss, metric or reference."""

    code = "name"


class InvalidValueError(NeuralError):
    """A value of the wrong type or outside its allowed range."""

    code = "value"


class ShapeError(NeuralError):
    """A layer receives a tensor whose shape it cannot take."""

    code = "shape"


class BackendError(NeuralError):
    """A target cannot express part of the network (never silently skipped)."""

    code = "backend"


class NeuralErrors(NeuralError):
    """Several independent errors, reported together."""

    code = "errors"

    def __init__(self, errors: Sequence[NeuralError]) -> None:
        flat: list[NeuralError] = []
        for err in errors:
            flat.extend(err.errors if isinstance(err, NeuralErrors) else [err])
        self.errors: tuple[NeuralError, ...] = tuple(flat)
        first = self.errors[0] if self.errors else None
        super().__init__(
            f"{len(self.errors)} errors" if len(self.errors) != 1 else str(first), first.span if first else None
        )


def raise_collected(errors: Sequence[NeuralError]) -> None:
    """Raise nothing for no errors, the error itself for one, a `NeuralErrors` group for several."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise NeuralErrors(errors)


def suggest(name: str, candidates: Iterable[str], *, limit: int = 1) -> list[str]:
    """Near-miss candidates for `name`, closest first (case-insensitive, then fuzzy)."""
    pool = list(dict.fromkeys(candidates))
    lowered: dict[str, str] = {}
    for c in pool:
        lowered.setdefault(c.lower(), c)
    exact_case = lowered.get(name.lower())
    if exact_case is not None and exact_case != name:
        return [exact_case]
    squashed: dict[str, str] = {}
    for c in pool:
        squashed.setdefault(c.lower().replace("_", ""), c)
    squashed_hit = squashed.get(name.lower().replace("_", ""))
    if squashed_hit is not None and squashed_hit != name:
        return [squashed_hit]
    matches = difflib.get_close_matches(name.lower(), list(lowered), n=limit, cutoff=0.6)
    return [lowered[m] for m in matches]


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A `did you mean `X`?` hint, or None when nothing is close."""
    found = suggest(name, candidates)
    return f"did you mean `{found[0]}`?" if found else None


def format_error(err: NeuralError, *, color: bool = False) -> str:
    """Render one error (or a group) the way a compiler does: location, message, source, caret, hint."""
    if isinstance(err, NeuralErrors):
        return "\n".join(format_error(e, color=color) for e in err.errors)
    red, bold, cyan, reset = ("\x1b[31m", "\x1b[1m", "\x1b[36m", "\x1b[0m") if color else ("", "", "", "")
    span = err.span
    where = f"{span.path}:{span.line}:{span.column}: " if span is not None else ""
    lines = [f"{bold}{where}{red}error{reset}{bold}: {err.message}{reset}"]
    if span is not None and span.source is not None:
        text = span.source.line_text(span.line)
        if text or span.line <= 1:
            gutter = str(span.line)
            pad = " " * len(gutter)
            width = (span.end_column - span.column) if span.end_line == span.line else len(text) - span.column + 1
            width = max(1, min(width, max(1, len(text) - span.column + 1)))
            prefix = "".join(ch if ch == "\t" else " " for ch in text[: span.column - 1])
            lines.append(f"{cyan}{gutter} |{reset} {text}")
            lines.append(f"{cyan}{pad} |{reset} {prefix}{red}{'^' * width}{reset}")
    for note in err.notes:
        lines.append(f"  note: {note}")
    if err.hint:
        lines.append(f"  {cyan}hint{reset}: {err.hint}")
    return "\n".join(lines)
