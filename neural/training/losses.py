"""Losses as differentiable ops: `(pred Tensor, target array) -> scalar Tensor`, averaged over the batch.

Each loss is one fused op with a hand-written backward (`tensor.make`), so a training step pays for
one array expression, not a chain of tiny ops.

Shapes (N = batch, `...` = any further axes such as time steps, C = classes):

| loss | pred | target |
|---|---|---|
| categorical_crossentropy | (N, ..., C) | (N, ..., C) one-hot or class probabilities |
| sparse_categorical_crossentropy | (N, ..., C) | (N, ...) integer classes (a trailing axis of 1 is accepted) |
| binary_crossentropy | any | same number of elements, 0/1 (or soft) targets |
| mean_squared_error, mean_absolute_error, huber | any | same number of elements |

Cross-entropies sum over the class axis and average over every other position (N * ...), like
`torch.nn.functional.cross_entropy` and Keras. Regression losses and binary cross-entropy average
over every element (PyTorch's `reduction="mean"`). A target with the same number of elements but a
different shape (`(N,)` against `(N, 1)`) is reshaped to the prediction, never broadcast.

Probabilities versus logits: with `from_logits=false` (the default) predictions are probabilities,
typically the output of a final softmax/sigmoid layer. They are clipped to [1e-7, 1 - 1e-7] before
the logarithm, exactly as Keras does, and the gradient is zero where clipping was active (as
TensorFlow's clip_by_value). The softmax is *not* fused with the loss: a network whose last
activation is softmax is trained from its probabilities, which is as stable as Keras but not as
stable as logits. For the best numerical behaviour end the network with a linear layer and write
`from_logits=true`: the loss then uses a stable log-softmax (log-sigmoid for binary), and its
gradient with respect to the logits is `softmax(x) - target`. Unlike Keras, probabilities are not
renormalised to sum to 1 first, so the value and gradient equal `nll_loss(log(p))` in PyTorch.

Label smoothing replaces a target t by `t * (1 - s) + s / C` (categorical and sparse, as PyTorch's
`cross_entropy(label_smoothing=s)` and Keras) and by `t * (1 - s) + s / 2` for binary (Keras).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from neural.errors import InvalidValueError, NameResolutionError
from neural.ir import Component
from neural.runtime.tensor import Array, Tensor, make

EPSILON = 1e-7

LossFn = Callable[[Tensor, Array], Tensor]


@dataclass(frozen=True)
class Loss:
    """A configured loss: call it with `(pred, target)` to get a scalar Tensor."""

    name: str
    fn: LossFn
    from_logits: bool = False

    def __call__(self, pred: Tensor, target: Any) -> Tensor:
        return self.fn(pred, np.asarray(target))


def build_loss(component: Component) -> Loss:
    """The loss a `loss:` section names (a validated `Component` from the IR)."""
    cfg = component.config
    name = component.name
    from_logits = bool(cfg.get("from_logits", False))
    fn: LossFn
    if name in _CROSSENTROPIES:
        fn = partial(
            _CROSSENTROPIES[name], from_logits=from_logits, label_smoothing=float(cfg.get("label_smoothing", 0.0))
        )
    elif name in _REGRESSION:
        fn = _REGRESSION[name]
    elif name == "huber":
        fn = partial(huber, delta=float(cfg.delta))
    else:
        raise NameResolutionError(f"the NumPy runtime has no loss `{name}`")
    return Loss(name, fn, from_logits)


# --- target handling ---


def _like(pred: Tensor, target: Array, loss: str) -> Array:
    """`target` in `pred`'s shape and dtype; same element count required (no broadcasting)."""
    target = np.asarray(target)
    if target.shape != pred.shape:
        if target.size != pred.data.size:
            raise InvalidValueError(
                f"{loss}: targets of shape {target.shape} do not match predictions of shape {pred.shape}"
            )
        target = target.reshape(pred.shape)
    return target.astype(pred.dtype, copy=False)


