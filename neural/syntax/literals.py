"""What both parsers share: keywords, the terminals of grammar.lark, spans and string literal values.

Lark-free, so that parsing a valid file never imports Lark.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from neural.errors import NeuralSyntaxError
from neural.source import Span

GRAMMAR_PATH = Path(__file__).with_name("grammar.lark")
KEYWORDS = ("network", "define", "research", "import", "layers")

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'"}
_TERMINAL_LINE = re.compile(r"^([A-Z]+)(?:\.\d+)?: /(.*)/$", re.MULTILINE)


@lru_cache(maxsize=1)
def grammar_terminals() -> dict[str, str]:
    """The regular expressions of the grammar's named terminals (NAME, INT, FLOAT, STRING, ...), by name."""
    return dict(_TERMINAL_LINE.findall(GRAMMAR_PATH.read_text(encoding="utf-8")))


def join_spans(first: Span, last: Span) -> Span:
    return Span(first.source, first.line, first.column, last.end_line, last.end_column)


def int_value(text: str, span: Span) -> int:
    """An INT token's value (`1_000` is 1000); Python refuses digit strings over its
    `sys.get_int_max_str_digits()` limit, and so do we, with a position."""
    try:
        return int(text.replace("_", ""))
    except ValueError:
        raise NeuralSyntaxError("integer literal is too long", span) from None


def unescape(raw: str, span: Span) -> str:
    """The value of a quoted string literal; rejects unknown escapes instead of guessing."""
    body = raw[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt in "xu":
            width = 2 if nxt == "x" else 4
            digits = body[i + 2 : i + 2 + width]
            if len(digits) != width or any(c not in "0123456789abcdefABCDEF" for c in digits):
                raise NeuralSyntaxError(f"bad escape `\\{nxt}{digits}` in string", span)
            out.append(chr(int(digits, 16)))
            i += 2 + width
        else:
            raise NeuralSyntaxError(f"unknown escape `\\{nxt}` in string", span, hint="write `\\\\` for a backslash")
    return "".join(out)
