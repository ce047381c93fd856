"""Kernels of the recurrent layers: SimpleRNN, LSTM, GRU, Bidirectional and ConvLSTM2D.

Every layer is computed in two parts:
1. the input projection of all time steps at once (one matrix product `ops.linear` for the dense
   layers, one im2col convolution over all N*T frames for ConvLSTM2D), bias_ih included;
2. `recurrence`, one fused op looping over time for the recurrent part only, with a hand-written
   backward through time. The weight gradient of the recurrent transform is one matrix product over
   all steps after the loop.

The cells are written for a state (..., H) with the gate blocks stacked on the last axis, so that
LSTM and ConvLSTM2D share one cell: ConvLSTM2D's state is a channels-last frame (N, rows, cols, F)
and its recurrent transform a 'same' convolution instead of a matrix product.

Formulations (PyTorch's, with the spec's `activation` / `recurrent_activation` in place of tanh / sigmoid):
- SimpleRNN: h = act(W_ih x + b_ih + W_hh h + b_hh)
- LSTM (gates i, f, g, o): c = f * c + i * act(g); h = o * act(c), gates by recurrent_activation
- GRU (gates r, z, n): n = act(W_in x + b_in + r * (W_hn h + b_hn)); h = (1 - z) * n + z * h
- ConvLSTM2D: the LSTM cell with gates i, f, c, o (Keras' order, the same blocks as PyTorch's i, f, g,
  o) on rows of weight_ih (4F, C, kh, kw) / weight_hh (4F, F, kh, kw) and the one bias (4F,); the input
  convolution uses the layer's strides, padding and dilation, the recurrent one stride 1 and 'same'
  padding, as Keras' ConvLSTM2D.

Sequence semantics follow Keras:
- `go_backwards` processes the sequence from its last step to its first; with `return_sequences` the
  outputs are returned in processed order (the first output belongs to the last input step), exactly
  as Keras 3 returns them (`LSTM(go_backwards=True)(x) == LSTM()(x[:, ::-1])`).
- `dropout` (training only) is inverted dropout on the inputs with one mask per sample and feature
  (per sample and frame element for ConvLSTM2D) shared by all time steps, as Keras' RNN cells draw it;
  drawn from the model's generator as `rng.random(shape) < 1 - rate`.
- Initial states are zeros; `return_state` adds the final h (and c), as the spec orders them.
- Bidirectional runs the inner layer forwards (weights `*_l0`) and backwards (`*_l0_reverse`, with
  `go_backwards` flipped); the backward sequence is flipped back to input order before merging (Keras
  and PyTorch `bidirectional=True` agree on this). Outputs: the merged output (or forward, backward
  with merge_mode none), then the forward states, then the backward states.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from neural.config.args import Config
from neural.layers.nested import NestedLayer
from neural.layers.recurrent import rnn_weight
from neural.runtime import activations, ops
from neural.runtime.kernels import Call, kernel
from neural.runtime.tensor import Array, Tensor, make

Vjp = Callable[[Array], Array]
Pads = tuple[tuple[int, int], tuple[int, int]]


# --- activations with their vector-Jacobian products -------------------------------------------


def _sigmoid(z: Array) -> Array:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def activate(name: str, z: Array) -> tuple[Array, Vjp]:
    """An activation's value on `z` and the map from d(value) to d(z) (fast paths for the usual ones)."""
    if name == "tanh":
        t = np.tanh(z)
        return t, lambda g: g * (1 - t * t)
    if name == "sigmoid":
        s = _sigmoid(z)
        return s, lambda g: g * s * (1 - s)
    if name == "relu":
        mask = z > 0
        return z * mask, lambda g: g * mask
    if name == "linear":
        return z, lambda g: g
    leaf = Tensor(z, requires_grad=True)
    out = activations.apply(name, leaf)

    def vjp(g: Array) -> Array:
        leaf.grad = None
        out.backward(g)
        return leaf.grad if leaf.grad is not None else np.zeros_like(z)

    return out.data, vjp


# --- cells: one step forward and backward --------------------------------------------------------


class Cell(Protocol):
    """One time step on a state (..., H), gate blocks stacked on the last axis of x and a."""

    states: int

    def step(self, x: Array, a: Array, state: tuple[Array, ...]) -> tuple[tuple[Array, ...], Any]:
        """x: this step's input projection (..., G*H); a: the recurrent transform of h plus bias_hh."""
        ...

    def back(self, d: tuple[Array, ...], cache: Any) -> tuple[Array, Array, tuple[Array | None, ...]]:
        """Gradients of (x, a, the previous states other than through `a`) from those of the new states."""
        ...


