"""JAX emitters: regularization layers (active after model.train(), the identity after model.eval())."""

from __future__ import annotations

from neural.targets.jax.emit import EmitContext, LayerCode, call, emitter, with_rngs


@emitter("Dropout")
def dropout(e: EmitContext) -> LayerCode:
    return LayerCode(
        module=with_rngs(call("nnx.Dropout", e.config.rate)), forward=lambda inputs, m: f"{m}({inputs[0]})"
    )


@emitter("SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D")
def spatial_dropout(e: EmitContext) -> LayerCode:
    """nnx.Dropout with one mask value per sample and channel: the spatial axes share it."""
    rank = int(e.node.kind[-2])
    axes = e.spatial_axes(rank)
    return LayerCode(
        module=with_rngs(call("nnx.Dropout", e.config.rate, broadcast_dims=axes)),
        forward=lambda inputs, m: f"{m}({inputs[0]})",
    )


@emitter("AlphaDropout")
def alpha_dropout(e: EmitContext) -> LayerCode:
    return LayerCode(
        module=with_rngs(call("AlphaDropout", e.config.rate)),
        forward=lambda inputs, m: f"{m}({inputs[0]})",
        helpers=("AlphaDropout",),
    )


@emitter("GaussianNoise")
def gaussian_noise(e: EmitContext) -> LayerCode:
    return LayerCode(
        module=with_rngs(call("GaussianNoise", e.config.stddev)),
        forward=lambda inputs, m: f"{m}({inputs[0]})",
        helpers=("GaussianNoise",),
    )


@emitter("GaussianDropout")
def gaussian_dropout(e: EmitContext) -> LayerCode:
    return LayerCode(
        module=with_rngs(call("GaussianDropout", e.config.rate)),
        forward=lambda inputs, m: f"{m}({inputs[0]})",
        helpers=("GaussianDropout",),
    )
