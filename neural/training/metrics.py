"""Streaming metrics: `update(pred, target)` per batch, `result()` for the epoch, `reset()` between.

Counts accumulate over batches, so `result()` is the metric of every sample seen since `reset()`,
not an average of batch averages.

How classification targets are read (N = batch, `...` = further axes, C = classes):

| task | pred | target | predicted class | true class |
|---|---|---|---|---|
| binary | (N, ..., 1) or (N,) | same number of elements | pred > threshold | target > 0.5 |
| categorical | (N, ..., C), C > 1 | (N, ..., C) one-hot | argmax pred | argmax target |
| sparse | (N, ..., C), C > 1 | (N, ...) or (N, ..., 1) integers | argmax pred | target |

The task is decided from the shapes (`task="auto"`), except that a binary cross-entropy loss makes
it binary for every shape (multi-label outputs: each element is its own yes/no decision), and that
loss's `from_logits` moves the threshold from 0.5 to 0 (`build_metric(component, loss=...)`).

Precision, recall and F1 are those of the positive class (1) for a binary task. For more classes
they are macro-averaged: computed per class from the accumulated counts, then averaged with equal
weight over the classes that occurred in the targets or the predictions so far (sklearn's
`average="macro"`); a class with no predicted (or no true) samples has precision (or recall) 0.
F1 is averaged per class (mean of the per-class F1), not the F1 of the averaged precision and recall.

Top-k accuracy counts a sample as correct when fewer than k classes score strictly higher than
the true class (ties at the boundary count as in the top k, as TensorFlow's `in_top_k`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from neural.errors import InvalidValueError, NameResolutionError
from neural.ir import Component
from neural.runtime.tensor import Array, Tensor

TASKS = ("auto", "binary", "categorical", "sparse")


def lower_is_better(name: str) -> bool:
    """Whether a monitored quantity improves by going down: losses and errors (mae, mse)."""
    lowered = name.lower()
    return any(word in lowered for word in ("loss", "error", "mae", "mse"))


def resolve_mode(monitor: str, mode: str = "auto") -> str:
    """ "min" or "max" for a monitored name; "auto" is min for losses and errors, max otherwise."""
    if mode == "auto":
        return "min" if lower_is_better(monitor) else "max"
    if mode not in ("min", "max"):
        raise InvalidValueError(f"mode must be auto, min or max; received {mode!r}")
    return mode


def _array(value: Any) -> Array:
    return value.data if isinstance(value, Tensor) else np.asarray(value)


def infer_task(pred_shape: tuple[int, ...], target_shape: tuple[int, ...]) -> str:
    """ "binary", "categorical" or "sparse" from the shapes of predictions and targets."""
    if len(pred_shape) <= 1 or pred_shape[-1] == 1:
        return "binary"
    if target_shape == pred_shape:
        return "categorical"
    if target_shape in (pred_shape[:-1], (*pred_shape[:-1], 1)):
        return "sparse"
    raise InvalidValueError(f"metric: targets of shape {target_shape} do not fit predictions of shape {pred_shape}")


def labels(pred: Array, target: Array, task: str, threshold: float = 0.5) -> tuple[Array, Array, int]:
    """(predicted classes, true classes, number of classes), both integer arrays of one shape."""
    if task == "auto":
        task = infer_task(pred.shape, target.shape)
    if task == "binary":
        if target.size != pred.size:
            raise InvalidValueError(
                f"metric: binary targets of shape {target.shape} do not match predictions of shape {pred.shape}"
            )
        return (pred > threshold).astype(np.int64).ravel(), (target > 0.5).astype(np.int64).ravel(), 2
    return np.argmax(pred, axis=-1).ravel(), true_classes(pred, target, task), pred.shape[-1]


def true_classes(pred: Array, target: Array, task: str) -> Array:
    """True class per position (flattened) for categorical or sparse targets of `pred` (N, ..., C)."""
    if task == "auto":
        task = infer_task(pred.shape, target.shape)
    if task == "categorical":
        if target.shape != pred.shape:
            raise InvalidValueError(
                f"metric: one-hot targets of shape {target.shape} do not match predictions of shape {pred.shape}"
            )
        return np.argmax(target, axis=-1).ravel()
    if target.shape == (*pred.shape[:-1], 1):
        target = target.reshape(pred.shape[:-1])
    if target.shape != pred.shape[:-1]:
        raise InvalidValueError(
            f"metric: integer targets of shape {target.shape} do not match predictions of shape {pred.shape}"
        )
    classes = target.astype(np.int64).ravel()
    if classes.size and (classes.min() < 0 or classes.max() >= pred.shape[-1]):
        raise InvalidValueError(
            f"metric: target classes must lie in [0, {pred.shape[-1]}); found {int(classes.min())}..{int(classes.max())}"
        )
    return classes


class Metric:
    """Base class: a name, streaming `update`, `result` and `reset`."""

    name = "metric"

    def update(self, pred: Any, target: Any) -> None:
        raise NotImplementedError

    def result(self) -> float:
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError


class _Ratio(Metric):
    """A metric of the form (sum of per-sample values) / (number of values)."""

    def __init__(self) -> None:
        self.total = 0.0
        self.count = 0

    def add(self, values: Array) -> None:
        self.total += float(np.sum(values, dtype=np.float64))
        self.count += int(values.size)

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0

    def reset(self) -> None:
        self.total, self.count = 0.0, 0


class Accuracy(_Ratio):
    """Fraction of positions whose predicted class is the true class (binary, categorical or sparse)."""

    name = "accuracy"

    def __init__(self, task: str = "auto", threshold: float = 0.5) -> None:
        super().__init__()
        self.task, self.threshold = task, threshold

    def update(self, pred: Any, target: Any) -> None:
        predicted, true, _ = labels(_array(pred), _array(target), self.task, self.threshold)
        self.add(predicted == true)


class TopKAccuracy(_Ratio):
    """Fraction of positions whose true class is among the k highest scores (pred (N, ..., C))."""

    def __init__(self, k: int = 5, task: str = "auto") -> None:
        super().__init__()
        self.k, self.task = k, task
        self.name = f"top_{k}_accuracy"

    def update(self, pred: Any, target: Any) -> None:
        scores, target = _array(pred), _array(target)
        if self.task == "binary" or infer_task(scores.shape, target.shape) == "binary":
            raise InvalidValueError(
                f"{self.name} needs class scores (N, C) with C > 1; received predictions of shape {scores.shape}"
            )
        flat = scores.reshape(-1, scores.shape[-1])
        true = true_classes(scores, target, self.task)
        true_scores = np.take_along_axis(flat, true[:, None], axis=1)
        self.add((flat > true_scores).sum(axis=1) < self.k)


class _Confusion(Metric):
    """Accumulated true positives, false positives and false negatives per class.

    Binary tasks keep counts for class 1 only; multi-class tasks keep one count per class and
    average per-class values over the classes seen (macro).
    """

    def __init__(self, task: str = "auto", threshold: float = 0.5) -> None:
        self.task, self.threshold = task, threshold
        self.reset()

    def reset(self) -> None:
        self.binary: bool | None = None
        self.tp = np.zeros(0, dtype=np.int64)
        self.fp = np.zeros(0, dtype=np.int64)
        self.fn = np.zeros(0, dtype=np.int64)
        self.seen = np.zeros(0, dtype=bool)

    def update(self, pred: Any, target: Any) -> None:
        pred_a, target_a = _array(pred), _array(target)
        task = self.task if self.task != "auto" else infer_task(pred_a.shape, target_a.shape)
        predicted, true, classes = labels(pred_a, target_a, task, self.threshold)
        self.binary = task == "binary"
        self._grow(classes)
        hits = np.bincount(true[predicted == true], minlength=classes)
        predicted_counts = np.bincount(predicted, minlength=classes)
        true_counts = np.bincount(true, minlength=classes)
        self.tp[:classes] += hits
        self.fp[:classes] += predicted_counts - hits
        self.fn[:classes] += true_counts - hits
        self.seen[:classes] |= (predicted_counts + true_counts) > 0

    def _grow(self, classes: int) -> None:
        if classes > self.tp.size:
            extra = classes - self.tp.size
            self.tp, self.fp, self.fn = (
                np.concatenate([a, np.zeros(extra, np.int64)]) for a in (self.tp, self.fp, self.fn)
            )
            self.seen = np.concatenate([self.seen, np.zeros(extra, bool)])

    def per_class(self, numerator: Array, denominator: Array) -> float:
        """numerator / denominator for class 1 (binary) or averaged over seen classes (macro); 0/0 = 0."""
        values = np.divide(numerator, denominator, out=np.zeros(numerator.shape), where=denominator > 0)
        if self.binary:
            return float(values[1]) if values.size > 1 else 0.0
        return float(values[self.seen].mean()) if self.seen.any() else 0.0


class Precision(_Confusion):
    """tp / (tp + fp)."""

    name = "precision"

    def result(self) -> float:
        return self.per_class(self.tp, self.tp + self.fp)


class Recall(_Confusion):
    """tp / (tp + fn)."""

    name = "recall"

    def result(self) -> float:
        return self.per_class(self.tp, self.tp + self.fn)


class F1(_Confusion):
    """2 tp / (2 tp + fp + fn), the harmonic mean of precision and recall (per class, then averaged)."""

    name = "f1"

    def result(self) -> float:
        return self.per_class(2 * self.tp, 2 * self.tp + self.fp + self.fn)


class _Regression(_Ratio):
    def update(self, pred: Any, target: Any) -> None:
        p, t = _array(pred), _array(target)
        if t.shape != p.shape:
            if t.size != p.size:
                raise InvalidValueError(
                    f"{self.name}: targets of shape {t.shape} do not match predictions of shape {p.shape}"
                )
            t = t.reshape(p.shape)
        self.add(self.values(p.astype(np.float64) - t.astype(np.float64)))

    def values(self, diff: Array) -> Array:
        raise NotImplementedError


class MeanAbsoluteError(_Regression):
    """mean |pred - target| over every element."""

    name = "mae"

    def values(self, diff: Array) -> Array:
        return np.abs(diff)


class MeanSquaredError(_Regression):
    """mean (pred - target)^2 over every element."""

    name = "mse"

    def values(self, diff: Array) -> Array:
        return diff * diff


def build_metric(component: Component, *, loss: Component | None = None) -> Metric:
    """The metric a `metrics:` entry names; `loss` (the network's loss) decides binary tasks and thresholds."""
    task, threshold = _task_from_loss(loss)
    name = component.name
    if name == "accuracy":
        return Accuracy(task, threshold)
    if name == "top_k_accuracy":
        return TopKAccuracy(int(component.config.k), task if task != "binary" else "auto")
    if name in _CONFUSION:
        return _CONFUSION[name](task, threshold)
    if name == "mae":
        return MeanAbsoluteError()
    if name == "mse":
        return MeanSquaredError()
    raise NameResolutionError(f"the NumPy runtime has no metric `{name}`")


def build_metrics(components: Sequence[Component], *, loss: Component | None = None) -> list[Metric]:
    return [build_metric(c, loss=loss) for c in components]


def _task_from_loss(loss: Component | None) -> tuple[str, float]:
    """("binary", 0 or 0.5) for a binary cross-entropy loss, else ("auto", 0.5)."""
    if loss is not None and loss.name == "binary_crossentropy":
        return "binary", 0.0 if loss.config.get("from_logits", False) else 0.5
    return "auto", 0.5


_CONFUSION: dict[str, type[_Confusion]] = {"precision": Precision, "recall": Recall, "f1": F1}
