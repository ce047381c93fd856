"""PyTorch emitters: pooling (windowed max / average, global, adaptive; 1 to 3 spatial dims).

Windowed pooling uses torch.nn's MaxPoolNd / AvgPoolNd on channels-first tensors. torch pads
symmetrically (at most kernel // 2, -inf for max, zeros for average) with the language's ceil-mode
rule, so valid and symmetric explicit padding are the module's own. Otherwise the input is padded first:
- uneven explicit pads: `F.pad` (-inf for max, so padded cells never win; for an average that leaves the
  padding out of the count, the `avg_pool_padded` helper divides by the pooled count of real cells).
  With ceil_mode torch may then add a last window that starts in the after-padding, which the language
  does not count: it is sliced off;
- TensorFlow "same": with stride 1 and odd windows torch's symmetric padding is the same; else
  `same_pad` (with -inf for max) or `avg_pool_same` (padding left out of each average) at run time.
Global pooling is a reduction over the spatial dims of whatever layout arrives; adaptive pooling is
torch's AdaptiveMaxPoolNd / AdaptiveAvgPoolNd (a none entry keeps the axis, as in torch).
"""

from __future__ import annotations

from collections.abc import Callable

from neural.errors import BackendError
from neural.layers.pooling import pool_length
from neural.targets.pytorch.emit import EmitContext, LayerCode, call, emitter, lit
from neural.targets.pytorch.emitters.conv import (
    collapse,
    explicit_pairs,
    pad_expr,
    pad_order,
    spatial_rank,
    torch_slice,
)


def _extra_windows(e: EmitContext, pairs: list[tuple[int, int]]) -> list[int]:
    """Per axis, the windows torch's ceil_mode adds on an input padded by `pairs` beyond the language's count.

    torch drops a last window only when it starts at or after the end of the padded input; the language
    already when it starts in the after-padding."""
    cfg = e.config
    spatial, _ = e.ctx.split(e.in_shape)
    extra = []
    for n, k, s, (before, after) in zip(spatial, cfg.pool_size, cfg.strides, pairs):
        if n is None:
            if not cfg.ceil_mode:
                extra.append(0)
                continue
            raise BackendError(f"{e.node.kind} with ceil_mode and uneven padding needs known spatial dims")
        wanted = pool_length(n, k, s, (before, after), cfg.ceil_mode)
        got = pool_length(n + before + after, k, s, (0, 0), cfg.ceil_mode)
        assert wanted is not None and got is not None
        extra.append(got - wanted)
    return extra


@emitter(*(f"{kind}Pooling{r}D" for kind in ("Max", "Average") for r in (1, 2, 3)))
def pooling(e: EmitContext) -> LayerCode:
    cfg = e.config
    rank = spatial_rank(e.node.kind)
    is_max = e.node.kind.startswith("Max")
    pool, strides = tuple(cfg.pool_size), tuple(cfg.strides)
    kwargs: dict[str, object] = {}
    if strides != pool:
        kwargs["stride"] = collapse(strides)
    padding = cfg.padding
    pairs: list[tuple[int, int]] | None = None
    if padding == "same" and all(s == 1 for s in strides) and all(k % 2 for k in pool):
        padding = tuple((k // 2, k // 2) for k in pool)  # torch's symmetric padding is TensorFlow's split here
    if padding not in ("valid", "same"):
        pairs = explicit_pairs(padding, rank)
        if all(b == a for b, a in pairs):
            if any(b for b, _ in pairs):
                kwargs["padding"] = collapse([b for b, _ in pairs])
            pairs = None
    if cfg.ceil_mode and cfg.padding != "same":
        kwargs["ceil_mode"] = True
    average_over_pad = not is_max and cfg.count_include_pad
    if not is_max and "padding" in kwargs and not average_over_pad:
        kwargs["count_include_pad"] = False
    module = call(f"nn.{'Max' if is_max else 'Avg'}Pool{rank}d", collapse(pool), **kwargs)
    if padding == "same":
        args = f"{lit(pool)}, {lit(strides)}"
        if is_max or average_over_pad:
            same = f"{args}, {lit((1,) * rank)}" + (", value=-math.inf" if is_max else "")
            return _pool_code(module, lambda x, m: f"{m}(same_pad({x}, {same}))", ("same_pad",))
        return _pool_code(module, lambda x, m: f"avg_pool_same({x}, {m}, {args})", ("avg_pool_same",))
    if pairs is None:
        return _pool_code(module, lambda x, m: f"{m}({x})")
    extra = _extra_windows(e, pairs)
    after = torch_slice(rank, [(0, w) for w in extra]) if any(extra) else ""
    if is_max or average_over_pad:
        padded, fill = pairs, "-math.inf" if is_max else ""
        return _pool_code(module, lambda x, m: f"{m}({pad_expr(x, padded, fill)}){after}")
    flat = lit(pad_order(pairs))
    return _pool_code(module, lambda x, m: f"avg_pool_padded({x}, {m}, {flat}){after}", ("avg_pool_padded",))


def _pool_code(module: str, forward: Callable[[str, str], str], helpers: tuple[str, ...] = ()) -> LayerCode:
    """A channels-first pooling module; `forward(x, module)` writes the call."""
    return LayerCode(
        module=module,
        forward=lambda inputs, m: forward(inputs[0], m),
        needs="torch",
        produces="torch",
        helpers=helpers,
    )


@emitter(*(f"Global{kind}Pooling{r}D" for kind in ("Max", "Average") for r in (1, 2, 3)))
def global_pooling(e: EmitContext) -> LayerCode:
    rank = spatial_rank(e.node.kind)
    layout = e.input_layouts[0] if e.input_layouts else "lang"
    first = 1 if e.ctx.channels_last and layout != "torch" else 2
    dims = tuple(range(first, first + rank))
    dim = lit(dims[0] if rank == 1 else dims)
    method = "amax" if "Max" in e.node.kind else "mean"
    keep = ", keepdim=True" if e.config.keepdims else ""
    return LayerCode(forward=lambda inputs, m: f"{inputs[0]}.{method}(dim={dim}{keep})")


@emitter(*(f"Adaptive{kind}Pooling{r}D" for kind in ("Max", "Average") for r in (1, 2, 3)))
def adaptive_pooling(e: EmitContext) -> LayerCode:
    rank = spatial_rank(e.node.kind)
    module = call(f"nn.Adaptive{'Max' if 'Max' in e.node.kind else 'Avg'}Pool{rank}d", collapse(e.config.output_size))
    return LayerCode(module=module, forward=lambda inputs, m: f"{m}({inputs[0]})", needs="torch", produces="torch")