class SimpleCell:
    states = 1

    def __init__(self, activation: str) -> None:
        self.activation = activation

    def step(self, x: Array, a: Array, state: tuple[Array, ...]) -> tuple[tuple[Array, ...], Any]:
        h, vjp = activate(self.activation, x + a)
        return (h,), vjp

    def back(self, d: tuple[Array, ...], cache: Any) -> tuple[Array, Array, tuple[Array | None, ...]]:
        dz = cache(d[0])
        return dz, dz, (None,)


class LSTMCell:
    """Gates i, f, g, o; states (h, c)."""

    states = 2

    def __init__(self, activation: str, recurrent_activation: str) -> None:
        self.activation = activation
        self.gate = recurrent_activation

    def step(self, x: Array, a: Array, state: tuple[Array, ...]) -> tuple[tuple[Array, ...], Any]:
        _, c = state
        zi, zf, zg, zo = np.split(x + a, 4, axis=-1)
        i, bi = activate(self.gate, zi)
        f, bf = activate(self.gate, zf)
        g, bg = activate(self.activation, zg)
        o, bo = activate(self.gate, zo)
        c_new = f * c + i * g
        tc, btc = activate(self.activation, c_new)
        return (o * tc, c_new), (i, f, g, o, c, tc, bi, bf, bg, bo, btc)

    def back(self, d: tuple[Array, ...], cache: Any) -> tuple[Array, Array, tuple[Array | None, ...]]:
        i, f, g, o, c, tc, bi, bf, bg, bo, btc = cache
        dh, dc = d
        dc = dc + btc(dh * o)
        dz = np.concatenate([bi(dc * g), bf(dc * c), bg(dc * i), bo(dh * tc)], axis=-1)
        return dz, dz, (None, dc * f)


class GRUCell:
    """Gates r, z, n (PyTorch): the reset gate multiplies W_hn h + b_hn."""

    states = 1

    def __init__(self, activation: str, recurrent_activation: str) -> None:
        self.activation = activation
        self.gate = recurrent_activation

    def step(self, x: Array, a: Array, state: tuple[Array, ...]) -> tuple[tuple[Array, ...], Any]:
        (h,) = state
        xr, xz, xn = np.split(x, 3, axis=-1)
        ar, az, an = np.split(a, 3, axis=-1)
        r, br = activate(self.gate, xr + ar)
        z, bz = activate(self.gate, xz + az)
        n, bn = activate(self.activation, xn + r * an)
        return (n + z * (h - n),), (r, z, n, h, an, br, bz, bn)

    def back(self, d: tuple[Array, ...], cache: Any) -> tuple[Array, Array, tuple[Array | None, ...]]:
        r, z, n, h, an, br, bz, bn = cache
        (dh,) = d
        dn = bn(dh * (1 - z))
        dz = bz(dh * (h - n))
        dr = br(dn * an)
        return np.concatenate([dr, dz, dn], axis=-1), np.concatenate([dr, dz, dn * r], axis=-1), (dh * z,)


def make_cell(kind: str, cfg: Config) -> Cell:
    if kind == "SimpleRNN":
        return SimpleCell(cfg.activation)
    if kind == "GRU":
        return GRUCell(cfg.activation, cfg.recurrent_activation)
    return LSTMCell(cfg.activation, cfg.recurrent_activation)


# --- recurrent transforms: h -> W_hh h ------------------------------------------------------------


class Transform(Protocol):
    def forward(self, h: Array) -> Array: ...

    def input_grad(self, da: Array) -> Array: ...

    def weight_grad(self, da: Array, h: Array) -> Array:
        """d(weight) from the gradients `da` (T, ..., G*H) and the states `h` (T, ..., H) they were applied to."""
        ...


class DenseTransform:
    """h (N, H) -> h @ W.T (N, G*H); W (G*H, H)."""

    def __init__(self, weight: Array) -> None:
        self.weight = weight

    def forward(self, h: Array) -> Array:
        return h @ self.weight.T

    def input_grad(self, da: Array) -> Array:
        return da @ self.weight

    def weight_grad(self, da: Array, h: Array) -> Array:
        return da.reshape(-1, da.shape[-1]).T @ h.reshape(-1, h.shape[-1])


