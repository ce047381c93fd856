"""Text -> syntax tree.

Valid files are parsed by the hand-written `descent` parser; when it gives up, the file is parsed again by
the `reference` parser (Lark, from grammar.lark), which reports every syntax error with a position and a
hint. Lark is imported only then, so checking a valid file never loads it.
"""

from __future__ import annotations

from neural.source import SourceFile
from neural.syntax import ast, descent


def parse_source(source: SourceFile) -> ast.Module:
    """Parse one file's text into a `Module`; syntax errors raise `NeuralSyntaxError`s with spans
    (several at once when the mistakes are independent)."""
    try:
        return descent.parse_module(source)
    except descent.GiveUp:
        pass
    from neural.syntax import reference

    return reference.parse_source(source)


def parse_expression(source: SourceFile) -> ast.Expr:
    """Parse a single value expression (used for compat strings such as `"Adam(learning_rate=1e-3)"`)."""
    try:
        return descent.parse_expression(source)
    except descent.GiveUp:
        pass
    from neural.syntax import reference

    return reference.parse_expression(source)
