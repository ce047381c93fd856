"""The reference parser: Lark LALR(1) over grammar.lark, the definition of the language.

`neural.syntax.parser` parses with the hand-written `descent` parser and comes here only when that one
gives up (a syntax error): this parser recovers after each unexpected token, so independent mistakes are
reported together, and turns Lark's exceptions into positioned errors a person can act on. The tests use
it as the oracle the descent parser must agree with. Built once per process (and cached on disk by Lark);
callbacks run inline while parsing and return `neural.syntax.ast` nodes (no tree is built).
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any, cast

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from neural.errors import NeuralError, NeuralSyntaxError, raise_collected
from neural.source import SourceFile, Span
from neural.syntax import ast
from neural.syntax.literals import GRAMMAR_PATH, KEYWORDS, int_value, join_spans, unescape


def token_span(source: SourceFile, tok: Token) -> Span:
    return Span(source, tok.line or 1, tok.column or 1, tok.end_line or 1, tok.end_column or 1)


def expr_span(node: Any) -> Span:
    span: Span = node.span
    return span


class _ToAst(Transformer[Token, Any]):
    """Inline LALR callbacks. `source` is set for the duration of one parse (under a lock)."""

    source: SourceFile

    def _span(self, tok: Token) -> Span:
        return token_span(self.source, tok)

    # --- literals and expressions ---
    def int_lit(self, c: list[Token]) -> ast.Literal:
        span = self._span(c[0])
        return ast.Literal(int_value(str(c[0]), span), span)

    def float_lit(self, c: list[Token]) -> ast.Literal:
        return ast.Literal(float(c[0].replace("_", "")), self._span(c[0]))

    def str_lit(self, c: list[Token]) -> ast.Literal:
        span = self._span(c[0])
        return ast.Literal(unescape(str(c[0]), span), span)

    def name(self, c: list[Token]) -> ast.Name:
        return ast.Name(str(c[0]), self._span(c[0]))

    def call(self, c: list[Any]) -> ast.Call:
        func_span = self._span(c[0])
        args, end = c[1]
        return ast.Call(str(c[0]), args, join_spans(func_span, end if end is not None else func_span), func_span)

    def call_args(self, c: list[Any]) -> tuple[tuple[ast.Argument, ...], Span]:
        args = tuple(a for a in c if a is not None)
        end = args[-1].span if args else None
        return args, end  # type: ignore[return-value]

    def arg(self, c: list[Any]) -> ast.Argument:
        return ast.Argument(None, c[0], expr_span(c[0]))

    def named_arg(self, c: list[Any]) -> ast.Argument:
        name_span = self._span(c[0])
        return ast.Argument(str(c[0]), c[1], join_spans(name_span, expr_span(c[1])), name_span)

    def _seq(self, c: list[Any]) -> tuple[Any, ...]:
        return tuple(x for x in c if x is not None)

    def _bracketed(self, c: list[Any]) -> tuple[tuple[Any, ...], Span]:
        """Items and span (brackets included) of `(a, b)` / `[a, b]`; `c` holds the bracket and comma tokens."""
        items = tuple(x for x in c if x is not None and not isinstance(x, Token))
        return items, join_spans(self._span(c[0]), self._span(c[-1]))

    def tuple_lit(self, c: list[Any]) -> ast.TupleExpr:
        return ast.TupleExpr(*self._bracketed(c))

    def list_lit(self, c: list[Any]) -> ast.ListExpr:
        return ast.ListExpr(*self._bracketed(c))

    def _binop(self, op: str, c: list[Any]) -> ast.BinOp:
        return ast.BinOp(op, c[0], c[1], join_spans(expr_span(c[0]), expr_span(c[1])))

    def add(self, c: list[Any]) -> ast.BinOp:
        return self._binop("+", c)

    def sub(self, c: list[Any]) -> ast.BinOp:
        return self._binop("-", c)

    def mul(self, c: list[Any]) -> ast.BinOp:
        return self._binop("*", c)

    def div(self, c: list[Any]) -> ast.BinOp:
        return self._binop("/", c)

    def floordiv(self, c: list[Any]) -> ast.BinOp:
        return self._binop("//", c)

    def mod(self, c: list[Any]) -> ast.BinOp:
        return self._binop("%", c)

    def neg(self, c: list[Any]) -> ast.Expr:
        operand = c[1]
        span = join_spans(self._span(c[0]), expr_span(operand))
        if isinstance(operand, ast.Literal) and isinstance(operand.value, (int, float)):
            return ast.Literal(-operand.value, span)
        return ast.UnaryOp("-", operand, span)

    def pos(self, c: list[Any]) -> ast.Expr:
        return c[0]  # type: ignore[no-any-return]

    # --- body entries ---
    def body(self, c: list[Any]) -> tuple[ast.Entry, ...]:
        return tuple(e for e in c if e is not None and not isinstance(e, Token))

    def layers_section(self, c: list[Any]) -> ast.LayersMarker:
        return ast.LayersMarker(self._span(c[0]), c[1] if len(c) > 1 else None)

    def keyed(self, c: list[Any]) -> ast.KeyValue:
        key_span = self._span(c[0])
        values = tuple(c[1:])
        return ast.KeyValue(str(c[0]), values, join_spans(key_span, expr_span(values[-1])), key_span)

    def targets(self, c: list[Token]) -> tuple[tuple[str, Span], ...]:
        return tuple((str(t), self._span(t)) for t in c)

    def head(self, c: list[Any]) -> tuple[str, Span, tuple[ast.Argument, ...] | None, Span]:
        head_span = self._span(c[0])
        if c[1] is None:
            return str(c[0]), head_span, None, head_span
        args, end = c[1]
        return str(c[0]), head_span, args, end if end is not None else head_span

    def input_ref(self, c: list[Any]) -> ast.InputRef:
        span = self._span(c[0])
        index = int_value(str(c[1]), self._span(c[1])) if c[1] is not None else None
        return ast.InputRef(str(c[0]), index, span if c[1] is None else join_spans(span, self._span(c[1])))

    def inputs(self, c: list[Any]) -> tuple[ast.InputRef, ...]:
        return tuple(r for r in c if r is not None)

    def block(self, c: list[Any]) -> tuple[ast.Entry, ...]:
        return c[0]  # type: ignore[no-any-return]

    def repeat(self, c: list[Any]) -> ast.Expr:
        return c[0]  # type: ignore[no-any-return]

    def device(self, c: list[Any]) -> ast.Expr:
        return c[0]  # type: ignore[no-any-return]

    def statement(self, c: list[Any]) -> ast.Statement:
        targets, head, inputs, body, repeat, device = c
        name, head_span, args, args_end = head
        start = targets[0][1] if targets else head_span
        end = args_end
        for extra in (repeat, device):
            if extra is not None:
                end = expr_span(extra)
        return ast.Statement(
            head=name,
            head_span=head_span,
            args=args,
            span=join_spans(start, end),
            targets=targets or (),
            inputs=inputs,
            body=body,
            repeat=repeat,
            device=device,
        )

    # --- top level ---
    def param(self, c: list[Any]) -> ast.Param:
        return ast.Param(str(c[0]), c[1], self._span(c[0]))

    def params(self, c: list[Any]) -> tuple[ast.Param, ...]:
        return tuple(p for p in c if p is not None)

    def network(self, c: list[Any]) -> ast.NetworkDecl:
        span = self._span(c[1])
        return ast.NetworkDecl(str(c[1]), c[2], span, span)

    def define(self, c: list[Any]) -> ast.DefineDecl:
        span = self._span(c[1])
        return ast.DefineDecl(str(c[1]), c[2], c[3], span, span)

    def research(self, c: list[Any]) -> ast.ResearchDecl:
        name = str(c[1]) if c[1] is not None else None
        return ast.ResearchDecl(name, c[2], self._span(c[1] if c[1] is not None else c[0]))

    def import_stmt(self, c: list[Token]) -> ast.ImportDecl:
        span = self._span(c[1])
        return ast.ImportDecl(unescape(str(c[1]), span), span)

    def start(self, c: list[Any]) -> list[ast.Item]:
        return [i for i in c if i is not None and not isinstance(i, Token)]


_TRANSFORMER = _ToAst()
_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(
        GRAMMAR_PATH.read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        maybe_placeholders=True,
        transformer=_TRANSFORMER,
        start=["start", "expr"],
        cache=True,
    )


MAX_SYNTAX_ERRORS = 20


def parse_source(source: SourceFile) -> ast.Module:
    """Parse one file's text into a `Module`.

    Syntax errors become `NeuralSyntaxError`s with spans. After an unexpected token the parser
    skips it and goes on, so independent mistakes on different lines are reported together.
    """
    found: list[UnexpectedInput] = []

    def recover(exc: UnexpectedInput) -> bool:
        if not isinstance(exc, UnexpectedToken) or exc.token.type == "$END":
            return False
        if not found or found[-1].line != exc.line:
            found.append(exc)
        return len(found) < MAX_SYNTAX_ERRORS

    with _LOCK:
        _TRANSFORMER.source = source
        items: list[ast.Item] = []
        try:
            items = cast(list[ast.Item], _parser().parse(source.text, start="start", on_error=recover))
        except UnexpectedInput as exc:
            if not found or exc.line != found[-1].line:
                found.append(exc)
        except VisitError as exc:
            if isinstance(exc.orig_exc, NeuralError):
                raise exc.orig_exc from None
            raise
    if found:
        raise_collected([syntax_error(source, exc) for exc in found])
    return ast.Module(tuple(items), source.path)


def parse_expression(source: SourceFile) -> ast.Expr:
    """Parse a single value expression (used for compat strings such as `"Adam(learning_rate=1e-3)"`)."""
    with _LOCK:
        _TRANSFORMER.source = source
        try:
            result = cast(ast.Expr, _parser().parse(source.text, start="expr"))
        except UnexpectedInput as exc:
            raise syntax_error(source, exc) from None
        except VisitError as exc:
            if isinstance(exc.orig_exc, NeuralError):
                raise exc.orig_exc from None
            raise
    return result


# --- syntax error messages -------------------------------------------------------------------

_TERMINAL_WORDS = {
    "NAME": "a name",
    "INT": "an integer",
    "FLOAT": "a number",
    "STRING": "a string",
    "LAYERS": "`layers`",
    "LPAR": "`(`",
    "RPAR": "`)`",
    "LBRACE": "`{`",
    "RBRACE": "`}`",
    "LSQB": "`[`",
    "RSQB": "`]`",
    "COMMA": "`,`",
    "COLON": "`:`",
    "SEMICOLON": "`;`",
    "EQUAL": "`=`",
    "STAR": "`*`",
    "AT": "`@`",
    "PLUS": "`+`",
    "MINUS": "`-`",
    "SLASH": "`/`",
    "PERCENT": "`%`",
    "__ANON_0": "`//`",
    "$END": "end of file",
}
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = {v: k for k, v in _OPENERS.items()}


def describe_terminal(name: str) -> str:
    if name.startswith("__ANON") or name.upper() != name:
        return _TERMINAL_WORDS.get(name, f"`{name}`")
    if name in _TERMINAL_WORDS:
        return _TERMINAL_WORDS[name]
    if name.isupper() and name.lower() in KEYWORDS:
        return f"`{name.lower()}`"
    return f"`{name.lower()}`"


def describe_expected(expected: set[str]) -> str:
    words = sorted({describe_terminal(t) for t in expected})
    if len(words) > 6:
        interesting = [w for w in words if w in ("a name", "`}`", "`)`", "a string", "an integer")]
        words = interesting or words[:6]
        return "one of " + ", ".join(words) + ", ..."
    if len(words) == 1:
        return words[0]
    return "one of " + ", ".join(words)


def unbalanced_bracket(source: SourceFile) -> NeuralSyntaxError | None:
    """The first unmatched bracket outside strings and comments, as an error (or None)."""
    stack: list[tuple[str, int]] = []
    text = source.text
    i = 0
    quote: str | None = None
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote or ch == "\n":
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#" or text.startswith("//", i):
            nl = text.find("\n", i)
            i = len(text) if nl < 0 else nl
            continue
        elif ch in _OPENERS:
            stack.append((ch, i))
        elif ch in _CLOSERS:
            if not stack or stack[-1][0] != _CLOSERS[ch]:
                line, col = source.position(i)
                return NeuralSyntaxError(f"unmatched `{ch}`", Span(source, line, col, line, col + 1))
            stack.pop()
        i += 1
    if stack:
        ch, offset = stack[-1]
        line, col = source.position(offset)
        return NeuralSyntaxError(
            f"`{ch}` is never closed", Span(source, line, col, line, col + 1), hint=f"add `{_OPENERS[ch]}`"
        )
    return None


def syntax_error(source: SourceFile, exc: UnexpectedInput) -> NeuralSyntaxError:
    """Turn a Lark exception into a positioned error a person can act on."""
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        bracket = unbalanced_bracket(source)
        if bracket is not None:
            return bracket
        line = max(1, source.text.rstrip().count("\n") + 1)
        col = len(source.line_text(line)) + 1
        expected = describe_expected(set(getattr(exc, "expected", ()) or ()))
        return NeuralSyntaxError(f"unexpected end of file; expected {expected}", Span(source, line, col, line, col))
    if isinstance(exc, UnexpectedCharacters):
        line, col = exc.line, exc.column
        pos = exc.pos_in_stream if exc.pos_in_stream is not None else len(source.text)
        ch = source.text[pos] if pos < len(source.text) else "?"
        span = Span(source, line, col, line, col + 1)
        if ch in "\"'":
            return NeuralSyntaxError("unterminated string", span, hint=f"close it with {ch} on the same line")
        bracket = unbalanced_bracket(source) if ch in _CLOSERS else None
        if bracket is not None:
            return bracket
        return NeuralSyntaxError(f"unexpected character `{ch}`", span)
    assert isinstance(exc, UnexpectedToken)
    tok = exc.token
    span = token_span(source, tok)
    text = str(tok)
    if tok.type in _OPENERS.values() or text in _CLOSERS:
        bracket = unbalanced_bracket(source)
        if bracket is not None:
            return bracket
    hint = None
    if text in KEYWORDS and tok.type != "NAME":
        hint = f"`{text}` is a keyword and cannot be used as a name here"
    expected = describe_expected(set(exc.expected))
    hint = hint or _missing_closer_hint(source, tok, set(exc.expected))
    what = f"`{text}`" if tok.type not in ("STRING",) else f"string {text}"
    if tok.type == "NAME" and "COLON" in exc.expected and "EQUAL" in exc.expected:
        hint = hint or "separate a section key from its value with `:`"
    if text == "=" and source.text[: tok.start_pos or 0].rstrip().endswith("layers"):
        hint = "`layers` is a keyword; choose another name"
    elif text == "=" and "COLON" in exc.expected:
        hint = "use `:` for section keys, e.g. `epochs: 10`"
    if text == ":" and "EQUAL" in exc.expected:
        hint = "use `=` to name a layer output, e.g. `x = Dense(64)`"
    return NeuralSyntaxError(f"unexpected {what}; expected {expected}", span, hint=hint)


def _missing_closer_hint(source: SourceFile, tok: Token, expected: set[str]) -> str | None:
    """When a closing bracket was expected and the token starts a new line, the closer is missing."""
    closers = [c for name, c in (("RPAR", ")"), ("RSQB", "]"), ("RBRACE", "}")) if name in expected]
    line = (tok.line or 1) - 1
    if not closers or tok.column is None or source.line_text(tok.line or 1)[: tok.column - 1].strip():
        return None
    while line >= 1 and (not source.line_text(line).strip() or source.line_text(line).lstrip().startswith("#")):
        line -= 1
    return f"is a `{closers[0]}` missing at the end of line {line}?" if line >= 1 else None