class SameConvTransform:
    """Frames (B, R, C, F) -> stride-1 'same' convolution with W (O, F, kh, kw): (B, R, C, O)."""

    def __init__(self, weight: Array) -> None:
        self.weight = weight
        self.matrix = conv_matrix(weight)
        self.kernel = (weight.shape[2], weight.shape[3])
        self.pads = same_pads((1, 1), self.kernel, (1, 1), (1, 1))

    def _cols(self, h: Array) -> Array:
        padded = np.pad(h, ((0, 0), *self.pads, (0, 0)))
        return im2col(padded, self.kernel, (1, 1), (1, 1)).reshape(*h.shape[:3], -1)

    def forward(self, h: Array) -> Array:
        return self._cols(h) @ self.matrix.T

    def input_grad(self, da: Array) -> Array:
        dcols = (da @ self.matrix).reshape(*da.shape[:3], *self.kernel, -1)
        return col2im(dcols, self.pads, (1, 1), (1, 1))

    def weight_grad(self, da: Array, h: Array) -> Array:
        frames = h.reshape(-1, *h.shape[-3:])
        cols = self._cols(frames).reshape(-1, self.matrix.shape[1])
        return conv_weight_grad(da.reshape(-1, da.shape[-1]).T @ cols, self.weight.shape)


# --- the fused recurrence --------------------------------------------------------------------------


def recurrence(
    cell: Cell, projected: Tensor, weight_hh: Tensor, bias_hh: Tensor | None, transform: Transform
) -> Tensor:
    """Run `cell` over time.

    projected: (N, T, *frame, G*H) input projections (bias_ih included); weight_hh: the weight of
    `transform` (H = its second dim); bias_hh: (G*H,) or None. Returns every state of every step,
    (T, S, N, *frame, H) with S = cell.states (h first, then c).
    """
    xs = np.moveaxis(projected.data, 1, 0)
    steps = xs.shape[0]
    if steps == 0:
        raise ValueError("a recurrent layer needs at least one time step")
    state_shape = (*xs.shape[1:-1], weight_hh.shape[1])
    out = np.empty((steps, cell.states, *state_shape), dtype=xs.dtype)
    state = tuple(np.zeros(state_shape, dtype=xs.dtype) for _ in range(cell.states))
    bias = None if bias_hh is None else bias_hh.data
    caches = []
    for t in range(steps):
        a = transform.forward(state[0]) if t else np.zeros_like(xs[0])
        if bias is not None:
            a = a + bias
        state, cache = cell.step(xs[t], a, state)
        for k, s in enumerate(state):
            out[t, k] = s
        caches.append(cache)

    def backward(g: Array) -> tuple[Array | None, ...]:
        dxs = np.empty_like(xs)
        das = np.empty_like(xs)
        d: list[Array] = [np.zeros(state_shape, dtype=xs.dtype) for _ in range(cell.states)]
        for t in reversed(range(steps)):
            d = [dk + g[t, k] for k, dk in enumerate(d)]
            dxs[t], das[t], direct = cell.back(tuple(d), caches[t])
            if t == 0:
                break
            dh = transform.input_grad(das[t])
            d = [dh if direct[0] is None else dh + direct[0], *(s for s in direct[1:] if s is not None)]
        grads: list[Array | None] = [np.moveaxis(dxs, 0, 1)]
        if weight_hh.requires_grad:
            grads.append(transform.weight_grad(das[1:], out[:-1, 0]) if steps > 1 else np.zeros_like(weight_hh.data))
        else:
            grads.append(None)
        if bias_hh is not None:
            grads.append(das.reshape(-1, das.shape[-1]).sum(axis=0))
        return tuple(grads)

    parents = (projected, weight_hh) if bias_hh is None else (projected, weight_hh, bias_hh)
    return make(out, parents, backward)


def input_dropout(call: Call, x: Tensor, rate: float) -> Tensor:
    """Inverted dropout on (N, T, *features) with one mask per sample and feature, shared by all steps."""
    if not call.training or rate == 0:
        return x
    keep = 1.0 - rate
    mask = (call.rng.random((x.shape[0], 1, *x.shape[2:])) < keep).astype(x.dtype) / keep
    return ops.mul(x, Tensor(mask))


def _reverse_time(x: Tensor) -> Tensor:
    return ops.getitem(x, (slice(None), slice(None, None, -1)))


def _outputs(states: Tensor, return_sequences: bool, return_state: bool) -> tuple[Tensor, ...]:
    """(T, S, N, *frame, H) states -> output (N, T, *frame, H) or (N, *frame, H), then the final states."""
    if return_sequences:
        h = ops.getitem(states, (slice(None), 0))
        output = ops.transpose(h, (1, 0, *range(2, h.ndim)))
    else:
        output = ops.getitem(states, (-1, 0))
    if not return_state:
        return (output,)
    return (output, *(ops.getitem(states, (-1, k)) for k in range(states.shape[1])))