def one_hot(classes: Array, count: int, dtype: Any, loss: str = "sparse_categorical_crossentropy") -> Array:
    """Integer classes (...) -> one-hot (..., count); out-of-range classes are an error."""
    classes = np.asarray(classes)
    if classes.size and (not np.all(np.equal(np.mod(classes, 1), 0)) or classes.min() < 0 or classes.max() >= count):
        bad = classes[(classes < 0) | (classes >= count) | (np.mod(classes, 1) != 0)].ravel()[0]
        raise InvalidValueError(f"{loss}: target class {bad} is not an integer in [0, {count})")
    out = np.zeros((*classes.shape, count), dtype=dtype)
    np.put_along_axis(out, classes.astype(np.int64)[..., None], 1.0, axis=-1)
    return out


def _sparse_to_dense(pred: Tensor, target: Array) -> Array:
    """Sparse targets (N, ...) or (N, ..., 1) for pred (N, ..., C) -> one-hot (N, ..., C)."""
    target = np.asarray(target)
    rows = pred.shape[:-1]
    if target.shape != rows and target.shape == (*rows, 1):
        target = target.reshape(rows)
    if target.shape != rows:
        raise InvalidValueError(
            f"sparse_categorical_crossentropy: integer targets of shape {target.shape} do not match predictions "
            f"of shape {pred.shape} (expected targets of shape {rows})"
        )
    return one_hot(target, pred.shape[-1], pred.dtype)


def _smooth(target: Array, smoothing: float, classes: int) -> Array:
    return target if smoothing == 0.0 else target * (1.0 - smoothing) + smoothing / classes


# --- cross-entropies ---


def categorical_crossentropy(
    pred: Tensor, target: Array, *, from_logits: bool = False, label_smoothing: float = 0.0
) -> Tensor:
    """pred (N, ..., C) probabilities or logits, target (N, ..., C) -> mean over N * ... of -sum_c t log p."""
    if pred.ndim < 1 or np.shape(target) != pred.shape:
        raise InvalidValueError(
            f"categorical_crossentropy: targets of shape {np.shape(target)} do not match predictions of shape {pred.shape} "
            "(one-hot targets; use sparse_categorical_crossentropy for integer classes)"
        )
    dense = _smooth(np.asarray(target).astype(pred.dtype, copy=False), label_smoothing, pred.shape[-1])
    return _dense_crossentropy(pred, dense, from_logits)


def sparse_categorical_crossentropy(
    pred: Tensor, target: Array, *, from_logits: bool = False, label_smoothing: float = 0.0
) -> Tensor:
    """pred (N, ..., C), integer target (N, ...) -> mean over N * ... of -log p[target]."""
    dense = _smooth(_sparse_to_dense(pred, target), label_smoothing, pred.shape[-1])
    return _dense_crossentropy(pred, dense, from_logits)


def _dense_crossentropy(pred: Tensor, target: Array, from_logits: bool) -> Tensor:
    rows = max(pred.data.size // max(pred.shape[-1], 1), 1)
    if from_logits:
        return _logits_crossentropy(pred, target, rows)
    return _probability_crossentropy(pred, target, rows)


def _logits_crossentropy(logits: Tensor, target: Array, rows: int) -> Tensor:
    """-sum(t * log_softmax(x)) / rows; d/dx = (softmax(x) * sum(t) - t) / rows."""
    shifted = logits.data - logits.data.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=-1, keepdims=True)
    log_probs = shifted - np.log(total)
    value = -(target * log_probs).sum() / rows

    def backward(g: Array) -> tuple[Array]:
        probs = exp / total
        return ((probs * target.sum(axis=-1, keepdims=True) - target) * (g / rows),)

    return make(np.asarray(value, dtype=logits.dtype), (logits,), backward)


