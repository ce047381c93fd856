"""TensorFlow emitters: regularization layers, Keras' own (identity outside training).

SpatialDropout drops whole channels of channels-last maps; Keras' AlphaDropout, GaussianNoise and
GaussianDropout follow the same formulas as the language (and torch.nn.AlphaDropout).
"""

from __future__ import annotations

from neural.targets.tensorflow.emit import EmitContext, LayerCode, Piece, emitter, single


@emitter("Dropout")
def dropout(e: EmitContext) -> LayerCode:
    return single(Piece("layers.Dropout", (e.config.rate,)))


@emitter("SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D")
def spatial_dropout(e: EmitContext) -> LayerCode:
    return single(Piece(f"layers.{e.node.kind}", (e.config.rate,)), needs="keras", produces="keras")


@emitter("AlphaDropout", "GaussianDropout")
def rate_noise(e: EmitContext) -> LayerCode:
    return single(Piece(f"layers.{e.node.kind}", (e.config.rate,)))


@emitter("GaussianNoise")
def gaussian_noise(e: EmitContext) -> LayerCode:
    return single(Piece("layers.GaussianNoise", (e.config.stddev,)))
