"""PyTorch emitters: recurrent layers (SimpleRNN, LSTM, GRU, Bidirectional, ConvLSTM2D).

The spec's weight names are torch's (`weight_ih_l0`, ..., `_reverse` for the backward direction), so
SimpleRNN/LSTM/GRU become one-layer, batch-first `nn.RNN` / `nn.LSTM` / `nn.GRU` modules, and
Bidirectional the same module with `bidirectional=True`. Activations those modules do not offer
(nn.RNN: tanh or relu; nn.LSTM / nn.GRU: tanh with sigmoid gates) use the generated `RecurrentLoop`,
which has the same parameters, inputs and outputs. The support functions `keras_rnn` and
`keras_bidirectional` add Keras' options (go_backwards, input dropout per sample and feature) and
return the outputs in the spec's Keras order. ConvLSTM2D has no torch module: `ConvLSTM2d` is generated.
"""

from __future__ import annotations

from neural.config.args import Config
from neural.layers.nested import NestedLayer
from neural.targets.pytorch.emit import EmitContext, LayerCode, call, emitter, lit

TORCH_MODULES = {"SimpleRNN": "nn.RNN", "LSTM": "nn.LSTM", "GRU": "nn.GRU"}
LOOP_MODES = {"SimpleRNN": "RNN", "LSTM": "LSTM", "GRU": "GRU"}

# An activation as a callable for the loop cells (a module where torch has one, so it prints).
ACTIVATION_CALLABLES = {
    "linear": "nn.Identity()",
    "relu": "nn.ReLU()",
    "relu6": "nn.ReLU6()",
    "leaky_relu": "nn.LeakyReLU()",
    "elu": "nn.ELU()",
    "selu": "nn.SELU()",
    "gelu": "nn.GELU()",
    "silu": "nn.SiLU()",
    "mish": "nn.Mish()",
    "sigmoid": "torch.sigmoid",
    "hard_sigmoid": "nn.Hardsigmoid()",
    "tanh": "torch.tanh",
    "softmax": "nn.Softmax(dim={dim})",
    "log_softmax": "nn.LogSoftmax(dim={dim})",
    "softplus": "nn.Softplus()",
    "softsign": "nn.Softsign()",
    "exponential": "torch.exp",
}


def activation_callable(name: str | None, dim: int = -1) -> str:
    """A callable expression applying activation `name` (softmax over torch dim `dim`)."""
    return ACTIVATION_CALLABLES[name or "linear"].format(dim=dim)


def _activation(cfg: Config) -> str:
    return str(cfg.activation or "linear")


def native(kind: str, cfg: Config) -> bool:
    """Whether torch's own module computes this cell's activations."""
    if kind == "SimpleRNN":
        return _activation(cfg) in ("tanh", "relu")
    return _activation(cfg) == "tanh" and cfg.recurrent_activation == "sigmoid"


def rnn_module(
    kind: str, cfg: Config, features: int | None, *, bidirectional: bool = False
) -> tuple[str, tuple[str, ...]]:
    """The module constructor of one recurrent layer, and the helpers it uses."""
    extra: dict[str, object] = {}
    if not cfg.use_bias:
        extra["bias"] = False
    if bidirectional:
        extra["bidirectional"] = True
    if native(kind, cfg):
        if kind == "SimpleRNN" and _activation(cfg) == "relu":
            extra = {"nonlinearity": "relu", **extra}
        return call(TORCH_MODULES[kind], features, cfg.units, batch_first=True, **extra), ()
    activations = [f"activation={activation_callable(cfg.activation)}"]
    if kind != "SimpleRNN":
        activations.append(f"recurrent_activation={activation_callable(cfg.recurrent_activation)}")
    module = call("RecurrentLoop", lit(LOOP_MODES[kind]), features, cfg.units, **extra)
    return f"{module[:-1]}, {', '.join(activations)})", ("RecurrentLoop",)


def keras_options(cfg: Config) -> dict[str, object]:
    """keras_rnn's keyword options that differ from their defaults."""
    found: dict[str, object] = {}
    for name in ("return_sequences", "return_state", "go_backwards"):
        if cfg[name]:
            found[name] = True
    if cfg.dropout:
        found["dropout"] = cfg.dropout
    return found


@emitter("SimpleRNN", "LSTM", "GRU")
def recurrent(e: EmitContext) -> LayerCode:
    cfg = e.config
    module, helpers = rnn_module(e.node.kind, cfg, e.in_shape[-1])
    options = keras_options(cfg)
    return LayerCode(
        module=module,
        forward=lambda inputs, m: call("keras_rnn", m, inputs[0], **options),
        needs="lang",
        produces="lang",
        helpers=("keras_rnn", *helpers),
    )


@emitter("Bidirectional")
def bidirectional(e: EmitContext) -> LayerCode:
    inner: NestedLayer = e.config.layer
    module, helpers = rnn_module(inner.kind, inner.config, e.in_shape[-1], bidirectional=True)
    options = keras_options(inner.config)
    if e.config.merge_mode != "concat":
        options = {"merge_mode": e.config.merge_mode, **options}
    return LayerCode(
        module=module,
        forward=lambda inputs, m: call("keras_bidirectional", m, inputs[0], **options),
        needs="lang",
        produces="lang",
        helpers=("keras_bidirectional", *helpers),
    )


@emitter("ConvLSTM2D")
def conv_lstm2d(e: EmitContext) -> LayerCode:
    cfg = e.config
    channels = e.channels(e.in_shape[1:])
    extra: dict[str, object] = {}
    if tuple(cfg.strides) != (1, 1):
        extra["stride"] = tuple(cfg.strides)
    if cfg.padding != "valid":
        extra["padding"] = cfg.padding
    if tuple(cfg.dilation_rate) != (1, 1):
        extra["dilation"] = tuple(cfg.dilation_rate)
    if not cfg.use_bias:
        extra["bias"] = False
    module = call("ConvLSTM2d", channels, cfg.filters, tuple(cfg.kernel_size), **extra)
    activations = []
    if _activation(cfg) != "tanh":
        activations.append(f"activation={activation_callable(cfg.activation, dim=1)}")
    if cfg.recurrent_activation != "sigmoid":
        activations.append(f"recurrent_activation={activation_callable(cfg.recurrent_activation, dim=1)}")
    if activations:
        module = f"{module[:-1]}, {', '.join(activations)})"
    options = keras_options(cfg)
    run = "conv_lstm_channels_last" if e.ctx.channels_last else "keras_rnn"
    return LayerCode(
        module=module,
        forward=lambda inputs, m: call(run, m, inputs[0], **options),
        needs="lang",
        produces="lang",
        helpers=(run, "ConvLSTM2d"),
    )