def run_sequence(
    call: Call, kind: str, cfg: Config, reverse: bool = False, *, go_backwards: bool | None = None
) -> tuple[Tensor, ...]:
    """One SimpleRNN / LSTM / GRU over call.x (N, T, F): the spec's outputs in Keras order.

    `reverse` selects Bidirectional's backward weights (`*_l0_reverse`); `go_backwards` overrides
    the config's.
    """
    p = call.params
    x = call.x
    if cfg.go_backwards if go_backwards is None else go_backwards:
        x = _reverse_time(x)
    x = input_dropout(call, x, cfg.dropout)
    weight_hh = p[rnn_weight("weight_hh", reverse)]
    projected = ops.linear(x, p[rnn_weight("weight_ih", reverse)], p.get(rnn_weight("bias_ih", reverse)))
    cell = make_cell(kind, cfg)
    states = recurrence(
        cell, projected, weight_hh, p.get(rnn_weight("bias_hh", reverse)), DenseTransform(weight_hh.data)
    )
    return _outputs(states, cfg.return_sequences, cfg.return_state)


@kernel("SimpleRNN", "LSTM", "GRU")
def recurrent(call: Call) -> Tensor | tuple[Tensor, ...]:
    """(N, T, F) -> (N, T, H) with return_sequences, else (N, H); + final states with return_state."""
    result = run_sequence(call, call.node.kind, call.config)
    return result[0] if len(result) == 1 else result


def _merge(mode: str, a: Tensor, b: Tensor) -> Tensor:
    if mode == "concat":
        return ops.concat([a, b], axis=-1)
    if mode == "sum":
        return ops.add(a, b)
    if mode == "mul":
        return ops.mul(a, b)
    return ops.mul(ops.add(a, b), 0.5)


@kernel("Bidirectional")
def bidirectional(call: Call) -> Tensor | tuple[Tensor, ...]:
    """(N, T, F) -> merged outputs of a forward and a backward run, then forward states, backward states."""
    inner: NestedLayer = call.config.layer
    cfg = inner.config
    forward = run_sequence(call, inner.kind, cfg)
    backward = run_sequence(call, inner.kind, cfg, True, go_backwards=not cfg.go_backwards)
    back_output = _reverse_time(backward[0]) if cfg.return_sequences else backward[0]
    mode = call.config.merge_mode
    merged: Sequence[Tensor] = (forward[0], back_output) if mode is None else (_merge(mode, forward[0], back_output),)
    result = (*merged, *forward[1:], *backward[1:])
    return result[0] if len(result) == 1 else result


# --- ConvLSTM2D -------------------------------------------------------------------------------------


