"""PyTorch emitters: regularization layers (identity outside training)."""

from __future__ import annotations

from neural.targets.pytorch.emit import EmitContext, LayerCode, call, emitter, lit


@emitter("Dropout")
def dropout(e: EmitContext) -> LayerCode:
    return LayerCode(module=call("nn.Dropout", e.config.rate), forward=lambda inputs, m: f"{m}({inputs[0]})")


@emitter("SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D")
def spatial_dropout(e: EmitContext) -> LayerCode:
    # nn.Dropout1d/2d/3d zero whole channels of (N, C, ...) tensors
    module = {
        "SpatialDropout1D": "nn.Dropout1d",
        "SpatialDropout2D": "nn.Dropout2d",
        "SpatialDropout3D": "nn.Dropout3d",
    }[e.node.kind]
    return LayerCode(module=call(module, e.config.rate), forward=lambda inputs, m: f"{m}({inputs[0]})", needs="torch")


@emitter("AlphaDropout")
def alpha_dropout(e: EmitContext) -> LayerCode:
    return LayerCode(module=call("nn.AlphaDropout", e.config.rate), forward=lambda inputs, m: f"{m}({inputs[0]})")


@emitter("GaussianNoise")
def gaussian_noise(e: EmitContext) -> LayerCode:
    std = e.config.stddev
    return LayerCode(
        forward=lambda inputs, m: f"gaussian_noise({inputs[0]}, {lit(std)}, self.training)", helpers=("gaussian_noise",)
    )


@emitter("GaussianDropout")
def gaussian_dropout(e: EmitContext) -> LayerCode:
    rate = e.config.rate
    return LayerCode(
        forward=lambda inputs, m: f"gaussian_dropout({inputs[0]}, {lit(rate)}, self.training)",
        helpers=("gaussian_dropout",),
    )