def _probability_crossentropy(probs: Tensor, target: Array, rows: int) -> Tensor:
    """-sum(t * log(clip(p, eps, 1 - eps))) / rows; zero gradient where clipped."""
    clipped, inside = _clip(probs.data)
    value = -(target * np.log(clipped)).sum() / rows

    def backward(g: Array) -> tuple[Array]:
        return (-(target / clipped) * inside * (g / rows),)

    return make(np.asarray(value, dtype=probs.dtype), (probs,), backward)


def _clip(p: Array) -> tuple[Array, Array]:
    """p clipped to [eps, 1 - eps] (Keras) and the mask where the gradient passes."""
    low, high = p.dtype.type(EPSILON), p.dtype.type(1.0 - EPSILON)
    return np.clip(p, low, high), (p >= low) & (p <= high)


def binary_crossentropy(
    pred: Tensor, target: Array, *, from_logits: bool = False, label_smoothing: float = 0.0
) -> Tensor:
    """pred and target of the same size -> mean of -(t log p + (1 - t) log(1 - p)) over every element."""
    t = _like(pred, target, "binary_crossentropy")
    if label_smoothing:
        t = t * (1.0 - label_smoothing) + 0.5 * label_smoothing
    count = max(pred.data.size, 1)
    return _bce_logits(pred, t, count) if from_logits else _bce_probabilities(pred, t, count)


def _bce_probabilities(probs: Tensor, t: Array, count: int) -> Tensor:
    clipped, inside = _clip(probs.data)
    value = -(t * np.log(clipped) + (1 - t) * np.log1p(-clipped)).sum() / count

    def backward(g: Array) -> tuple[Array]:
        return ((-(t / clipped) + (1 - t) / (1 - clipped)) * inside * (g / count),)

    return make(np.asarray(value, dtype=probs.dtype), (probs,), backward)


def _bce_logits(logits: Tensor, t: Array, count: int) -> Tensor:
    """Stable form max(x, 0) - x t + log(1 + exp(-|x|)); d/dx = sigmoid(x) - t."""
    x = logits.data
    value = (np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))).sum() / count

    def backward(g: Array) -> tuple[Array]:
        sigmoid = 0.5 * (1.0 + np.tanh(0.5 * x))
        return ((sigmoid - t) * (g / count),)

    return make(np.asarray(value, dtype=logits.dtype), (logits,), backward)


# --- regression ---


def mean_squared_error(pred: Tensor, target: Array) -> Tensor:
    """mean((pred - target)^2) over every element."""
    diff = pred.data - _like(pred, target, "mean_squared_error")
    count = max(diff.size, 1)
    return make(
        np.asarray((diff * diff).sum() / count, dtype=pred.dtype), (pred,), lambda g: (diff * (2.0 * g / count),)
    )


def mean_absolute_error(pred: Tensor, target: Array) -> Tensor:
    """mean(|pred - target|) over every element (gradient sign(d), 0 at d = 0 as in PyTorch)."""
    diff = pred.data - _like(pred, target, "mean_absolute_error")
    count = max(diff.size, 1)
    return make(
        np.asarray(np.abs(diff).sum() / count, dtype=pred.dtype), (pred,), lambda g: (np.sign(diff) * (g / count),)
    )


def huber(pred: Tensor, target: Array, *, delta: float = 1.0) -> Tensor:
    """mean of 0.5 d^2 where |d| <= delta, else delta (|d| - delta / 2); d = pred - target."""
    diff = pred.data - _like(pred, target, "huber")
    count = max(diff.size, 1)
    small = np.abs(diff) <= delta
    values = np.where(small, 0.5 * diff * diff, delta * (np.abs(diff) - 0.5 * delta))

    def backward(g: Array) -> tuple[Array]:
        return (np.where(small, diff, delta * np.sign(diff)) * (g / count),)

    return make(np.asarray(values.sum() / count, dtype=pred.dtype), (pred,), backward)


_CROSSENTROPIES: dict[str, Callable[..., Tensor]] = {
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "binary_crossentropy": binary_crossentropy,
}
_REGRESSION: dict[str, LossFn] = {"mean_squared_error": mean_squared_error, "mean_absolute_error": mean_absolute_error}
