"""Source text and positions: every diagnostic points into a `SourceFile` through a `Span`."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple


@dataclass(frozen=True)
class SourceFile:
    """The text of one `.neural` file (or an in-memory string) with a line index for positions."""

    path: str
    text: str = field(repr=False)
    _line_starts: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        starts = [0]
        find = self.text.find
        newline = find("\n")
        while newline >= 0:
            starts.append(newline + 1)
            newline = find("\n", newline + 1)
        object.__setattr__(self, "_line_starts", tuple(starts))

    def line_text(self, line: int) -> str:
        """The text of 1-based `line`, without its newline ('' past the end)."""
        if line < 1 or line > len(self._line_starts):
            return ""
        start = self._line_starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start:] if end < 0 else self.text[start:end]

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    @property
    def display_path(self) -> str:
        return self.path


class Span(NamedTuple):
    """A region of a source file: 1-based start line/column and end line/column (end exclusive).

    A NamedTuple rather than a dataclass because the parser makes one per token and a tuple is built
    three times faster; equality and hashing ignore `source`, as positions are what spans are compared by.
    """

    source: SourceFile | None
    line: int
    column: int
    end_line: int
    end_column: int

    @property
    def path(self) -> str:
        return self.source.path if self.source is not None else "<unknown>"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"

    def __repr__(self) -> str:
        return f"Span(line={self.line}, column={self.column}, end_line={self.end_line}, end_column={self.end_column})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Span) and self[1:] == other[1:]

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self[1:])

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
        }


def read_source(path: str | Path) -> SourceFile:
    """Read a `.neural` file as UTF-8 text.

    Raises `NeuralError` (not OSError/UnicodeError) for missing, binary, non-UTF-8 or empty files.
    """
    from neural.errors import NeuralError

    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise NeuralError(f"no such file: {p}", code="file") from None
    except IsADirectoryError:
        raise NeuralError(f"{p} is a directory, not a .neural file", code="file") from None
    except OSError as exc:
        raise NeuralError(f"cannot read {p}: {exc.strerror or exc}", code="file") from None
    return decode_source(str(p), data)


def decode_source(path: str, data: bytes) -> SourceFile:
    """Decode file bytes, rejecting binary and non-UTF-8 content with a positioned error."""
    from neural.errors import NeuralError

    if b"\x00" in data:
        raise NeuralError(f"{path} looks like a binary file (it contains NUL bytes), not .neural source", code="file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        source = SourceFile(path, data[: exc.start].decode("utf-8", errors="replace"))
        line, col = source.position(len(source.text))
        raise NeuralError(
            f"{path} is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            span=Span(source, line, col, line, col + 1),
            code="file",
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    source = SourceFile(path, text)
    if not text.strip():
        raise NeuralError(
            f"{path} is empty: a .neural file needs at least one `network` block",
            span=Span(source, 1, 1, 1, 1),
            code="file",
            hint="start with: network MyNet { input: (28, 28, 1) layers: Flatten() Dense(10) }",
        )
    return source
