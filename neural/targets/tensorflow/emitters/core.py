"""TensorFlow emitters: core layers (Dense, Output, Identity, Flatten, Reshape, Permute, RepeatVector,
Embedding), all Keras' own except an Embedding with a padding index."""

from __future__ import annotations

from neural.targets.tensorflow.emit import Binding, EmitContext, LayerCode, Piece, emitter, single, transpose
from neural.targets.tensorflow.emitters.common import Fused


@emitter("Dense", "Output")
def dense(e: EmitContext) -> LayerCode:
    cfg = e.config
    fused = Fused(e, "lang")
    kwargs = dict(fused.kwargs)
    if not cfg.use_bias:
        kwargs["use_bias"] = False
    weights = [Binding("weight", "kernel", (transpose(2),))]
    if cfg.use_bias:
        weights.append(Binding("bias", "bias"))
    return LayerCode(
        pieces=(Piece("layers.Dense", (cfg.units,), kwargs), *fused.pieces),
        needs="lang",
        produces="lang",
        helpers=fused.helpers,
        weights=(*weights, *fused.weights),
    )


@emitter("Identity")
def identity(e: EmitContext) -> LayerCode:
    return single(Piece("layers.Identity"))


@emitter("Flatten")
def flatten(e: EmitContext) -> LayerCode:
    return single(Piece("layers.Flatten"), needs="lang", produces="lang")


@emitter("Reshape")
def reshape(e: EmitContext) -> LayerCode:
    return single(Piece("layers.Reshape", (tuple(e.config.target_shape),)), needs="lang", produces="lang")


@emitter("Permute")
def permute(e: EmitContext) -> LayerCode:
    return single(Piece("layers.Permute", (tuple(e.config.dims),)), needs="lang", produces="lang")


@emitter("RepeatVector")
def repeat_vector(e: EmitContext) -> LayerCode:
    return single(Piece("layers.RepeatVector", (e.config.n,)), needs="lang", produces="lang")


@emitter("Embedding")
def embedding(e: EmitContext) -> LayerCode:
    cfg = e.config
    weights = (Binding("weight", "embeddings"),)
    if cfg.padding_idx is None:
        piece = Piece("layers.Embedding", (cfg.input_dim, cfg.output_dim))
        return single(piece, needs="lang", produces="lang", weights=weights)
    piece = Piece("PaddedEmbedding", (cfg.input_dim, cfg.output_dim, cfg.padding_idx))
    return single(piece, needs="lang", produces="lang", weights=weights, helpers=("PaddedEmbedding",))
