"""TensorFlow emitters: recurrent layers (SimpleRNN, LSTM, GRU, Bidirectional, ConvLSTM2D).

Keras' RNN, Bidirectional and ConvLSTM2D layers. Keras' own SimpleRNN and LSTM cells have one bias
where the language (PyTorch) has two, and its GRU orders the gates z, r, h; so the cells are the
generated `TorchSimpleRNNCell`, `TorchLSTMCell` and `TorchGRUCell`, whose variables are PyTorch's
(weight_ih, weight_hh, bias_ih, bias_hh, gate blocks i, f, g, o and r, z, n). Everything else is
Keras' semantics, which the language follows: go_backwards outputs in processed order, input dropout
with one mask per sequence, Bidirectional's merge modes and state order (forward, then backward).
ConvLSTM2D is Keras' (gates i, f, c, o; the recurrent convolution "same"): only the kernels' layouts
differ.
"""

from __future__ import annotations

from neural.config.args import Config
from neural.errors import BackendError
from neural.layers.nested import NestedLayer
from neural.targets.tensorflow.emit import Binding, Code, EmitContext, LayerCode, Piece, call, emitter, transpose
from neural.targets.tensorflow.emitters.common import activation_value
from neural.targets.tensorflow.emitters.conv import collapse

CELLS = {"SimpleRNN": "TorchSimpleRNNCell", "LSTM": "TorchLSTMCell", "GRU": "TorchGRUCell"}
WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def cell_activation(name: str | None, kind: str) -> tuple[object, tuple[str, ...]]:
    """An activation as a Keras cell's `activation=` value."""
    if name in ("softmax", "log_softmax"):
        return name, ()
    if name == "prelu":
        raise BackendError(f"{kind} cannot use prelu (a learned slope) as its activation")
    value, helpers = activation_value(name)
    return ("linear" if value is None else value), helpers


def cell_expr(kind: str, cfg: Config) -> tuple[str, tuple[str, ...]]:
    """The cell constructor of one recurrent layer and the helpers it needs."""
    kwargs: dict[str, object] = {}
    helpers: tuple[str, ...] = (CELLS[kind],)
    activation, extra = cell_activation(cfg.activation, kind)
    helpers += extra
    if activation != "tanh":
        kwargs["activation"] = activation
    if kind != "SimpleRNN" and cfg.recurrent_activation != "sigmoid":
        value, extra = cell_activation(cfg.recurrent_activation, kind)
        kwargs["recurrent_activation"] = value
        helpers += extra
    if not cfg.use_bias:
        kwargs["use_bias"] = False
    if cfg.dropout:
        kwargs["dropout"] = cfg.dropout
    return call(CELLS[kind], cfg.units, **kwargs), helpers


def rnn_kwargs(cfg: Config, *, backwards: bool | None = None) -> dict[str, object]:
    found: dict[str, object] = {}
    for name in ("return_sequences", "return_state"):
        if cfg[name]:
            found[name] = True
    go_backwards = cfg.go_backwards if backwards is None else backwards
    if go_backwards:
        found["go_backwards"] = True
    return found


def _bindings(cfg: Config, prefix: str, suffix: str = "") -> tuple[Binding, ...]:
    names = WEIGHTS if cfg.use_bias else WEIGHTS[:2]
    return tuple(Binding(f"{name}_l0{suffix}", f"{prefix}cell.{name}") for name in names)


@emitter("SimpleRNN", "LSTM", "GRU")
def recurrent(e: EmitContext) -> LayerCode:
    cfg = e.config
    cell, helpers = cell_expr(e.node.kind, cfg)
    piece = Piece("layers.RNN", (Code(cell),), rnn_kwargs(cfg))
    return LayerCode(pieces=(piece,), needs="lang", produces="lang", helpers=helpers, weights=_bindings(cfg, ""))


@emitter("Bidirectional")
def bidirectional(e: EmitContext) -> LayerCode:
    inner: NestedLayer = e.config.layer
    cfg = inner.config
    cell, helpers = cell_expr(inner.kind, cfg)
    forward = call("layers.RNN", Code(cell), **rnn_kwargs(cfg))
    backward = call("layers.RNN", Code(cell), **rnn_kwargs(cfg, backwards=not cfg.go_backwards))
    kwargs: dict[str, object] = {"backward_layer": Code(backward)}
    if e.config.merge_mode != "concat":
        kwargs["merge_mode"] = e.config.merge_mode
    piece = Piece("layers.Bidirectional", (Code(forward),), kwargs)
    weights = (*_bindings(cfg, "forward_layer."), *_bindings(cfg, "backward_layer.", "_reverse"))
    return LayerCode(pieces=(piece,), needs="lang", produces="lang", helpers=helpers, weights=weights)


@emitter("ConvLSTM2D")
def conv_lstm2d(e: EmitContext) -> LayerCode:
    cfg = e.config
    if any(s > 1 for s in cfg.strides) and any(d > 1 for d in cfg.dilation_rate):
        raise BackendError("Keras' ConvLSTM2D takes strides or a dilation, not both")
    kwargs: dict[str, object] = {}
    if any(s != 1 for s in cfg.strides):
        kwargs["strides"] = collapse(cfg.strides)
    if cfg.padding != "valid":
        kwargs["padding"] = cfg.padding
    if any(d != 1 for d in cfg.dilation_rate):
        kwargs["dilation_rate"] = collapse(cfg.dilation_rate)
    helpers: tuple[str, ...] = ()
    for arg, default in (("activation", "tanh"), ("recurrent_activation", "sigmoid")):
        if cfg[arg] != default:
            value, extra = cell_activation(cfg[arg], "ConvLSTM2D")
            kwargs[arg] = value
            helpers += extra
    if not cfg.use_bias:
        kwargs["use_bias"] = False
    kwargs.update(rnn_kwargs(cfg))
    if cfg.dropout:
        kwargs["dropout"] = cfg.dropout
    main = Piece("layers.ConvLSTM2D", (cfg.filters, collapse(cfg.kernel_size)), kwargs)
    weights = (
        Binding("weight_ih", "cell.kernel", (transpose(4),)),
        Binding("weight_hh", "cell.recurrent_kernel", (transpose(4),)),
        *((Binding("bias", "cell.bias"),) if cfg.use_bias else ()),
    )
    if e.ctx.channels_last:
        return LayerCode(pieces=(main,), needs="lang", produces="lang", helpers=helpers, weights=weights)
    if cfg.return_state:
        raise BackendError(
            "ConvLSTM2D with return_state in a channels_first network is not supported by the TensorFlow backend"
        )
    # frames (T, C, H, W) -> (T, H, W, C) for TensorFlow's convolutions, and the output back
    back = (1, 4, 2, 3) if cfg.return_sequences else (3, 1, 2)
    pieces = (
        Piece("layers.Permute", ((1, 3, 4, 2),), role="channels_last"),
        main,
        Piece("layers.Permute", (back,), role="channels_first"),
    )
    return LayerCode(pieces=pieces, needs="lang", produces="lang", helpers=helpers, weights=weights)
