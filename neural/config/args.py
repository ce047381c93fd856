"""Declarative argument schemas: names, types, ranges, defaults and aliases, with exact messages.

A schema is a tuple of `Arg`. `bind(owner, schema, positional, named, span)` checks a call against it
and returns an immutable `Config`. Every type is a small object with `convert(value) -> value` that
raises `ArgTypeError` with what it expected; `bind` adds the owner, the argument and the position.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from neural.config.values import CallValue, SymbolValue, describe
from neural.errors import InvalidValueError, NameResolutionError, did_you_mean
from neural.source import Span


class ArgTypeError(Exception):
    """Raised by a type's `convert`; carries what was expected (the received value is added by `bind`)."""

    def __init__(self, expected: str, *, detail: str | None = None) -> None:
        super().__init__(expected)
        self.expected = expected
        self.detail = detail


class ArgType:
    """Base class of argument types."""

    def describe(self) -> str:
        raise NotImplementedError

    def convert(self, value: Any) -> Any:
        raise NotImplementedError


def _as_symbol_text(value: Any) -> Any:
    """Bare names written where a string goes (`activation=relu`) count as that string."""
    return value.name if isinstance(value, SymbolValue) else value


@dataclass(frozen=True)
class Int(ArgType):
    min: int | None = None
    max: int | None = None

    def describe(self) -> str:
        if self.min == 1 and self.max is None:
            return "a positive integer"
        if self.min == 0 and self.max is None:
            return "a non-negative integer"
        if self.min is not None and self.max is not None:
            return f"an integer in [{self.min}, {self.max}]"
        if self.min is not None:
            return f"an integer >= {self.min}"
        return "an integer"

    def convert(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
                raise ArgTypeError(self.describe(), detail=f"write {int(value)} without the decimal point")
            raise ArgTypeError(self.describe())
        if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
            raise ArgTypeError(self.describe())
        return value


@dataclass(frozen=True)
class Float(ArgType):
    min: float | None = None
    max: float | None = None
    min_open: bool = False
    max_open: bool = False

    def describe(self) -> str:
        lo = "(" if self.min_open else "["
        hi = ")" if self.max_open else "]"
        if self.min is not None and self.max is not None:
            return f"a number in {lo}{self.min:g}, {self.max:g}{hi}"
        if self.min is not None:
            return f"a number {'>' if self.min_open else '>='} {self.min:g}"
        if self.max is not None:
            return f"a number {'<' if self.max_open else '<='} {self.max:g}"
        return "a number"

    def convert(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ArgTypeError(self.describe())
        v = float(value)
        if v != v or v in (float("inf"), float("-inf")):
            raise ArgTypeError(self.describe())
        if self.min is not None and (v < self.min or (self.min_open and v == self.min)):
            raise ArgTypeError(self.describe())
        if self.max is not None and (v > self.max or (self.max_open and v == self.max)):
            raise ArgTypeError(self.describe())
        return v


@dataclass(frozen=True)
class Bool(ArgType):
    def describe(self) -> str:
        return "true or false"

    def convert(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ArgTypeError(self.describe())
        return value


@dataclass(frozen=True)
class Str(ArgType):
    """Free text (names, paths, devices); never interpreted as code."""

    what: str = "a string"

    def describe(self) -> str:
        return self.what

    def convert(self, value: Any) -> str:
        if not isinstance(value, str):
            raise ArgTypeError(self.describe())
        return value


@dataclass(frozen=True)
class Choice(ArgType):
    """One of a fixed set of names (case-insensitive); `aliases` map other spellings to a canonical one."""

    options: tuple[str, ...]
    aliases: Mapping[str, str] = field(default_factory=dict)
    what: str = ""

    def describe(self) -> str:
        if self.what:
            return self.what
        shown = ", ".join(f'"{o}"' for o in self.options[:12])
        more = ", ..." if len(self.options) > 12 else ""
        return f"one of {shown}{more}"

    def convert(self, value: Any) -> str:
        value = _as_symbol_text(value)
        if not isinstance(value, str):
            raise ArgTypeError(self.describe())
        key = value.lower()
        for option in self.options:
            if option.lower() == key:
                return option
        for alias, target in self.aliases.items():
            if alias.lower() == key:
                return target
        hint = did_you_mean(value, list(self.options) + list(self.aliases))
        raise ArgTypeError(self.describe(), detail=hint)


@dataclass(frozen=True)
class Optional_(ArgType):
    inner: ArgType

    def describe(self) -> str:
        return f"{self.inner.describe()} or none"

    def convert(self, value: Any) -> Any:
        return None if value is None else self.inner.convert(value)


@dataclass(frozen=True)
class OneOf(ArgType):
    options: tuple[ArgType, ...]

    def describe(self) -> str:
        return " or ".join(o.describe() for o in self.options)

    def convert(self, value: Any) -> Any:
        details = []
        for option in self.options:
            try:
                return option.convert(value)
            except ArgTypeError as exc:
                if exc.detail:
                    details.append(exc.detail)
        raise ArgTypeError(self.describe(), detail=details[0] if details else None)


@dataclass(frozen=True)
class IntTuple(ArgType):
    """An int (repeated `n` times) or a tuple/list of `n` ints, each >= `min`: kernel sizes, strides."""

    n: int
    min: int = 1

    def describe(self) -> str:
        word = {1: "a positive integer", 0: "a non-negative integer"}.get(self.min, f"an integer >= {self.min}")
        if self.n == 1:
            return word
        return f"{word} or a tuple of {self.n} such integers"

    def convert(self, value: Any) -> tuple[int, ...]:
        items = value if isinstance(value, (tuple, list)) else (value,) * self.n
        if len(items) == 1 and self.n > 1 and isinstance(value, (tuple, list)):
            items = tuple(items) * self.n
        if len(items) != self.n:
            raise ArgTypeError(self.describe())
        for v in items:
            if isinstance(v, bool) or not isinstance(v, int) or v < self.min:
                raise ArgTypeError(self.describe())
        return tuple(items)


@dataclass(frozen=True)
class IntSeq(ArgType):
    """A tuple/list of ints (any length >= `min_len`), e.g. a target shape; -1 allowed when `allow_neg1`."""

    min_len: int = 1
    allow_neg1: bool = False

    def describe(self) -> str:
        extra = " (one may be -1)" if self.allow_neg1 else ""
        return f"a tuple of positive integers{extra}"

    def convert(self, value: Any) -> tuple[int, ...]:
        items = value if isinstance(value, (tuple, list)) else (value,)
        if len(items) < self.min_len:
            raise ArgTypeError(self.describe())
        for v in items:
            if isinstance(v, bool) or not isinstance(v, int) or not (v >= 1 or (self.allow_neg1 and v == -1)):
                raise ArgTypeError(self.describe())
        if sum(1 for v in items if v == -1) > 1:
            raise ArgTypeError(self.describe(), detail="only one dimension can be -1")
        return tuple(items)


Pad = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Padding(ArgType):
    """ "valid", "same" (and "causal" for 1-D), an int, a tuple of `n` ints, or `n` (before, after) pairs.

    Normalized to "valid" / "same" / "causal" or a tuple of `n` (before, after) pairs.
    """

    n: int
    causal: bool = False

    def describe(self) -> str:
        words = '"valid", "same"' + (', "causal"' if self.causal else "")
        return f"{words}, an integer, a tuple of {self.n} integers or of {self.n} (before, after) pairs"

    def convert(self, value: Any) -> str | Pad:
        value = _as_symbol_text(value)
        if isinstance(value, str):
            key = value.lower()
            if key in ("valid", "same") or (key == "causal" and self.causal):
                return key
            raise ArgTypeError(self.describe(), detail=did_you_mean(value, ["valid", "same"]))
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 0:
                raise ArgTypeError(self.describe())
            return ((value, value),) * self.n
        if isinstance(value, (tuple, list)) and len(value) == self.n:
            pairs = []
            for item in value:
                if isinstance(item, int) and not isinstance(item, bool) and item >= 0:
                    pairs.append((item, item))
                elif (
                    isinstance(item, (tuple, list))
                    and len(item) == 2
                    and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in item)
                ):
                    pairs.append((item[0], item[1]))
                else:
                    raise ArgTypeError(self.describe())
            return tuple(pairs)
        raise ArgTypeError(self.describe())


@dataclass(frozen=True)
class AnyValue(ArgType):
    what: str = "a value"

    def describe(self) -> str:
        return self.what

    def convert(self, value: Any) -> Any:
        return value


@dataclass(frozen=True)
class Custom(ArgType):
    """A type given by a function (for values that need the registry, such as nested layers)."""

    what: str
    fn: Callable[[Any], Any]

    def describe(self) -> str:
        return self.what

    def convert(self, value: Any) -> Any:
        return self.fn(value)


_REQUIRED = object()


@dataclass(frozen=True)
class Arg:
    """One argument of a schema.

    `positional`: can be given without a name (in schema order). `aliases`: other accepted names,
    e.g. `ff_dim` for `dim_feedforward`. `doc`: one line for docs/layers.md.
    """

    name: str
    type: ArgType
    default: Any = _REQUIRED
    positional: bool = False
    aliases: tuple[str, ...] = ()
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED


class Config(Mapping[str, Any]):
    """An immutable, validated argument set. Read fields as `cfg.units` or `cfg["units"]`."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_values", dict(values))

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Config is immutable")

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Config({self._values!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Config) and self._values == other._values

    def __hash__(self) -> int:
        return hash(tuple(sorted((k, repr(v)) for k, v in self._values.items())))

    def replace(self, **changes: Any) -> Config:
        return Config({**self._values, **changes})


def schema_names(schema: Sequence[Arg]) -> list[str]:
    return [a.name for a in schema] + [alias for a in schema for alias in a.aliases]


def find_arg(schema: Sequence[Arg], name: str) -> Arg | None:
    for arg in schema:
        if arg.name == name or name in arg.aliases:
            return arg
    return None


def convert_value(owner: str, arg: Arg, value: Any, span: Span | None) -> Any:
    """Convert one value for `arg`, raising a positioned `InvalidValueError` naming owner and argument."""
    try:
        return arg.type.convert(value)
    except ArgTypeError as exc:
        raise InvalidValueError(
            f"`{owner}` argument `{arg.name}` expects {exc.expected}; received {describe(value)}",
            span,
            hint=exc.detail,
        ) from None


def bind(
    owner: str,
    schema: Sequence[Arg],
    positional: Sequence[tuple[Any, Span]],
    named: Sequence[tuple[str, Any, Span]],
    span: Span | None,
    *,
    what: str = "argument",
) -> Config:
    """Check positional and named values against `schema` and return the `Config`.

    Errors (all positioned): too many positional values, unknown names (with a suggestion),
    an argument given twice, a missing required argument, a value of the wrong type or range.
    """
    slots = [a for a in schema if a.positional]
    values: dict[str, Any] = {}
    seen_at: dict[str, Span] = {}
    if len(positional) > len(slots):
        extra_value, extra_span = positional[len(slots)]
        names = ", ".join(a.name for a in slots)
        taken = f"{len(slots)} positional {what}s ({names})" if slots else f"no positional {what}s"
        hint = _keyword_hint(schema, slots, extra_value)
        raise InvalidValueError(f"`{owner}` takes {taken}; received {len(positional)}", extra_span, hint=hint)
    for arg, (value, vspan) in zip(slots, positional):
        values[arg.name] = convert_value(owner, arg, value, vspan)
        seen_at[arg.name] = vspan
    for name, value, vspan in named:
        found = find_arg(schema, name)
        if found is None:
            raise NameResolutionError(
                f"`{owner}` has no {what} `{name}`",
                vspan,
                hint=did_you_mean(name, schema_names(schema)) or _known(schema, what),
            )
        if found.name in seen_at:
            raise InvalidValueError(f"`{owner}` {what} `{found.name}` is given twice", vspan)
        values[found.name] = convert_value(owner, found, value, vspan)
        seen_at[found.name] = vspan
    for arg in schema:
        if arg.name not in values:
            if arg.required:
                raise InvalidValueError(
                    f"`{owner}` needs the {what} `{arg.name}`", span, hint=_signature(owner, schema)
                )
            values[arg.name] = arg.default
    return Config(values)


def _known(schema: Sequence[Arg], what: str) -> str | None:
    if not schema:
        return f"it takes no {what}s"
    return f"known {what}s: " + ", ".join(a.name for a in schema)


def _signature(owner: str, schema: Sequence[Arg]) -> str:
    parts = [a.name if a.required else f"{a.name}={describe(a.default)}" for a in schema]
    return f"{owner}({', '.join(parts)})"


def _keyword_hint(schema: Sequence[Arg], slots: Sequence[Arg], value: Any) -> str | None:
    """For one positional value too many, suggest the keyword it was probably meant for."""
    for arg in schema:
        if arg in slots:
            continue
        try:
            arg.type.convert(value)
        except (ArgTypeError, Exception):
            continue
        return f"pass it by name, e.g. `{arg.name}={describe(value)}`"
    return None


def is_call(value: Any, *names: str) -> bool:
    return isinstance(value, CallValue) and (not names or value.func in names)
