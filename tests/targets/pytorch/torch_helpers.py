"""What the PyTorch target tests share: a network of a few layers, with a loss and optimizer unless told not."""

from __future__ import annotations

from catalog import case

from neural.layers.base import Shape
from neural.shapes.engine import ShapedNetwork


def snippet_network(
    layers: str, *shapes: Shape, layout: str = "channels_last", loss: str | None = '"mse"'
) -> ShapedNetwork:
    """`layers` on inputs of the given shapes, as a catalog case (tests/catalog/base.py) builds it."""
    return case(layers, *shapes, layout=layout, loss=loss).network()
