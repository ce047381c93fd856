"""A hand-written recursive-descent parser for grammar.lark: the fast path for valid files.

It builds exactly the tree the reference (Lark) parser builds, spans included, several times faster, but
it does not explain mistakes: at the first token it cannot use it raises `GiveUp`, and
`neural.syntax.parser` parses the file again with `neural.syntax.reference`, which reports every syntax
error with a position and a hint. Its decisions are the LALR(1) parser's: wherever the grammar lets a
construct go on (`,` after a value, `(` after a name, `*` after a statement), it goes on. The terminals'
regular expressions are read from grammar.lark, so the two parsers split text into the same tokens.
tests/syntax/test_descent.py checks the two parsers agree on every example and on generated programs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import TypeVar

from neural.source import SourceFile, Span
from neural.syntax import ast
from neural.syntax.literals import grammar_terminals, int_value, join_spans, unescape

_END = "$END"
_Item = TypeVar("_Item")
_SINGLE_TOKEN_ATOMS = frozenset(("INT", "FLOAT", "STRING", "NAME"))
_CONTINUATIONS = frozenset(("(", "+", "-", "*", "/", "//", "%"))  # what may follow a token inside one expression
_OPERATORS = r"//|[(){}\[\],:=*@+\-/%;]"


class GiveUp(Exception):
    """The text is not in the language: only the reference parser says what is wrong with it."""


# Tokens in the order Lark tries them (FLOAT before INT); `op` is every operator and bracket.
_KINDS = ("FLOAT", "STRING", "NAME", "INT", "op")


_BLANKS = "[ \\t\\f\\r]*"  # Lark's common.WS less the newline, which only ends a line here


@lru_cache(maxsize=1)
def _rest_of_line_pattern() -> re.Pattern[str]:
    """What may end a line after its last token: blanks, then perhaps a comment."""
    return re.compile(f"{_BLANKS}(?:{grammar_terminals()['COMMENT']})?")


@lru_cache(maxsize=1)
def _token_pattern() -> re.Pattern[str]:
    """Blanks, then one token; group i (1-based) holds a token of kind `_KINDS[i - 1]`."""
    terms = {name: re.sub(r"\((?!\?)", "(?:", regex) for name, regex in grammar_terminals().items()}
    terms["op"] = _OPERATORS
    return re.compile(_BLANKS + "(?:" + "|".join(f"({terms[kind]})" for kind in _KINDS) + ")")


class _Tokens:
    """The token stream as parallel lists: kind (`NAME`, `INT`, `FLOAT`, `STRING` or the operator
    itself), text, 1-based line and column. Two end-of-file tokens close it, so one token of
    look-ahead never runs off the end.

    No terminal spans lines (strings and comments stop at a newline), so the text is scanned line by line.
    """

    __slots__ = ("cols", "kinds", "lines", "texts")

    def __init__(self, text: str) -> None:
        kinds: list[str] = []
        texts: list[str] = []
        lines: list[int] = []
        cols: list[int] = []
        match_at = _token_pattern().match
        rest_of_line = _rest_of_line_pattern().fullmatch
        names = (None, *_KINDS[:-1])
        number = 0
        line = ""
        for number, line in enumerate(text.split("\n"), 1):
            pos = 0
            end = len(line)
            while pos < end:
                match = match_at(line, pos)
                if match is None:
                    if rest_of_line(line, pos) is None:
                        raise GiveUp  # a character no terminal matches
                    break
                group = match.lastindex or 0
                start, pos = match.span(group)
                token = line[start:pos]
                kinds.append(names[group] if group < 5 else token)  # type: ignore[arg-type]
                texts.append(token)
                lines.append(number)
                cols.append(start + 1)
        for _ in range(2):
            kinds.append(_END)
            texts.append("")
            lines.append(number)
            cols.append(len(line) + 1)
        self.kinds, self.texts, self.lines, self.cols = kinds, texts, lines, cols


class _Parser:
    """One parse of one token stream. `pos` is the index of the next token."""

    def __init__(self, source: SourceFile) -> None:
        tokens = _Tokens(source.text)
        self.source = source
        self.kinds = tokens.kinds
        self.texts = tokens.texts
        self.lines = tokens.lines
        self.cols = tokens.cols
        self.pos = 0

    def span(self, i: int) -> Span:
        line = self.lines[i]
        col = self.cols[i]
        return Span(self.source, line, col, line, col + len(self.texts[i]))

    def expect(self, kind: str) -> int:
        i = self.pos
        if self.kinds[i] != kind:
            raise GiveUp
        self.pos = i + 1
        return i

    # --- top level ---

    def module(self) -> tuple[ast.Item, ...]:
        items: list[ast.Item] = []
        kinds = self.kinds
        while True:
            kind = kinds[self.pos]
            if kind == _END:
                return tuple(items)
            if kind == ";":
                self.pos += 1
                continue
            if kind != "NAME":
                raise GiveUp
            items.append(self.item(self.texts[self.pos]))

    def item(self, keyword: str) -> ast.Item:
        keyword_at = self.pos
        self.pos += 1
        if keyword == "network":
            name = self.expect("NAME")
            span = self.span(name)
            return ast.NetworkDecl(self.texts[name], self.braced_body(), span, span)
        if keyword == "define":
            name = self.expect("NAME")
            params = self.params() if self.kinds[self.pos] == "(" else None
            span = self.span(name)
            return ast.DefineDecl(self.texts[name], params, self.braced_body(), span, span)
        if keyword == "research":
            if self.kinds[self.pos] == "NAME":
                name = self.expect("NAME")
                return ast.ResearchDecl(self.texts[name], self.braced_body(), self.span(name))
            return ast.ResearchDecl(None, self.braced_body(), self.span(keyword_at))
        if keyword == "import":
            path = self.expect("STRING")
            span = self.span(path)
            return ast.ImportDecl(unescape(self.texts[path], span), span)
        raise GiveUp

    def params(self) -> tuple[ast.Param, ...]:
        """`(a, b=2,)` of a parametrized `define`."""
        return self.parenthesized_list(self.param)

    def param(self) -> ast.Param:
        name = self.expect("NAME")
        default: ast.Expr | None = None
        if self.kinds[self.pos] == "=":
            self.pos += 1
            default = self.expr()
        return ast.Param(self.texts[name], default, self.span(name))

    def parenthesized_list(self, item: Callable[[], _Item]) -> tuple[_Item, ...]:
        """`(item, ...)`; the current token is the `(`."""
        self.pos += 1
        items = self.separated(item, ")")
        self.expect(")")
        return tuple(items)

    def separated(self, item: Callable[[], _Item], closer: str) -> list[_Item]:
        """`item ("," item)* [","]` or nothing, up to (not including) `closer`."""
        items: list[_Item] = []
        kinds = self.kinds
        while kinds[self.pos] != closer:
            items.append(item())
            if kinds[self.pos] != ",":
                break
            self.pos += 1
        return items

    # --- bodies ---

    def braced_body(self) -> tuple[ast.Entry, ...]:
        self.expect("{")
        entries: list[ast.Entry] = []
        kinds = self.kinds
        while True:
            kind = kinds[self.pos]
            if kind == "}":
                self.pos += 1
                return tuple(entries)
            if kind == ";":
                self.pos += 1
                continue
            if kind != "NAME":
                raise GiveUp
            entries.append(self.entry())

    def entry(self) -> ast.Entry:
        """`layers:` / `layers { }`, `key: value, ...`, or a statement (with `a, b =` targets)."""
        first = self.pos
        following = self.kinds[first + 1]
        if self.texts[first] == "layers":  # the keyword wherever an entry starts
            self.pos = first + 1
            if following == ":":
                self.pos += 1
                return ast.LayersMarker(self.span(first), None)
            if following == "{":
                return ast.LayersMarker(self.span(first), self.braced_body())
            raise GiveUp
        if following == ":":
            return self.keyed(first)
        if following in (",", "="):
            return self.statement(self.targets(first))
        return self.statement(())

    def keyed(self, key: int) -> ast.KeyValue:
        self.pos = key + 2
        values = [self.expr()]
        while self.kinds[self.pos] == ",":
            self.pos += 1
            values.append(self.expr())
        key_span = self.span(key)
        return ast.KeyValue(self.texts[key], tuple(values), join_spans(key_span, values[-1].span), key_span)

    def targets(self, first: int) -> tuple[tuple[str, Span], ...]:
        """`a, b =` before a statement's head."""
        names = [(self.texts[first], self.span(first))]
        self.pos = first + 1
        while self.kinds[self.pos] == ",":
            self.pos += 1
            name = self.expect("NAME")
            names.append((self.texts[name], self.span(name)))
        self.expect("=")
        return tuple(names)

    def statement(self, targets: tuple[tuple[str, Span], ...]) -> ast.Statement:
        kinds = self.kinds
        head = self.expect("NAME")
        head_span = self.span(head)
        args: tuple[ast.Argument, ...] | None = None
        inputs: tuple[ast.InputRef, ...] | None = None
        body: tuple[ast.Entry, ...] | None = None
        repeat: ast.Expr | None = None
        device: ast.Expr | None = None
        end = head_span
        if kinds[self.pos] == "(":
            args = self.call_args()
            if args:
                end = args[-1].span
            if kinds[self.pos] == "(":
                inputs = self.inputs()
        if kinds[self.pos] == "{":
            body = self.braced_body()
        if kinds[self.pos] == "*":
            self.pos += 1
            repeat = self.atom()
            end = repeat.span
        if kinds[self.pos] == "@":
            self.pos += 1
            device = self.atom()
            end = device.span
        start = targets[0][1] if targets else head_span
        return ast.Statement(
            self.texts[head], head_span, args, join_spans(start, end), targets, inputs, body, repeat, device
        )

    def inputs(self) -> tuple[ast.InputRef, ...]:
        """`(a, b[1])` or `([a, b])` after a statement's arguments."""
        self.pos += 1
        closer = ")"
        if self.kinds[self.pos] == "[":
            self.pos += 1
            closer = "]"
        refs = self.separated(self.input_ref, closer)
        self.expect(closer)
        if closer == "]":
            self.expect(")")
        return tuple(refs)

    def input_ref(self) -> ast.InputRef:
        name = self.expect("NAME")
        span = self.span(name)
        if self.kinds[self.pos] != "[":
            return ast.InputRef(self.texts[name], None, span)
        self.pos += 1
        index = self.expect("INT")
        self.expect("]")
        index_span = self.span(index)
        return ast.InputRef(self.texts[name], int_value(self.texts[index], index_span), join_spans(span, index_span))

    # --- expressions ---

    def call_args(self) -> tuple[ast.Argument, ...]:
        return self.parenthesized_list(self.argument)

    def argument(self) -> ast.Argument:
        first = self.pos
        if self.kinds[first] == "NAME" and self.kinds[first + 1] in ("=", ":"):
            self.pos = first + 2
            value = self.expr()
            name_span = self.span(first)
            return ast.Argument(self.texts[first], value, join_spans(name_span, value.span), name_span)
        value = self.expr()
        return ast.Argument(None, value, value.span)

    def expr(self) -> ast.Expr:
        """sum: product (("+" | "-") product)*."""
        kinds = self.kinds
        if kinds[self.pos] in _SINGLE_TOKEN_ATOMS and kinds[self.pos + 1] not in _CONTINUATIONS:
            return self.atom()  # the common case, a lone literal or name, without the descent through product()
        return self.left_associative(self.product, ("+", "-"))

    def product(self) -> ast.Expr:
        """product: unary (("*" | "/" | "//" | "%") unary)*."""
        return self.left_associative(self.unary, ("*", "/", "//", "%"))

    def left_associative(self, operand: Callable[[], ast.Expr], operators: tuple[str, ...]) -> ast.Expr:
        left = operand()
        kinds = self.kinds
        while kinds[self.pos] in operators:
            op = kinds[self.pos]
            self.pos += 1
            right = operand()
            left = ast.BinOp(op, left, right, join_spans(left.span, right.span))
        return left

    def unary(self) -> ast.Expr:
        kind = self.kinds[self.pos]
        if kind == "-":
            minus = self.pos
            self.pos += 1
            operand = self.unary()
            span = join_spans(self.span(minus), operand.span)
            if isinstance(operand, ast.Literal) and isinstance(operand.value, (int, float)):
                return ast.Literal(-operand.value, span)
            return ast.UnaryOp("-", operand, span)
        if kind == "+":
            self.pos += 1
            return self.unary()
        return self.atom()

    def atom(self) -> ast.Expr:
        i = self.pos
        kind = self.kinds[i]
        self.pos = i + 1
        if kind == "INT":
            span = self.span(i)
            return ast.Literal(int_value(self.texts[i], span), span)
        if kind == "NAME":
            if self.kinds[i + 1] != "(":
                return ast.Name(self.texts[i], self.span(i))
            func_span = self.span(i)
            args = self.call_args()
            return ast.Call(self.texts[i], args, join_spans(func_span, args[-1].span if args else func_span), func_span)
        if kind == "FLOAT":
            return ast.Literal(float(self.texts[i].replace("_", "")), self.span(i))
        if kind == "STRING":
            span = self.span(i)
            return ast.Literal(unescape(self.texts[i], span), span)
        if kind == "(":
            return self.parenthesized(i)
        if kind == "[":
            return self.list_expr(i)
        raise GiveUp

    def parenthesized(self, opener: int) -> ast.Expr:
        """`()`, `(x)` (just x), `(x,)`, `(x, y, ...)`."""
        items: list[ast.Expr] = []
        if self.kinds[self.pos] != ")":
            first = self.expr()
            if self.kinds[self.pos] == ")":
                self.pos += 1
                return first
            self.expect(",")
            items = [first, *self.separated(self.expr, ")")]
        closer = self.expect(")")
        return ast.TupleExpr(tuple(items), join_spans(self.span(opener), self.span(closer)))

    def list_expr(self, opener: int) -> ast.ListExpr:
        items = self.separated(self.expr, "]")
        closer = self.expect("]")
        return ast.ListExpr(tuple(items), join_spans(self.span(opener), self.span(closer)))


def parse_module(source: SourceFile) -> ast.Module:
    """The syntax tree of a valid file; `GiveUp` for anything else (`NeuralSyntaxError` for a bad escape)."""
    try:
        return ast.Module(_Parser(source).module(), source.path)
    except RecursionError:
        raise GiveUp from None


def parse_expression(source: SourceFile) -> ast.Expr:
    """A single value expression (`"Adam(learning_rate=1e-3)"`); `GiveUp` if it is not one."""
    try:
        parser = _Parser(source)
        expr = parser.expr()
    except RecursionError:
        raise GiveUp from None
    parser.expect(_END)
    return expr
