"""A catalog case: DSL statements on inputs of given shapes, in a layout, with a loss for the training step."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from neural.api import analyse, loads
from neural.layers.base import Shape, fmt_shape
from neural.layers.nested import NestedLayer
from neural.shapes.engine import ShapedNetwork
from neural.testing import network_source

OPTIMIZER = "SGD(learning_rate=0.1, momentum=0.9)"


@dataclass(frozen=True)
class Case:
    """`layers` (DSL statements; several inputs are named a, b, c ...) on inputs of `shapes`.

    A shape whose first entry is None is a sequence of open length (the None stands for the batch axis,
    as in the language). `loss` None leaves the network without a loss: no training step is compared.
    """

    layers: str
    shapes: tuple[Shape, ...]
    layout: str = "channels_last"
    loss: str | None = '"mse"'
    family: str = ""
    name: str = ""  # stands for the statements in the id (networks of many statements)

    @property
    def id(self) -> str:
        shapes = " ".join(fmt_shape(s).replace(" ", "") for s in self.shapes)
        layout = " cf" if self.layout == "channels_first" else ""
        loss = "" if self.loss == '"mse"' else f" loss={self.loss}"
        return f"{self.name or self.layers.strip().replace(chr(10), ' | ')} {shapes}{layout}{loss}"

    def source(self) -> str:
        """The program text: the snippet network, with the loss and an optimizer when it has a loss."""
        text = network_source(self.layers, *self.shapes, layout=self.layout)
        if self.loss is None:
            return text
        return text.rstrip().rstrip("}") + f"  loss: {self.loss}\n  optimizer: {OPTIMIZER}\n}}\n"

    def network(self) -> ShapedNetwork:
        return analyse(loads(self.source()).network())


def case(
    layers: str, *shapes: Shape, layout: str = "channels_last", loss: str | None = '"mse"', name: str = ""
) -> Case:
    return Case(layers.strip(), tuple(tuple(s) for s in shapes), layout, loss, name=name)


def channels_first(shape: Shape) -> Shape:
    """The same feature map channels first; a leading None (a sample shape of open length) stays in front."""
    if shape and shape[0] is None:
        return (None, shape[-1], *shape[1:-1])
    return (shape[-1], *shape[:-1])


def both_layouts(layers: str, shape: Shape, name: str = "") -> list[Case]:
    """`layers` on a channels-last feature map and on the same map channels first."""
    return [case(layers, shape, name=name), case(layers, channels_first(shape), layout="channels_first", name=name)]


def after_conv(layer: str, shape: Shape) -> str:
    """`layer` after a 1x1 convolution of its rank, so that the training step checks the gradient through it."""
    rank = len(shape) - 1 - (1 if shape[0] is None else 0)
    return f"Conv{rank}D(3, 1)\n{layer}"


def kinds(kind: str, config: Any) -> Iterator[str]:
    """A kind and the kinds it wraps (TimeDistributed(Conv2D(...)) is both)."""
    yield kind
    inner = config.get("layer")
    if isinstance(inner, NestedLayer):
        yield from kinds(inner.kind, inner.config)


def case_kinds(shaped: ShapedNetwork) -> set[str]:
    return {kind for layer in shaped.layers for kind in kinds(layer.node.kind, layer.node.config)}
