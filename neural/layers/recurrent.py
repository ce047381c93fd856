"""Recurrent layers: SimpleRNN, LSTM, GRU, their Bidirectional wrapper, and ConvLSTM2D.

Input is a sequence (timesteps, features); timesteps may be None (known only at run time). Output is
(timesteps, units) with `return_sequences`, else the last step (units,). With `return_state` the
layer has several outputs, in Keras order: (output, h) for SimpleRNN and GRU, (output, h, c) for LSTM.

Weights follow PyTorch (`torch.nn.RNN/LSTM/GRU`, one layer, same names): "weight_ih_l0" (G*H, in),
"weight_hh_l0" (G*H, H), "bias_ih_l0" (G*H,), "bias_hh_l0" (G*H,) (Bidirectional adds the `_reverse`
copies, as `bidirectional=True` does), with G gates stacked in PyTorch's order: LSTM i, f, g, o
(G = 4); GRU r, z, n (G = 3, the `reset_after` form Keras also defaults to); SimpleRNN G = 1. Two bias
vectors, as PyTorch counts them (Keras' LSTM and SimpleRNN keep one: G*H fewer parameters).
`dropout` applies to the inputs of every step (Keras meaning; PyTorch's `dropout` is between stacked
layers). MACs: timesteps * G*H * (in + H) (None when timesteps is unknown).

The `*Cell` names are accepted as aliases of the one-layer forms (a cell applied over a sequence).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from neural.config.args import Arg, Bool, Choice, Config, Float, Int, IntTuple, Optional_
from neural.errors import InvalidValueError, ShapeError
from neural.layers.activations import ACTIVATION
from neural.layers.base import Dim, LayerContext, LayerSpec, Outputs, Shape, Weight, fmt_shape, mul
from neural.layers.nested import NestedLayer, nested_layer_type
from neural.layers.registry import register

RATE = Float(0.0, 1.0, max_open=True)
SEQUENCE_HINT = "a recurrent layer reads (timesteps, features); use Reshape((steps, features)) to make a sequence"


def rnn_weight(base: str, reverse: bool = False) -> str:
    """torch.nn.RNN/LSTM/GRU's name of a one-layer weight: weight_ih_l0, bias_hh_l0_reverse, ..."""
    return f"{base}_l0_reverse" if reverse else f"{base}_l0"


def _sequence_args(bias_doc: str = "learn biases (bias_ih and bias_hh)", states: str = "h") -> tuple[Arg, ...]:
    """The arguments every recurrent layer shares, after its own leading ones."""
    return (
        Arg("use_bias", Bool(), True, aliases=("bias",), doc=bias_doc),
        Arg("return_sequences", Bool(), False, doc="output every step (timesteps, ...) instead of the last one"),
        Arg("return_state", Bool(), False, doc=f"also output the final states ({states})"),
        Arg("go_backwards", Bool(), False, doc="process the sequence in reverse"),
        Arg("dropout", RATE, 0.0, doc="dropout rate on the inputs of every step"),
    )


def _activation_arg(default: str, aliases: tuple[str, ...] = ()) -> Arg:
    return Arg(
        "activation",
        ACTIVATION,
        default,
        positional=True,
        aliases=aliases,
        doc="activation of the candidate state / output",
    )


def _recurrent_activation_arg() -> Arg:
    return Arg("recurrent_activation", ACTIVATION, "sigmoid", positional=True, doc="activation of the gates")


def _check_activations(kind: str, cfg: Config) -> None:
    """Recurrent activations are plain functions: the learned `prelu` has no single place in a cell."""
    for name in ("activation", "recurrent_activation"):
        if name in cfg and cfg[name] == "prelu":
            raise InvalidValueError(
                f'`{kind}` argument `{name}` cannot be "prelu" (a learned activation); received "prelu"'
            )


def _check_dilated_strides(kind: str, cfg: Config) -> None:
    if any(s > 1 for s in cfg.strides) and any(d > 1 for d in cfg.dilation_rate):
        raise InvalidValueError(
            f"`{kind}` cannot combine strides > 1 with dilation_rate > 1; received strides={cfg.strides}, "
            f"dilation_rate={cfg.dilation_rate}"
        )


