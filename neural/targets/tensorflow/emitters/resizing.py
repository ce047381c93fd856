"""TensorFlow emitters: resizing (UpSampling, ZeroPadding, Cropping; 1 to 3 spatial dims), channels last.

Keras' layers: nearest up-sampling repeats (the language's rule), bilinear up-sampling is TensorFlow's
half-pixel resize (PyTorch's align_corners=False); linear (1-D) and trilinear up-sampling, which Keras
lacks, use the generated `LinearUpSampling`.
"""

from __future__ import annotations

from neural.targets.tensorflow.emit import EmitContext, LayerCode, Piece, emitter, single
from neural.targets.tensorflow.emitters.conv import collapse, pad_value, spatial_rank


@emitter("UpSampling1D", "UpSampling2D", "UpSampling3D")
def upsampling(e: EmitContext) -> LayerCode:
    rank = spatial_rank(e.node.kind)
    size = tuple(e.config.size)
    mode = e.config.interpolation
    if mode in ("linear", "trilinear"):
        return single(
            Piece("LinearUpSampling", (size,)), needs="keras", produces="keras", helpers=("LinearUpSampling",)
        )
    kwargs = {"interpolation": "bilinear"} if mode == "bilinear" else {}
    return single(Piece(f"layers.UpSampling{rank}D", (collapse(size),), kwargs), needs="keras", produces="keras")


@emitter("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D")
def zero_padding(e: EmitContext) -> LayerCode:
    rank = spatial_rank(e.node.kind)
    piece = Piece(f"layers.ZeroPadding{rank}D", (pad_value(e.config.padding),))
    return single(piece, needs="keras", produces="keras")


@emitter("Cropping1D", "Cropping2D", "Cropping3D")
def cropping(e: EmitContext) -> LayerCode:
    rank = spatial_rank(e.node.kind)
    piece = Piece(f"layers.Cropping{rank}D", (pad_value(e.config.cropping),))
    return single(piece, needs="keras", produces="keras")
