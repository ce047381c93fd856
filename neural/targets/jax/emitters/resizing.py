"""JAX emitters: resizing (UpSampling, ZeroPadding, Cropping; 1 to 3 spatial dims), in whatever layout
arrives (these layers work on the spatial axes only).

Nearest upsampling repeats positions (jnp.repeat); linear, bilinear and trilinear upsampling is
jax.image.resize(method="linear"), whose half-pixel rule equals PyTorch's align_corners=False for
integer scales (the edge samples clamp).
"""

from __future__ import annotations

from neural.targets.jax.emit import EmitContext, LayerCode, emitter, lit
from neural.targets.jax.emitters.conv import spatial_rank


@emitter("UpSampling1D", "UpSampling2D", "UpSampling3D")
def upsampling(e: EmitContext) -> LayerCode:
    rank = spatial_rank(e.node.kind)
    axes = e.spatial_axes(rank)
    sizes = tuple(e.config.size)

    def forward(inputs, m):  # type: ignore[no-untyped-def]
        x = inputs[0]
        if e.config.interpolation == "nearest":
            for axis, size in zip(axes, sizes):
                if size != 1:
                    x = f"jnp.repeat({x}, {size!r}, axis={axis!r})"
            return x
        out = e.out_shape if not e.moved(e.layout) else (*e.out_shape[1:], e.out_shape[0])
        dims = [f"{x}.shape[0]"] + [repr(d) if d is not None else f"{x}.shape[{i + 1}]" for i, d in enumerate(out)]
        for axis, size in zip(axes, sizes):
            if size != 1 and out[axis - 1] is None:
                dims[axis] = f"{dims[axis]} * {size!r}"
        return f'jax.image.resize({x}, ({", ".join(dims)}), "linear")'

    return LayerCode(forward=forward)


@emitter("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D")
def zero_padding(e: EmitContext) -> LayerCode:
    rank = spatial_rank(e.node.kind)
    axes = e.spatial_axes(rank)
    widths = [(0, 0)] * (rank + 2)
    for axis, (before, after) in zip(axes, e.config.padding):
        widths[axis] = (int(before), int(after))
    return LayerCode(forward=lambda inputs, m: f"jnp.pad({inputs[0]}, {lit(tuple(widths))})")


@emitter("Cropping1D", "Cropping2D", "Cropping3D")
def cropping(e: EmitContext) -> LayerCode:
    rank = spatial_rank(e.node.kind)
    axes = e.spatial_axes(rank)
    parts = [":"] * (max(axes) + 1)
    for axis, (before, after) in zip(axes, e.config.cropping):
        parts[axis] = f"{before or ''}:{-after if after else ''}"
    index = f"[{', '.join(parts)}]"
    return LayerCode(forward=lambda inputs, m: f"{inputs[0]}{index}")
