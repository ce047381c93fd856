"""Helpers for tests and tools: analyse one layer or a snippet through the whole pipeline."""

from __future__ import annotations

from neural.api import loads
from neural.layers.base import Shape, fmt_shape
from neural.shapes.engine import NodeShape, ShapedNetwork, infer


def network_source(layers: str, *input_shapes: Shape, layout: str = "channels_last") -> str:
    """A one-network program: inputs named a, b, c ... (or `input` when there is one)."""
    if len(input_shapes) == 1:
        inputs = f"input: {fmt_shape(input_shapes[0])}"
    else:
        names = "abcdefgh"
        inputs = "input { " + " ".join(f"{names[i]}: {fmt_shape(s)}" for i, s in enumerate(input_shapes)) + " }"
    layout_line = f"layout: {layout}\n" if layout != "channels_last" else ""
    return f"network T {{\n{inputs}\n{layout_line}layers:\n{layers}\n}}\n"


def analyse_snippet(layers: str, *input_shapes: Shape, layout: str = "channels_last") -> ShapedNetwork:
    """Resolve and shape-check `layers` (DSL statements) applied to inputs of the given shapes."""
    return infer(loads(network_source(layers, *input_shapes, layout=layout)).network())


def layer_info(layer: str, *input_shapes: Shape, layout: str = "channels_last") -> NodeShape:
    """The last layer of `layer` (one statement, e.g. "Conv2D(32, 3, strides=2)") on the given inputs.

    With several inputs they are named a, b, c ... and passed explicitly: `Add()(a, b)` is added
    automatically when `layer` has no explicit input list.
    """
    if len(input_shapes) > 1 and ")(" not in layer:
        layer = f"{layer}({', '.join('abcdefgh'[: len(input_shapes)])})"
    return analyse_snippet(layer, *input_shapes, layout=layout).layers[-1]