class _Recurrent(LayerSpec):
    """A one-layer recurrent network over (timesteps, features); G gate blocks of `units` each."""

    family = "recurrent"
    gates: ClassVar[int] = 1
    states: ClassVar[int] = 1
    shape_rule = "(timesteps, features) -> (timesteps, units) with return_sequences, else (units,); + states (units,)"

    def check_config(self, cfg: Config) -> Config:
        _check_activations(self.kind, cfg)
        return cfg

    def num_outputs(self, cfg: Config) -> int:
        return 1 + self.states if cfg.return_state else 1

    def _features(self, cfg: Config, shape: Shape) -> int:
        if len(shape) != 2:
            error = self.fail("input of rank 2 (timesteps, features)", shape)
            error.hint = SEQUENCE_HINT
            raise error
        features = shape[1]
        if features is None:
            raise self.fail("a known number of features (last axis)", shape)
        if cfg.input_size is not None and features != cfg.input_size:
            raise self.fail(f"{cfg.input_size} features (input_size)", shape)
        return features

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        shape = inputs[0]
        self._features(cfg, shape)
        units: int = cfg.units
        output: Shape = (shape[0], units) if cfg.return_sequences else (units,)
        if not cfg.return_state:
            return output
        return (output, *[(units,)] * self.states)

    def weights(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Mapping[str, Weight]:
        features = self._features(cfg, inputs[0])
        rows = self.gates * cfg.units
        found = {rnn_weight("weight_ih"): Weight((rows, features)), rnn_weight("weight_hh"): Weight((rows, cfg.units))}
        if cfg.use_bias:
            found[rnn_weight("bias_ih")] = Weight((rows,))
            found[rnn_weight("bias_hh")] = Weight((rows,))
        return found

    def macs(self, cfg: Config, inputs: Sequence[Shape], outputs: Sequence[Shape], ctx: LayerContext) -> int | None:
        shape = inputs[0]
        features = self._features(cfg, shape)
        return mul(shape[0], self.gates * cfg.units * (features + cfg.units))


_UNITS = Arg("units", Int(min=1), positional=True, aliases=("hidden_size",), doc="size of the hidden state")
_INPUT_SIZE = Arg("input_size", Optional_(Int(min=1)), None, doc="PyTorch style: expected input features (checked)")


@register
class SimpleRNN(_Recurrent):
    """Elman RNN, h = activation(W_ih x + W_hh h + b): (timesteps, features) -> (timesteps, units) or (units,)."""

    kind = "SimpleRNN"
    aliases = ("RNN", "SimpleRNNCell", "RNNCell")
    gates = 1
    states = 1
    schema = (_UNITS, _activation_arg("tanh", aliases=("nonlinearity",)), *_sequence_args(), _INPUT_SIZE)


@register
class LSTM(_Recurrent):
    """Long short-term memory (gates i, f, g, o): (timesteps, features) -> (timesteps, units) or (units,); states h, c."""

    kind = "LSTM"
    aliases = ("LSTMCell", "CuDNNLSTM")
    gates = 4
    states = 2
    schema = (_UNITS, _activation_arg("tanh"), _recurrent_activation_arg(), *_sequence_args(states="h, c"), _INPUT_SIZE)


@register
class GRU(_Recurrent):
    """Gated recurrent unit (gates r, z, n; reset after the matrix product): (timesteps, features) -> (timesteps, units) or (units,)."""

    kind = "GRU"
    aliases = ("GRUCell", "CuDNNGRU")
    gates = 3
    states = 1
    schema = (_UNITS, _activation_arg("tanh"), _recurrent_activation_arg(), *_sequence_args(), _INPUT_SIZE)


RECURRENT_KINDS = ("SimpleRNN", "LSTM", "GRU")
MERGE_MODES = ("concat", "sum", "mul", "ave")
MERGE_ALIASES = {"concatenate": "concat", "add": "sum", "multiply": "mul", "average": "ave", "mean": "ave"}


def _is_recurrent(spec: LayerSpec) -> bool:
    return spec.kind in RECURRENT_KINDS


def _as_outputs(result: Outputs) -> tuple[Shape, ...]:
    if result and isinstance(result[0], tuple):
        return result  # type: ignore[return-value]
    return (result,)  # type: ignore[return-value]


@register
class Bidirectional(LayerSpec):
    """Runs a recurrent layer forwards and backwards and merges the two outputs (concat doubles the features)."""

    kind = "Bidirectional"
    family = "recurrent"
    schema = (
        Arg(
            "layer",
            nested_layer_type("a recurrent layer such as LSTM(64)", _is_recurrent),
            positional=True,
            doc="SimpleRNN, LSTM or GRU",
        ),
        Arg(
            "merge_mode",
            Optional_(Choice(MERGE_MODES, MERGE_ALIASES)),
            "concat",
            positional=True,
            doc='"concat", "sum", "mul", "ave", or none for two outputs (forward, backward)',
        ),
    )
    shape_rule = (
        "inner output (..., units) -> (..., 2*units) with concat, (..., units) otherwise; states: forward then backward"
    )

    def _inner(self, cfg: Config) -> tuple[LayerSpec, Config]:
        layer: NestedLayer = cfg.layer
        return layer.spec, layer.config

    def num_outputs(self, cfg: Config) -> int:
        spec, inner = self._inner(cfg)
        states = spec.num_outputs(inner) - 1
        return (2 if cfg.merge_mode is None else 1) + 2 * states

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        spec, inner = self._inner(cfg)
        sequence, *states = _as_outputs(spec.output_shape(inner, inputs, ctx))
        if cfg.merge_mode is None:
            merged: tuple[Shape, ...] = (sequence, sequence)
        elif cfg.merge_mode == "concat":
            merged = ((*sequence[:-1], _double(sequence[-1])),)
        else:
            merged = (sequence,)
        result = (*merged, *states, *states)
        return result[0] if len(result) == 1 else result

    def weights(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Mapping[str, Weight]:
        spec, inner = self._inner(cfg)
        one = spec.weights(inner, inputs, ctx)
        return {**one, **{f"{name}_reverse": w for name, w in one.items()}}

    def macs(self, cfg: Config, inputs: Sequence[Shape], outputs: Sequence[Shape], ctx: LayerContext) -> int | None:
        spec, inner = self._inner(cfg)
        one = spec.macs(inner, inputs, _as_outputs(spec.output_shape(inner, inputs, ctx)), ctx)
        return None if one is None else 2 * one


def _double(dim: Dim) -> Dim:
    return None if dim is None else 2 * dim


@register
class ConvLSTM2D(LayerSpec):
    """LSTM whose input and recurrent transforms are 2-D convolutions: (time, rows, cols, C) -> (time?, rows', cols', filters)."""

    kind = "ConvLSTM2D"
    family = "recurrent"
    schema = (
        Arg(
            "filters",
            Int(min=1),
            positional=True,
            aliases=("out_channels", "hidden_channels"),
            doc="channels of the hidden state",
        ),
        Arg("kernel_size", IntTuple(2), positional=True, doc="kernel of both convolutions"),
        _activation_arg("tanh"),
        Arg("recurrent_activation", ACTIVATION, "sigmoid", doc="activation of the gates"),
        Arg("strides", IntTuple(2), (1, 1), aliases=("stride",), doc="strides of the input convolution"),
        Arg(
            "padding",
            Choice(("valid", "same")),
            "valid",
            doc='"valid" or "same" (input convolution; the recurrent one is "same")',
        ),
        Arg("dilation_rate", IntTuple(2), (1, 1), aliases=("dilation",), doc="dilation of the input convolution"),
        *_sequence_args("learn one bias (4*filters,)", states="h, c"),
    )
    shape_rule = (
        "(time, rows, cols, C) -> (time, rows', cols', filters) with return_sequences, else (rows', cols', filters); "
        "rows' = ceil(rows / s) for same, floor((rows - d*(k-1) - 1) / s) + 1 for valid; states h, c like the last step"
    )

    def check_config(self, cfg: Config) -> Config:
        _check_activations(self.kind, cfg)
        _check_dilated_strides(self.kind, cfg)
        return cfg

    def num_outputs(self, cfg: Config) -> int:
        return 3 if cfg.return_state else 1

    def _split(self, shape: Shape, ctx: LayerContext) -> tuple[Dim, Shape, int]:
        """(timesteps, (rows, cols), channels) of the input; channels must be known."""
        if len(shape) != 4:
            frame = ctx.spatial_names(2)[1:-1]
            raise self.fail(f"input of rank 4 (time, {frame})", shape)
        spatial, channels = ctx.split(shape[1:])
        if channels is None:
            raise self.fail("a known number of channels", shape)
        return shape[0], spatial, channels

    def _out_spatial(self, cfg: Config, shape: Shape, spatial: Shape) -> tuple[Dim, ...]:
        out: list[Dim] = []
        for size, k, s, d in zip(spatial, cfg.kernel_size, cfg.strides, cfg.dilation_rate):
            out.append(self._out_dim(cfg, shape, size, k, s, d))
        return tuple(out)

    def _out_dim(self, cfg: Config, shape: Shape, size: Dim, k: int, s: int, d: int) -> Dim:
        if size is None:
            return None
        if cfg.padding == "same":
            return -(-size // s)
        span = d * (k - 1) + 1
        if size < span:
            kernel = "x".join(str(x) for x in cfg.kernel_size)
            what = f"rows and cols of at least the kernel {kernel}" + (
                f" dilated by {cfg.dilation_rate}" if d > 1 else ""
            )
            raise ShapeError(f'{self.kind} expects {what} (padding "valid"), received {fmt_shape(shape)}')
        return (size - span) // s + 1

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        shape = inputs[0]
        steps, spatial, _ = self._split(shape, ctx)
        frame = ctx.join(self._out_spatial(cfg, shape, spatial), cfg.filters)
        output: Shape = (steps, *frame) if cfg.return_sequences else frame
        return (output, frame, frame) if cfg.return_state else output

    def weights(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Mapping[str, Weight]:
        _, _, channels = self._split(inputs[0], ctx)
        rows = 4 * cfg.filters
        found = {
            "weight_ih": Weight((rows, channels, *cfg.kernel_size)),
            "weight_hh": Weight((rows, cfg.filters, *cfg.kernel_size)),
        }
        if cfg.use_bias:
            found["bias"] = Weight((rows,))
        return found

    def macs(self, cfg: Config, inputs: Sequence[Shape], outputs: Sequence[Shape], ctx: LayerContext) -> int | None:
        shape = inputs[0]
        steps, spatial, channels = self._split(shape, ctx)
        kh, kw = cfg.kernel_size
        positions = mul(*self._out_spatial(cfg, shape, spatial))
        return mul(steps, positions, 4 * cfg.filters * kh * kw * (channels + cfg.filters))
