"""PyTorch emitters: resizing (UpSampling, ZeroPadding, Cropping; 1 to 3 spatial dims).

UpSampling is nn.Upsample with an integer scale (nearest, or linear / bilinear / trilinear with
align_corners=False, the language's half-pixel rule) and ZeroPadding nn.ZeroPadNd, both on channels-first
tensors. Cropping is a slice of the spatial axes in whatever layout arrives.
"""

from __future__ import annotations

from neural.targets.pytorch.emit import EmitContext, LayerCode, call, emitter
from neural.targets.pytorch.emitters.conv import collapse, pad_order, spatial_rank


@emitter("UpSampling1D", "UpSampling2D", "UpSampling3D")
def upsampling(e: EmitContext) -> LayerCode:
    mode = e.config.interpolation
    extra = {} if mode == "nearest" else {"align_corners": False}
    module = call("nn.Upsample", scale_factor=collapse(e.config.size), mode=mode, **extra)
    return LayerCode(module=module, forward=lambda inputs, m: f"{m}({inputs[0]})", needs="torch", produces="torch")


@emitter("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D")
def zero_padding(e: EmitContext) -> LayerCode:
    rank = spatial_rank(e.node.kind)
    module = call(f"nn.ZeroPad{rank}d", collapse(pad_order([(int(b), int(a)) for b, a in e.config.padding])))
    return LayerCode(module=module, forward=lambda inputs, m: f"{m}({inputs[0]})", needs="torch", produces="torch")


@emitter("Cropping1D", "Cropping2D", "Cropping3D")
def cropping(e: EmitContext) -> LayerCode:
    layout = e.input_layouts[0] if e.input_layouts else "lang"
    leading = 1 if e.ctx.channels_last and layout != "torch" else 2
    parts = [":"] * leading
    for before, after in e.config.cropping:
        parts.append(f"{before or ''}:{-after if after else ''}")
    index = f"[{', '.join(parts)}]"
    return LayerCode(forward=lambda inputs, m: f"{inputs[0]}{index}")
