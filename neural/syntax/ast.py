"""The syntax tree: immutable records (NamedTuples, cheap to define at start-up), every node with
the `Span` it came from.

Nothing here knows about layers; meaning is given by `neural.resolve`.
"""

from __future__ import annotations

from typing import NamedTuple, Union

from neural.source import Span

# --- expressions -----------------------------------------------------------------------------


class Literal(NamedTuple):
    """An int, float or string literal (booleans and None are names, see `Name`)."""

    value: int | float | str
    span: Span


class Name(NamedTuple):
    """A bare identifier: a macro parameter, `true`/`None`, or a symbolic value such as `Adam`."""

    id: str
    span: Span


class TupleExpr(NamedTuple):
    items: tuple[Expr, ...]
    span: Span


class ListExpr(NamedTuple):
    items: tuple[Expr, ...]
    span: Span


class Argument(NamedTuple):
    """One argument of a call: positional when `name` is None."""

    name: str | None
    value: Expr
    span: Span
    name_span: Span | None = None


class Call(NamedTuple):
    """`func(args...)` in value position: HPO(...), Adam(...), LSTM(...) inside Bidirectional."""

    func: str
    args: tuple[Argument, ...]
    span: Span
    func_span: Span


class BinOp(NamedTuple):
    op: str
    left: Expr
    right: Expr
    span: Span


class UnaryOp(NamedTuple):
    op: str
    operand: Expr
    span: Span


Expr = Union[Literal, Name, TupleExpr, ListExpr, Call, BinOp, UnaryOp]

# --- entries of a body -----------------------------------------------------------------------


class LayersMarker(NamedTuple):
    """`layers:`; statements that follow belong to the layers section."""

    span: Span
    body: tuple[Entry, ...] | None = None


class KeyValue(NamedTuple):
    """`key: value` (or `key: v1, v2` for several inputs)."""

    key: str
    values: tuple[Expr, ...]
    span: Span
    key_span: Span


class InputRef(NamedTuple):
    """A reference to a named tensor, optionally one output of a multi-output layer: `enc[1]`."""

    name: str
    output: int | None  # the `[i]` of `enc[i]`
    span: Span


class Statement(NamedTuple):
    """A layer, macro use or block: `[a, b =] Head(args)[(inputs)] [{ body }] [* n] [@ device]`.

    `args` is None when the head was written without parentheses (`ConvBlock`, `train { ... }`).
    """

    head: str
    head_span: Span
    args: tuple[Argument, ...] | None
    span: Span
    targets: tuple[tuple[str, Span], ...] = ()
    inputs: tuple[InputRef, ...] | None = None
    body: tuple[Entry, ...] | None = None
    repeat: Expr | None = None
    device: Expr | None = None


Entry = Union[LayersMarker, KeyValue, Statement]

# --- top level -------------------------------------------------------------------------------


class Param(NamedTuple):
    name: str
    default: Expr | None
    span: Span


class NetworkDecl(NamedTuple):
    name: str
    body: tuple[Entry, ...]
    span: Span
    name_span: Span


class DefineDecl(NamedTuple):
    name: str
    params: tuple[Param, ...] | None
    body: tuple[Entry, ...]
    span: Span
    name_span: Span


class ResearchDecl(NamedTuple):
    name: str | None
    body: tuple[Entry, ...]
    span: Span


class ImportDecl(NamedTuple):
    path: str
    span: Span


Item = Union[NetworkDecl, DefineDecl, ResearchDecl, ImportDecl]


class Module(NamedTuple):
    """One parsed file."""

    items: tuple[Item, ...]
    path: str
