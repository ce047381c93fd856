"""Layers given as arguments of other layers: `Bidirectional(LSTM(64))`, `TimeDistributed(Dense(10))`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from neural.config.args import ArgTypeError, Config, Custom, bind
from neural.config.values import CallValue, SymbolValue
from neural.errors import did_you_mean
from neural.layers.base import LayerSpec
from neural.source import Span


@dataclass(frozen=True)
class NestedLayer:
    """A configured inner layer (kind + validated config)."""

    kind: str
    config: Config
    span: Span | None = field(default=None, compare=False)

    @property
    def spec(self) -> LayerSpec:
        from neural.layers.registry import get_spec

        return get_spec(self.kind)


def nested_layer_type(what: str, allowed: Callable[[LayerSpec], bool]) -> Custom:
    """An argument type accepting a layer call such as `LSTM(64, return_sequences=true)`.

    `allowed(spec)` decides which kinds fit (e.g. only recurrent layers for Bidirectional).
    Errors inside the inner call carry the inner call's position.
    """

    def convert(value: Any) -> NestedLayer:
        from neural.layers.registry import all_specs, lookup

        if isinstance(value, SymbolValue):
            value = CallValue(value.name, (), (), value.span, value.span)
        if not isinstance(value, CallValue):
            raise ArgTypeError(what)
        spec = lookup(value.func)
        if spec is None or not allowed(spec):
            candidates = [s.kind for s in all_specs() if allowed(s)]
            shown = ", ".join(candidates[:8]) + (", ..." if len(candidates) > 8 else "")
            raise ArgTypeError(what, detail=did_you_mean(value.func, candidates) or f"for example: {shown}")
        config = bind(spec.kind, spec.schema, value.args, value.kwargs, value.span)
        return NestedLayer(spec.kind, spec.check_config(config), value.span)

    return Custom(what, convert)
