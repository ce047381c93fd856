"""Activation functions as differentiable ops (defaults as in PyTorch)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from neural.errors import BackendError
from neural.runtime import ops
from neural.runtime.tensor import Array, Tensor, make

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _erf_series(x: Array) -> Array:
    """erf by its Maclaurin series for |x| < 3 and the asymptotic expansion beyond (float64-accurate
    to ~1e-12 inside, ~1e-8 outside); used when SciPy is not installed."""
    x64 = x.astype(np.float64)
    ax = np.minimum(np.abs(x64), 3.0)
    term = ax.copy()
    total = ax.copy()
    sq = ax * ax
    for n in range(1, 80):
        term = term * (-sq) / n
        total += term / (2 * n + 1)
    inner = 2.0 / math.sqrt(math.pi) * total
    big = np.abs(x64)
    safe = np.maximum(big, 3.0)
    inv = 1.0 / (2.0 * safe * safe)
    series = 1.0 - inv + 3.0 * inv**2 - 15.0 * inv**3 + 105.0 * inv**4
    outer = 1.0 - np.exp(-safe * safe) / (safe * math.sqrt(math.pi)) * series
    result = np.where(big < 3.0, inner, outer)
    return (np.sign(x64) * result).astype(x.dtype)


try:
    from scipy.special import erf as _erf_impl
except ImportError:  # pragma: no cover - exercised in core installs without SciPy
    _erf_impl = _erf_series


def erf(x: Array) -> Array:
    return np.asarray(_erf_impl(x), dtype=x.dtype)


def relu(x: Tensor) -> Tensor:
    mask = x.data > 0
    return make(x.data * mask, (x,), lambda g: (g * mask,))


def relu6(x: Tensor) -> Tensor:
    mask = (x.data > 0) & (x.data < 6)
    return make(np.clip(x.data, 0, 6), (x,), lambda g: (g * mask,))


def leaky_relu(x: Tensor, slope: float = 0.01) -> Tensor:
    positive = x.data > 0
    factor = np.where(positive, 1.0, slope).astype(x.dtype)
    return make(x.data * factor, (x,), lambda g: (g * factor,))


def prelu(x: Tensor, weight: Tensor, channel_axis: int) -> Tensor:
    """max(x, 0) + a * min(x, 0); `weight` has 1 or C entries (C on `channel_axis`)."""
    shape = [1] * x.ndim
    if weight.shape[0] != 1:
        shape[channel_axis] = weight.shape[0]
    a = weight.data.reshape(shape)
    positive = x.data > 0
    out = np.where(positive, x.data, a * x.data)

    def backward(g: Array) -> tuple[Array, Array]:
        gx = np.where(positive, g, a * g)
        ga = np.where(positive, 0, g * x.data)
        reduce_axes = tuple(i for i in range(x.ndim) if shape[i] == 1)
        return gx, ga.sum(axis=reduce_axes).reshape(weight.shape)

    return make(out, (x, weight), backward)


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    positive = x.data > 0
    expm1 = np.expm1(np.minimum(x.data, 0))
    out = np.where(positive, x.data, alpha * expm1)
    return make(out, (x,), lambda g: (g * np.where(positive, 1.0, alpha * (expm1 + 1)),))


def selu(x: Tensor) -> Tensor:
    positive = x.data > 0
    expm1 = np.expm1(np.minimum(x.data, 0))
    out = SELU_SCALE * np.where(positive, x.data, SELU_ALPHA * expm1)
    return make(out, (x,), lambda g: (g * SELU_SCALE * np.where(positive, 1.0, SELU_ALPHA * (expm1 + 1)),))


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    d = x.data
    if approximate == "tanh":
        k = math.sqrt(2.0 / math.pi)
        inner = k * (d + 0.044715 * d**3)
        t = np.tanh(inner)
        out = 0.5 * d * (1 + t)
        deriv = 0.5 * (1 + t) + 0.5 * d * (1 - t * t) * k * (1 + 3 * 0.044715 * d * d)
        return make(out, (x,), lambda g: (g * deriv,))
    cdf = 0.5 * (1.0 + erf(d / math.sqrt(2.0)))
    pdf = np.exp(-0.5 * d * d) / math.sqrt(2.0 * math.pi)
    return make(d * cdf, (x,), lambda g: (g * (cdf + d * pdf),))


def sigmoid_array(d: Array) -> Array:
    """A numerically stable logistic function."""
    out = np.empty_like(d)
    pos = d >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-d[pos]))
    e = np.exp(d[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def sigmoid(x: Tensor) -> Tensor:
    s = sigmoid_array(x.data)
    return make(s, (x,), lambda g: (g * s * (1 - s),))


def silu(x: Tensor) -> Tensor:
    s = sigmoid_array(x.data)
    return make(x.data * s, (x,), lambda g: (g * (s * (1 + x.data * (1 - s))),))


def softplus_array(d: Array) -> Array:
    return np.logaddexp(0, d).astype(d.dtype)


def mish(x: Tensor) -> Tensor:
    sp = softplus_array(x.data)
    t = np.tanh(sp)
    s = sigmoid_array(x.data)
    return make(x.data * t, (x,), lambda g: (g * (t + x.data * (1 - t * t) * s),))


def hard_sigmoid(x: Tensor) -> Tensor:
    inside = (x.data > -3) & (x.data < 3)
    return make(np.clip(x.data / 6 + 0.5, 0, 1), (x,), lambda g: (g * inside / 6,))


def tanh(x: Tensor) -> Tensor:
    t = np.tanh(x.data)
    return make(t, (x,), lambda g: (g * (1 - t * t),))


def softplus(x: Tensor) -> Tensor:
    s = sigmoid_array(x.data)
    return make(softplus_array(x.data), (x,), lambda g: (g * s,))


def softsign(x: Tensor) -> Tensor:
    denom = 1 + np.abs(x.data)
    return make(x.data / denom, (x,), lambda g: (g / (denom * denom),))


def exponential(x: Tensor) -> Tensor:
    return ops.exp(x)


def linear(x: Tensor) -> Tensor:
    return x


SIMPLE: dict[str, Callable[[Tensor], Tensor]] = {
    "linear": linear,
    "relu": relu,
    "relu6": relu6,
    "selu": selu,
    "silu": silu,
    "mish": mish,
    "sigmoid": sigmoid,
    "hard_sigmoid": hard_sigmoid,
    "tanh": tanh,
    "softplus": softplus,
    "softsign": softsign,
    "exponential": exponential,
    "elu": elu,
    "gelu": gelu,
    "leaky_relu": leaky_relu,
}


def apply(name: str, x: Tensor, *, weight: Tensor | None = None, channel_axis: int = -1, axis: int = -1) -> Tensor:
    """Apply activation `name` with the language's defaults (softmax over `axis`)."""
    if name == "softmax":
        return ops.softmax(x, axis)
    if name == "log_softmax":
        return ops.log_softmax(x, axis)
    if name == "prelu":
        if weight is None:
            raise BackendError("prelu needs its slope weight")
        return prelu(x, weight, channel_axis)
    fn = SIMPLE.get(name)
    if fn is None:
        raise BackendError(f"the NumPy runtime has no activation {name!r}")
    return fn(x)
