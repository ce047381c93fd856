"""JAX emitters: pooling (windowed max / average, global, adaptive; 1 to 3 spatial dims).

Windowed pooling is flax's nnx.max_pool / nnx.avg_pool on channels-last feature maps: max pools pad
with -inf, 'SAME' is TensorFlow's rule, explicit (before, after) pairs are passed as they are, and
`count_include_pad` is flax's own switch. PyTorch's ceil_mode adds windows that start inside the
input but run past its padded end: that overhang is more padding after (never counted in an average,
hence the `avg_pool_counted` helper for averages). Global pooling is a reduction over the spatial
axes of whatever layout arrives; adaptive pooling uses PyTorch's bins (`adaptive_pool`).
"""

from __future__ import annotations

from neural.layers.conv import axis_padding
from neural.layers.pooling import pool_length
from neural.targets.jax.emit import EmitContext, LayerCode, emitter, lit
from neural.targets.jax.emitters.conv import spatial_rank


def _pairs(e: EmitContext, rank: int) -> tuple[list[tuple[int, int]], list[int]] | None:
    """Explicit (before, after) pads per axis and the ceil-mode overhang, or None for "same"."""
    cfg = e.config
    if cfg.padding == "same":
        return None
    spatial, _ = e.ctx.split(e.in_shape)
    pads, overhang = [], []
    for i, (n, k, s) in enumerate(zip(spatial, cfg.pool_size, cfg.strides)):
        mode = axis_padding(cfg.padding, i)
        before, after = (0, 0) if mode == "valid" else (int(mode[0]), int(mode[1]))
        extra = 0
        if cfg.ceil_mode:
            if n is None:
                from neural.errors import BackendError

                raise BackendError(f"{e.node.kind} with ceil_mode needs known spatial sizes in the JAX backend")
            length = pool_length(n, k, s, mode, True)
            assert length is not None
            extra = max((length - 1) * s + k - (n + before + after), 0)
        pads.append((before, after))
        overhang.append(extra)
    return pads, overhang


@emitter(*(f"{kind}Pooling{r}D" for kind in ("Max", "Average") for r in (1, 2, 3)))
def pooling(e: EmitContext) -> LayerCode:
    cfg = e.config
    rank = spatial_rank(e.node.kind)
    is_max = e.node.kind.startswith("Max")
    window, strides = lit(tuple(cfg.pool_size)), lit(tuple(cfg.strides))
    found = _pairs(e, rank)
    if found is None:
        padding = lit("SAME")
        extra = "" if is_max or cfg.count_include_pad else ", count_include_pad=False"
        fn = "nnx.max_pool" if is_max else "nnx.avg_pool"
        return _pool_code(lambda x: f"{fn}({x}, {window}, {strides}, {padding}{extra})")
    pads, overhang = found
    total = tuple((b, a + o) for (b, a), o in zip(pads, overhang))
    padded = any(b or a for b, a in total)
    padding = lit(total) if padded else lit("VALID")
    if is_max:
        return _pool_code(lambda x: f"nnx.max_pool({x}, {window}, {strides}, {padding})")
    if not any(overhang) or not padded:
        extra = "" if cfg.count_include_pad or not padded else ", count_include_pad=False"
        return _pool_code(lambda x: f"nnx.avg_pool({x}, {window}, {strides}, {padding}{extra})")
    counted = lit(tuple(pads) if cfg.count_include_pad else ((0, 0),) * rank)
    return _pool_code(
        lambda x: f"avg_pool_counted({x}, {window}, {strides}, {padding}, {counted})", ("avg_pool_counted",)
    )


def _pool_code(forward, helpers: tuple[str, ...] = ()) -> LayerCode:  # type: ignore[no-untyped-def]
    return LayerCode(forward=lambda inputs, m: forward(inputs[0]), needs="flax", produces="flax", helpers=helpers)


@emitter(*(f"Global{kind}Pooling{r}D" for kind in ("Max", "Average") for r in (1, 2, 3)))
def global_pooling(e: EmitContext) -> LayerCode:
    rank = spatial_rank(e.node.kind)
    axes = e.spatial_axes(rank)
    method = "max" if "Max" in e.node.kind else "mean"
    keep = ", keepdims=True" if e.config.keepdims else ""
    return LayerCode(forward=lambda inputs, m: f"{inputs[0]}.{method}(axis={lit(axes)}{keep})")


@emitter(*(f"Adaptive{kind}Pooling{r}D" for kind in ("Max", "Average") for r in (1, 2, 3)))
def adaptive_pooling(e: EmitContext) -> LayerCode:
    rank = spatial_rank(e.node.kind)
    size = lit(tuple(e.config.output_size))
    reduce = lit("max" if "Max" in e.node.kind else "mean")
    axes = lit(e.spatial_axes(rank))
    return LayerCode(
        forward=lambda inputs, m: f"adaptive_pool({inputs[0]}, {size}, {axes}, {reduce})", helpers=("adaptive_pool",)
    )
