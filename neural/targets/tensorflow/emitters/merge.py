"""TensorFlow emitters: merge layers, Keras' own (they take the list of their inputs)."""

from __future__ import annotations

from neural.targets.tensorflow.emit import EmitContext, LayerCode, Piece, emitter, single

_KERAS = {
    "Add": "layers.Add",
    "Subtract": "layers.Subtract",
    "Multiply": "layers.Multiply",
    "Average": "layers.Average",
    "Maximum": "layers.Maximum",
    "Minimum": "layers.Minimum",
}


@emitter(*_KERAS)
def elementwise(e: EmitContext) -> LayerCode:
    return single(Piece(_KERAS[e.node.kind]))


@emitter("Concatenate")
def concatenate(e: EmitContext) -> LayerCode:
    axis = e.keras_axis(e.config.axis, len(e.in_shape))
    return single(Piece("layers.Concatenate", kwargs={"axis": axis} if axis != len(e.in_shape) else {}))


@emitter("Dot")
def dot(e: EmitContext) -> LayerCode:
    cfg = e.config
    axes = cfg.axes if isinstance(cfg.axes, int) else tuple(cfg.axes)
    kwargs = {"normalize": True} if cfg.normalize else {}
    return single(Piece("layers.Dot", (axes,), kwargs), needs="lang", produces="lang")
