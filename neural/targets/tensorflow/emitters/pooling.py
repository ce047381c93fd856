"""TensorFlow emitters: pooling (windowed max / average, global, adaptive; 1 to 3 spatial dims).

Windowed pooling with "valid" or "same" padding is Keras' MaxPoolingND / AveragePoolingND (TensorFlow's
"same" leaves the padding out of maxima and averages, as the language does). Explicit padding, PyTorch's
ceil_mode and averages that count the padding use the generated `PaddedPooling`. Global and adaptive
pooling are Keras' layers, told the data format of whatever arrives (the adaptive windows are PyTorch's),
except adaptive max pooling where Keras' kernel would crash (see `AdaptiveMaxPooling` in library.py).
"""

from __future__ import annotations

from neural.errors import BackendError
from neural.layers.pooling import pool_length
from neural.targets.tensorflow.emit import EmitContext, LayerCode, Piece, emitter, single
from neural.targets.tensorflow.emitters.conv import collapse, explicit_pairs, spatial_rank


def _ceil_changes_nothing(e: EmitContext) -> bool:
    cfg = e.config
    for i, (n, k, s) in enumerate(zip(e.spatial(), cfg.pool_size, cfg.strides or cfg.pool_size)):
        pad = cfg.padding if isinstance(cfg.padding, str) else cfg.padding[i]
        if n is None or pool_length(n, k, s, pad, True) != pool_length(n, k, s, pad, False):
            return False
    return True


@emitter(*(f"{kind}Pooling{r}D" for kind in ("Max", "Average") for r in (1, 2, 3)))
def pooling(e: EmitContext) -> LayerCode:
    cfg = e.config
    rank = spatial_rank(e.node.kind)
    is_max = e.node.kind.startswith("Max")
    pool = tuple(cfg.pool_size)
    strides = tuple(cfg.strides) if cfg.strides is not None else pool
    padding = cfg.padding
    counts_pad = not is_max and bool(cfg.get("count_include_pad")) and padding != "valid"
    ceil = bool(cfg.ceil_mode) and padding != "same" and not _ceil_changes_nothing(e)
    if padding in ("valid", "same") and not counts_pad and not ceil:
        kwargs: dict[str, object] = {}
        if strides != pool:
            kwargs["strides"] = collapse(strides)
        if padding == "same":
            kwargs["padding"] = "same"
        func = f"layers.{'Max' if is_max else 'Average'}Pooling{rank}D"
        return single(Piece(func, (collapse(pool),), kwargs), needs="keras", produces="keras")
    options: dict[str, object] = {}
    if ceil:
        options["ceil_mode"] = True
    if counts_pad:
        options["count_include_pad"] = True
    pads: object = (
        "same"
        if padding == "same"
        else ((0, 0),) * rank
        if padding == "valid"
        else tuple(explicit_pairs(padding, rank))
    )
    piece = Piece("PaddedPooling", ("max" if is_max else "average", pool, strides, pads), options)
    return single(piece, needs="keras", produces="keras", helpers=("PaddedPooling",))


def _data_format(e: EmitContext) -> dict[str, object]:
    return {} if e.ctx.channels_last or e.layout == "keras" else {"data_format": "channels_first"}


@emitter(*(f"Global{kind}Pooling{r}D" for kind in ("Max", "Average") for r in (1, 2, 3)))
def global_pooling(e: EmitContext) -> LayerCode:
    kwargs = _data_format(e)
    if e.config.keepdims:
        kwargs["keepdims"] = True
    return single(Piece(f"layers.{e.node.kind}", kwargs=kwargs))


@emitter(*(f"Adaptive{kind}Pooling{r}D" for kind in ("Max", "Average") for r in (1, 2, 3)))
def adaptive_pooling(e: EmitContext) -> LayerCode:
    sizes, overflows = [], False
    for n, m in zip(e.spatial(), e.config.output_size):
        if n is None:
            raise BackendError(
                f"{e.node.kind} needs known spatial sizes in the TensorFlow backend (Keras computes its windows statically)"
            )
        sizes.append(n if m is None else m)
        overflows = overflows or _keras_window_overflows(n, sizes[-1])
    if overflows and e.node.kind.startswith("AdaptiveMax"):
        piece = Piece("AdaptiveMaxPooling", (tuple(sizes),), _data_format(e))
        return single(piece, helpers=("AdaptiveMaxPooling",))
    return single(Piece(f"layers.{e.node.kind}", (collapse(sizes),), _data_format(e)))


def _keras_window_overflows(n: int, m: int) -> bool:
    """Whether Keras' adaptive pooling of an axis of n positions to m pools a window longer than the axis."""
    return -(-n // m) + 1 > n
