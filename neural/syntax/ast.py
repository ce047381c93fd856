"""The syntax tree: plain frozen dataclasses, every node with the `Span` it came from.

Nothing here knows about layers; meaning is given by `neural.resolve`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from neural.source import Span

# --- expressions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    """An int, float or string literal (booleans and None are names, see `Name`)."""

    value: int | float | str
    span: Span


@dataclass(frozen=True)
class Name:
    """A bare identifier: a macro parameter, `true`/`None`, or a symbolic value such as `Adam`."""

    id: str
    span: Span


@dataclass(frozen=True)
class TupleExpr:
    items: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True)
class ListExpr:
    items: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True)
class Argument:
    """One argument of a call: positional when `name` is None."""

    name: str | None
    value: Expr
    span: Span
    name_span: Span | None = None


@dataclass(frozen=True)
class Call:
    """`func(args...)` in value position: HPO(...), Adam(...), LSTM(...) inside Bidirectional."""

    func: str
    args: tuple[Argument, ...]
    span: Span
    func_span: Span


@dataclass(frozen=True)
class BinOp:
    op: str
    left: Expr
    right: Expr
    span: Span


@dataclass(frozen=True)
class UnaryOp:
    op: str
    operand: Expr
    span: Span


Expr = Union[Literal, Name, TupleExpr, ListExpr, Call, BinOp, UnaryOp]

# --- entries of a body -----------------------------------------------------------------------


@dataclass(frozen=True)
class LayersMarker:
    """`layers:`; statements that follow belong to the layers section."""

    span: Span
    body: tuple[Entry, ...] | None = None


@dataclass(frozen=True)
class KeyValue:
    """`key: value` (or `key: v1, v2` for several inputs)."""

    key: str
    values: tuple[Expr, ...]
    span: Span
    key_span: Span


@dataclass(frozen=True)
class InputRef:
    """A reference to a named tensor, optionally one output of a multi-output layer: `enc[1]`."""

    name: str
    index: int | None
    span: Span


@dataclass(frozen=True)
class Statement:
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


@dataclass(frozen=True)
class Param:
    name: str
    default: Expr | None
    span: Span


@dataclass(frozen=True)
class NetworkDecl:
    name: str
    body: tuple[Entry, ...]
    span: Span
    name_span: Span


@dataclass(frozen=True)
class DefineDecl:
    name: str
    params: tuple[Param, ...] | None
    body: tuple[Entry, ...]
    span: Span
    name_span: Span


@dataclass(frozen=True)
class ResearchDecl:
    name: str | None
    body: tuple[Entry, ...]
    span: Span


@dataclass(frozen=True)
class ImportDecl:
    path: str
    span: Span


Item = Union[NetworkDecl, DefineDecl, ResearchDecl, ImportDecl]


@dataclass(frozen=True)
class Module:
    """One parsed file."""

    items: tuple[Item, ...]
    path: str
