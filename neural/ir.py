"""The intermediate representation: an immutable graph of layer nodes per network.

Produced by `neural.resolve`, consumed by `neural.shapes` and every target. Nothing here refers to
source text except through spans (for messages).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from neural.config.args import Config
from neural.errors import NameResolutionError, did_you_mean
from neural.layers.base import Shape
from neural.source import Span


@dataclass(frozen=True)
class TensorRef:
    """Output `index` of node (or network input) `node`."""

    node: str
    index: int = 0

    def __str__(self) -> str:
        return self.node if self.index == 0 else f"{self.node}[{self.index}]"


@dataclass(frozen=True)
class Node:
    """One layer instance. `name` is unique in its network and a valid Python identifier."""

    name: str
    kind: str
    config: Config
    inputs: tuple[TensorRef, ...]
    span: Span | None = field(compare=False)
    scope: tuple[str, ...] = ()
    device: str | None = None


@dataclass(frozen=True)
class InputSpec:
    """A network input; `shape` excludes the batch axis, `dtype` is "float32" or "int64" (token ids)."""

    name: str
    shape: Shape
    span: Span | None = field(compare=False)
    dtype: str = "float32"


@dataclass(frozen=True)
class Component:
    """A loss, optimizer, schedule, metric or callback: canonical `name` plus validated config."""

    name: str
    config: Config
    span: Span | None = field(compare=False)


@dataclass(frozen=True)
class HpoSpace:
    """A search space: `choice` (options), `range` (low, high, step; inclusive) or `log_range`."""

    type: str
    options: tuple[Any, ...] = ()
    low: float | int | None = None
    high: float | int | None = None
    step: float | int | None = None

    @property
    def is_integer(self) -> bool:
        return self.type == "range" and all(
            isinstance(v, int) and not isinstance(v, bool) for v in (self.low, self.high, self.step or 1)
        )

    def values(self, limit: int = 1000) -> tuple[Any, ...] | None:
        """Every value of a finite space (None when continuous or larger than `limit`)."""
        if self.type == "choice":
            return self.options
        if self.type == "range" and (self.step is not None or self.is_integer):
            assert self.low is not None and self.high is not None
            step = self.step if self.step is not None else 1
            count = round((self.high - self.low) / step + 1e-9) + 1
            if count > limit:
                return None
            if self.is_integer:
                return tuple(int(self.low + i * step) for i in range(count))
            return tuple(round(self.low + i * step, 12) for i in range(count))
        return None

    def bounds(self) -> tuple[Any, ...]:
        if self.type == "choice":
            return (self.options[0], self.options[-1]) if len(self.options) > 1 else self.options
        return (self.low, self.high)

    def default(self) -> Any:
        if self.type == "choice":
            return self.options[0]
        return self.low

    def describe(self) -> str:
        from neural.config.values import describe

        if self.type == "choice":
            return "choice(" + ", ".join(describe(v) for v in self.options) + ")"
        step = f", step={self.step}" if self.step is not None else ""
        return f"{self.type}({self.low}, {self.high}{step})"


@dataclass(frozen=True)
class HpoParam:
    """One hyperparameter: where it is written (`key`, the source site) and what it controls (`label`)."""

    key: str
    label: str
    space: HpoSpace
    span: Span | None = field(compare=False)


@dataclass(frozen=True)
class Network:
    """A resolved network: inputs, nodes in topological order, outputs and its training setup."""

    name: str
    inputs: tuple[InputSpec, ...]
    nodes: tuple[Node, ...]
    outputs: tuple[TensorRef, ...]
    span: Span | None = field(compare=False)
    layout: str = "channels_last"
    loss: Component | None = None
    optimizer: Component | None = None
    metrics: tuple[Component, ...] = ()
    train: Config = field(default_factory=lambda: Config({}))
    execution: Config = field(default_factory=lambda: Config({}))
    hpo: tuple[HpoParam, ...] = ()
    hpo_values: Mapping[str, Any] = field(default_factory=dict, compare=False)
    output_names: tuple[str, ...] = ()

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def input(self, name: str) -> InputSpec:
        for i in self.inputs:
            if i.name == name:
                return i
        raise KeyError(name)

    def consumers(self) -> dict[str, list[str]]:
        """Node or input name -> names of nodes that read it."""
        found: dict[str, list[str]] = {}
        for n in self.nodes:
            for ref in n.inputs:
                found.setdefault(ref.node, []).append(n.name)
        return found


@dataclass(frozen=True)
class Research:
    """A `research` block, kept as nested key/value data for reports."""

    name: str | None
    fields: Mapping[str, Any]
    span: Span | None = field(compare=False)


@dataclass(frozen=True)
class Program:
    """Everything in a file (and what it imports)."""

    networks: tuple[Network, ...]
    research: tuple[Research, ...] = ()
    macros: tuple[str, ...] = ()
    path: str = "<string>"

    def __iter__(self) -> Iterator[Network]:
        return iter(self.networks)

    def network(self, name: str | None = None) -> Network:
        """The named network, or the only/first one when `name` is None."""
        if name is None:
            if not self.networks:
                raise NameResolutionError(f"{self.path} defines no network")
            return self.networks[0]
        for net in self.networks:
            if net.name == name:
                return net
        raise NameResolutionError(
            f"{self.path} has no network `{name}`",
            hint=did_you_mean(name, [n.name for n in self.networks])
            or "networks here: " + ", ".join(n.name for n in self.networks),
        )