def same_pads(
    size: tuple[int, int], kernel: tuple[int, int], strides: tuple[int, int], dilation: tuple[int, int]
) -> Pads:
    """TensorFlow/Keras 'same' padding of two spatial dims: output ceil(size / stride), extra pad after."""
    found = []
    for n, k, s, d in zip(size, kernel, strides, dilation):
        total = max((-(-n // s) - 1) * s + d * (k - 1) + 1 - n, 0)
        found.append((total // 2, total - total // 2))
    return found[0], found[1]


def conv_matrix(weight: Array) -> Array:
    """A PyTorch conv weight (O, C, kh, kw) as the (O, kh*kw*C) matrix that multiplies `im2col` rows."""
    return weight.transpose(0, 2, 3, 1).reshape(weight.shape[0], -1)


def conv_weight_grad(grad: Array, shape: tuple[int, ...]) -> Array:
    """The gradient of `conv_matrix(weight)` (O, kh*kw*C) back in the weight's layout `shape`."""
    out, channels, kh, kw = shape
    return grad.reshape(out, kh, kw, channels).transpose(0, 3, 1, 2)


def _offsets(
    kernel: tuple[int, int], strides: tuple[int, int], dilation: tuple[int, int], out: tuple[int, int]
) -> list[tuple[int, int, slice, slice]]:
    """(i, j, rows, cols): the slices of the padded input that kernel offset (i, j) reads."""
    found = []
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            r0, c0 = i * dilation[0], j * dilation[1]
            rows = slice(r0, r0 + strides[0] * (out[0] - 1) + 1, strides[0])
            cols = slice(c0, c0 + strides[1] * (out[1] - 1) + 1, strides[1])
            found.append((i, j, rows, cols))
    return found


def im2col(padded: Array, kernel: tuple[int, int], strides: tuple[int, int], dilation: tuple[int, int]) -> Array:
    """Patches of a padded channels-last batch (B, Hp, Wp, C): (B, H', W', kh, kw, C), one copy of
    contiguous channel vectors per kernel offset."""
    batch, hp, wp, channels = padded.shape
    out = tuple((n - d * (k - 1) - 1) // s + 1 for n, k, s, d in zip((hp, wp), kernel, strides, dilation))
    cols = np.empty((batch, out[0], out[1], kernel[0], kernel[1], channels), dtype=padded.dtype)
    for i, j, rows, columns in _offsets(kernel, strides, dilation, (out[0], out[1])):
        cols[:, :, :, i, j] = padded[:, rows, columns]
    return cols


def col2im(
    dcols: Array, pads: Pads, strides: tuple[int, int], dilation: tuple[int, int], size: tuple[int, int] | None = None
) -> Array:
    """The adjoint of `im2col` then cropping: patch gradients (B, H', W', kh, kw, C) -> (B, H, W, C).

    `size` (H, W) is the unpadded input size (default: the one a stride-1 'same' convolution implies).
    """
    batch, rows, cols, kh, kw, channels = dcols.shape
    if size is None:
        size = (rows, cols)
    padded = np.zeros((batch, size[0] + sum(pads[0]), size[1] + sum(pads[1]), channels), dtype=dcols.dtype)
    for i, j, r, c in _offsets((kh, kw), strides, dilation, (rows, cols)):
        padded[:, r, c] += dcols[:, :, :, i, j]
    return padded[:, pads[0][0] : pads[0][0] + size[0], pads[1][0] : pads[1][0] + size[1]]


def conv2d(x: Tensor, weight: Tensor, strides: tuple[int, int], dilation: tuple[int, int], pads: Pads) -> Tensor:
    """Channels-last convolution: x (B, H, W, C), weight (O, C, kh, kw) -> (B, H', W', O) (im2col)."""
    kernel = (weight.shape[2], weight.shape[3])
    patches = im2col(np.pad(x.data, ((0, 0), *pads, (0, 0))), kernel, strides, dilation)
    out_shape = patches.shape[:3]
    cols = patches.reshape(-1, weight.data[0].size)
    matrix = conv_matrix(weight.data)

    def backward(g: Array) -> tuple[Array | None, Array | None]:
        g2 = g.reshape(-1, g.shape[-1])
        dw = conv_weight_grad(g2.T @ cols, weight.shape) if weight.requires_grad else None
        if not x.requires_grad:
            return None, dw
        dcols = (g2 @ matrix).reshape(*out_shape, *kernel, x.shape[3])
        return col2im(dcols, pads, strides, dilation, (x.shape[1], x.shape[2])), dw

    return make((cols @ matrix.T).reshape(*out_shape, weight.shape[0]), (x, weight), backward)


def _conv_pads(cfg: Config, size: tuple[int, int]) -> Pads:
    if cfg.padding == "same":
        return same_pads(size, cfg.kernel_size, cfg.strides, cfg.dilation_rate)
    return (0, 0), (0, 0)


@kernel("ConvLSTM2D")
def conv_lstm2d(call: Call) -> Tensor | tuple[Tensor, ...]:
    """(N, T, R, C, Ch) channels-last or (N, T, Ch, R, C) channels-first -> (N, T?, R', C', F) or
    (N, T?, F, R', C'); + final h, c with return_state."""
    cfg = call.config
    x = call.x
    channels_last = call.ctx.channels_last
    if not channels_last:
        x = ops.transpose(x, (0, 1, 3, 4, 2))
    if cfg.go_backwards:
        x = _reverse_time(x)
    x = input_dropout(call, x, cfg.dropout)
    batch, steps, rows, cols, channels = x.shape
    frames = ops.reshape(x, (batch * steps, rows, cols, channels))
    weight_ih, weight_hh = call.params["weight_ih"], call.params["weight_hh"]
    projected = conv2d(frames, weight_ih, cfg.strides, cfg.dilation_rate, _conv_pads(cfg, (rows, cols)))
    if "bias" in call.params:
        projected = ops.add(projected, call.params["bias"])
    projected = ops.reshape(projected, (batch, steps, *projected.shape[1:]))
    cell = LSTMCell(cfg.activation, cfg.recurrent_activation)
    states = recurrence(cell, projected, weight_hh, None, SameConvTransform(weight_hh.data))
    result = _outputs(states, cfg.return_sequences, cfg.return_state)
    if not channels_last:
        result = tuple(ops.transpose(r, (*range(r.ndim - 3), r.ndim - 1, r.ndim - 3, r.ndim - 2)) for r in result)
    return result[0] if len(result) == 1 else result
