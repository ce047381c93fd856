"""JAX emitters: recurrent layers (SimpleRNN, LSTM, GRU, Bidirectional, ConvLSTM2D).

Each becomes a generated module (support_recurrent.py) carrying PyTorch's parameters and Keras'
options: `RNN` (`ih`, `hh`: nnx.Linear whose kernels are the transposed weight_ih_l0 / weight_hh_l0 and
whose biases are bias_ih_l0 / bias_hh_l0), `Bidirectional` (the same under `forward_layer` and
`backward_layer` for the `_reverse` weights) and `ConvLSTM2D` (HWIO kernels). Sequences are (N, T, F)
in every layout.
"""

from __future__ import annotations

from typing import Any

from neural.config.args import Config
from neural.layers.nested import NestedLayer
from neural.targets.jax.emit import EmitContext, LayerCode, WeightSlot, call, emitter, lit
from neural.targets.jax.emitters.common import activation_callable

MODES = {"SimpleRNN": "RNN", "LSTM": "LSTM", "GRU": "GRU"}


def _options(kind: str, cfg: Config) -> list[str]:
    """Keyword arguments (as code) of RNN that differ from its defaults."""
    found: list[str] = []
    if not cfg.use_bias:
        found.append("use_bias=False")
    activation = cfg.activation or "linear"
    if activation != "tanh":
        found.append(f"activation={activation_callable(activation)}")
    if kind != "SimpleRNN" and cfg.recurrent_activation != "sigmoid":
        found.append(f"recurrent_activation={activation_callable(cfg.recurrent_activation)}")
    for name in ("return_sequences", "return_state", "go_backwards"):
        if cfg[name]:
            found.append(f"{name}=True")
    if cfg.dropout:
        found.append(f"dropout={lit(cfg.dropout)}")
    return found


def _rnn_slots(cfg: Config, prefix: tuple[str, ...] = (), suffix: str = "") -> dict[str, WeightSlot]:
    found = {}
    for part, module in (("ih", "ih"), ("hh", "hh")):
        found[f"weight_{part}_l0{suffix}"] = WeightSlot((*prefix, module, "kernel"), "linear")
        if cfg.use_bias:
            found[f"bias_{part}_l0{suffix}"] = WeightSlot((*prefix, module, "bias"))
    return found


def _ctor(name: str, positional: list[Any], options: list[str]) -> str:
    head = call(name, *positional)[:-1]
    return f"{head}, {', '.join([*options, 'rngs=rngs'])})"


@emitter("SimpleRNN", "LSTM", "GRU")
def recurrent(e: EmitContext) -> LayerCode:
    cfg = e.config
    kind = e.node.kind
    return LayerCode(
        module=_ctor("RNN", [lit(MODES[kind]), e.in_shape[-1], cfg.units], _options(kind, cfg)),
        forward=lambda inputs, m: f"{m}({inputs[0]})",
        needs="lang",
        produces="lang",
        helpers=("RNN",),
        weights=_rnn_slots(cfg),
    )


@emitter("Bidirectional")
def bidirectional(e: EmitContext) -> LayerCode:
    inner: NestedLayer = e.config.layer
    options = _options(inner.kind, inner.config)
    if e.config.merge_mode != "concat":
        options.insert(0, f"merge_mode={lit(e.config.merge_mode)}")
    weights = {
        **_rnn_slots(inner.config, ("forward_layer",)),
        **_rnn_slots(inner.config, ("backward_layer",), "_reverse"),
    }
    return LayerCode(
        module=_ctor("Bidirectional", [lit(MODES[inner.kind]), e.in_shape[-1], inner.config.units], options),
        forward=lambda inputs, m: f"{m}({inputs[0]})",
        needs="lang",
        produces="lang",
        helpers=("Bidirectional",),
        weights=weights,
    )


@emitter("ConvLSTM2D")
def conv_lstm2d(e: EmitContext) -> LayerCode:
    cfg = e.config
    channels = e.channels(e.in_shape[1:])
    options: list[str] = []
    if tuple(cfg.strides) != (1, 1):
        options.append(f"strides={lit(tuple(cfg.strides))}")
    options.append(f"padding={lit(cfg.padding.upper())}")
    if tuple(cfg.dilation_rate) != (1, 1):
        options.append(f"kernel_dilation={lit(tuple(cfg.dilation_rate))}")
    options += _options("ConvLSTM2D", cfg)
    if not e.ctx.channels_last:
        options.append("channels_first=True")
    weights = {"weight_ih": WeightSlot(("kernel_ih",), "conv"), "weight_hh": WeightSlot(("kernel_hh",), "conv")}
    if cfg.use_bias:
        weights["bias"] = WeightSlot(("bias",))
    return LayerCode(
        module=_ctor("ConvLSTM2D", [channels, cfg.filters, tuple(cfg.kernel_size)], options),
        forward=lambda inputs, m: f"{m}({inputs[0]})",
        needs="lang",
        produces="lang",
        helpers=("ConvLSTM2D",),
        weights=weights,
    )
