"""Training code copied into every generated Keras module (everything below the marker line).

It is a real module so that ruff and mypy check it, and it is tested through generated scripts and the
in-process backend, which use its functions. The generated module defines, before this code: NETWORK,
INPUTS, OUTPUTS, LAYOUT, WEIGHTS, TRAIN, LOSS, OPTIMIZER, SCHEDULE, METRICS, EXECUTION (plain literals),
`build_model()` and the framework-free training code of common/runner.py; the placeholders and the import
below stand in for them here.

Keras' built-in losses, optimizers and schedules differ from the language's (which are PyTorch's) in
places: Keras renormalizes probabilities before a cross-entropy, puts Adam's epsilon before the bias
correction and RMSprop's / Adagrad's inside the square root, applies weight decay decoupled, keeps the
learning rate inside SGD's momentum and clips per variable. So the loss functions, the `Torch*`
optimizers (Keras optimizers with PyTorch's update rules and gradient clipping), the schedules and the
metrics below implement the language's definitions; `model.compile` / `model.fit` run them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

os.environ["KERAS_BACKEND"] = "tensorflow"

import keras
import tensorflow as tf
from keras import layers, ops  # noqa: F401

from neural.targets.common.runner import (
    EXECUTION,
    INPUTS,
    LOSS,
    METRICS,
    NETWORK,
    OPTIMIZER,
    OUTPUTS,
    SCHEDULE,
    TRAIN,
    Plateau,
    add_data_arguments,
    base_learning_rate,
    load_data,
    split_indices,
    train_settings,
)

WEIGHTS: dict[str, tuple[str, str, tuple[int, ...], tuple[tuple[str, tuple[int, ...]], ...]]] = {}


def build_model() -> keras.Model:
    raise NotImplementedError


# ---- generated modules include everything below this line ----


# ---- weights in Neural's canonical names (PyTorch names and layouts) ----


def keras_variable(model: keras.Model, name: str) -> Any:
    """The Keras variable that holds canonical weight `name`."""
    layer_name, attribute, _, _ = WEIGHTS[name]
    found: Any = model.get_layer(layer_name)
    for part in attribute.split("."):
        found = getattr(found, part)
    return found


def to_keras_layout(array: np.ndarray, steps: tuple[tuple[str, tuple[int, ...]], ...]) -> np.ndarray:
    for op, arg in steps:
        array = np.transpose(array, arg) if op == "transpose" else np.reshape(array, arg)
    return array


def to_canonical_layout(
    array: np.ndarray, steps: tuple[tuple[str, tuple[int, ...]], ...], shape: tuple[int, ...]
) -> np.ndarray:
    shapes = [tuple(shape)]
    for op, arg in steps:
        shapes.append(tuple(shapes[-1][i] for i in arg) if op == "transpose" else tuple(arg))
    for (op, arg), before in reversed(list(zip(steps, shapes))):
        array = np.transpose(array, np.argsort(arg)) if op == "transpose" else np.reshape(array, before)
    return array


def load_canonical(model: keras.Model, weights: dict[str, np.ndarray]) -> None:
    """Set the model's variables from canonical weights (every name of WEIGHTS, no other)."""
    missing = sorted(set(WEIGHTS) - set(weights))
    unexpected = sorted(set(weights) - set(WEIGHTS))
    if missing or unexpected:
        raise ValueError(f"weights do not match {NETWORK}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    for name, (_, _, shape, steps) in WEIGHTS.items():
        array = np.asarray(weights[name])
        if tuple(array.shape) != tuple(shape):
            raise ValueError(f"{name}: expected shape {tuple(shape)}, received {tuple(array.shape)}")
        variable = keras_variable(model, name)
        variable.assign(to_keras_layout(array, steps).astype(variable.dtype))


def canonical_weights(model: keras.Model) -> dict[str, np.ndarray]:
    """The model's variables under their canonical names and layouts."""
    found = {}
    for name, (_, _, shape, steps) in WEIGHTS.items():
        found[name] = np.ascontiguousarray(to_canonical_layout(np.asarray(keras_variable(model, name)), steps, shape))
    return found


def save_weights(model: keras.Model, path: Path, epoch: int) -> None:
    """Canonical weights in a Neural checkpoint (safetensors, no pickle): they load into every Neural backend
    (`neural.training.checkpoint.load_checkpoint`)."""
    from safetensors.numpy import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tensors = {f"weights/{name}": value for name, value in canonical_weights(model).items()}
    state = json.dumps({"network": NETWORK, "epoch": epoch, "backend": "tensorflow"})
    save_file(tensors, str(tmp), metadata={"format": "neural-checkpoint/1", "neural.state": state})
    os.replace(tmp, path)


# ---- loss ----


def make_loss(spec: dict[str, Any]) -> Callable[[Any, Any], Any]:
    """The train block's loss as a Keras loss function (y_true, y_pred) -> loss of each sample (Keras
    averages them over the batch, and over the replicas of a distributed model).

    The mean over samples is the language's loss: cross-entropies average over every position but the class
    axis, the others over every element. Cross-entropies from probabilities clip them to [1e-7, 1 - 1e-7]
    without renormalizing; targets with the prediction's number of elements are reshaped to it, never
    broadcast."""
    name, from_logits, smoothing = spec["name"], spec.get("from_logits", False), spec.get("label_smoothing", 0.0)
    eps = 1e-7

    def per_sample(values: Any) -> Any:
        return ops.mean(values, axis=list(range(1, len(values.shape)))) if len(values.shape) > 1 else values

    def categorical(target: Any, pred: Any) -> Any:
        classes = pred.shape[-1]
        if name == "sparse_categorical_crossentropy":
            labels = ops.cast(ops.reshape(target, ops.shape(pred)[:-1]), "int32")
            target = ops.one_hot(labels, classes, dtype=pred.dtype)
        else:
            target = ops.cast(target, pred.dtype)
        if smoothing:
            target = target * (1 - smoothing) + smoothing / classes
        logp = ops.log_softmax(pred, axis=-1) if from_logits else ops.log(ops.clip(pred, eps, 1 - eps))
        return per_sample(-ops.sum(target * logp, axis=-1))

    def binary(target: Any, pred: Any) -> Any:
        target = ops.cast(ops.reshape(target, ops.shape(pred)), pred.dtype)
        if smoothing:
            target = target * (1 - smoothing) + 0.5 * smoothing
        if from_logits:
            return per_sample(ops.relu(pred) - pred * target + ops.log1p(ops.exp(-ops.abs(pred))))
        p = ops.clip(pred, eps, 1 - eps)
        return per_sample(-(target * ops.log(p) + (1 - target) * ops.log1p(-p)))

    def regression(target: Any, pred: Any) -> Any:
        diff = pred - ops.cast(ops.reshape(target, ops.shape(pred)), pred.dtype)
        if name == "mean_squared_error":
            return per_sample(diff * diff)
        if name == "mean_absolute_error":
            return per_sample(ops.abs(diff))
        delta = spec.get("delta", 1.0)
        size = ops.abs(diff)
        return per_sample(ops.where(size <= delta, 0.5 * diff * diff, delta * (size - 0.5 * delta)))

    if name in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        return categorical
    if name == "binary_crossentropy":
        return binary
    return regression


# ---- optimizers with PyTorch's update rules ----


class TorchOptimizer(keras.optimizers.Optimizer):
    """Base of the optimizers below: per-variable buffers under PyTorch's names, and PyTorch's gradient
    clipping (the global norm scaled by min(1, clip_norm / (norm + 1e-6)), then each value clipped)."""

    def __init__(
        self, learning_rate: Any, clip_norm: float | None = None, clip_value: float | None = None, **kwargs: Any
    ) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.clip_norm, self.clip_value = clip_norm, clip_value
        self.buffers: dict[str, list[Any]] = {}

    def add_buffers(self, variables: list[Any], *names: str, initializer: Any = "zeros") -> None:
        for name in names:
            self.buffers[name] = [self.add_variable_from_reference(v, name, initializer=initializer) for v in variables]

    def state(self, variable: Any) -> dict[str, Any]:
        index = self._get_variable_index(variable)
        return {name: buffers[index] for name, buffers in self.buffers.items()}

    def _clip_gradients(self, grads: list[Any]) -> list[Any]:
        # dense gradients (an embedding's are IndexedSlices): PyTorch's rules update every row, as torch.nn.Embedding
        grads = [None if g is None else tf.convert_to_tensor(g) for g in grads]
        if self.clip_norm:
            total = ops.sqrt(sum(ops.sum(ops.square(g)) for g in grads if g is not None))
            scale = ops.minimum(self.clip_norm / (total + 1e-6), 1.0)
            grads = [None if g is None else g * ops.cast(scale, g.dtype) for g in grads]
        if self.clip_value:
            grads = [None if g is None else ops.clip(g, -self.clip_value, self.clip_value) for g in grads]
        return grads


class TorchSGD(TorchOptimizer):
    """torch.optim.SGD (dampening 0): d = g + wd p; buf = m buf + d; d = d + m buf (Nesterov) or buf; p -= lr d."""

    def __init__(
        self,
        learning_rate: Any = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, name="SGD", **kwargs)
        self.momentum, self.nesterov, self.l2 = momentum, nesterov, weight_decay

    def build(self, variables: list[Any]) -> None:
        if self.built:
            return
        super().build(variables)
        if self.momentum:
            self.add_buffers(variables, "momentum_buffer")

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        lr = ops.cast(learning_rate, variable.dtype)
        d = ops.cast(gradient, variable.dtype)
        if self.l2:
            d = d + self.l2 * variable
        if self.momentum:
            buf = self.state(variable)["momentum_buffer"]
            self.assign(buf, self.momentum * buf + d)
            d = d + self.momentum * buf if self.nesterov else buf
        self.assign_sub(variable, lr * d)


class TorchAdam(TorchOptimizer):
    """torch.optim.Adam / AdamW (`decoupled`): bias-corrected moments, epsilon added after the correction,
    weight decay as L2 on the gradient (Adam) or p *= 1 - lr wd (AdamW); amsgrad keeps the largest v."""

    def __init__(
        self,
        learning_rate: Any = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        decoupled: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, name="AdamW" if decoupled else "Adam", **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.l2, self.amsgrad, self.decoupled = weight_decay, amsgrad, decoupled

    def build(self, variables: list[Any]) -> None:
        if self.built:
            return
        super().build(variables)
        self.add_buffers(variables, "exp_avg", "exp_avg_sq", *(["max_exp_avg_sq"] if self.amsgrad else []))

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        step = ops.cast(self.iterations + 1, variable.dtype)
        state = self.state(variable)
        if self.decoupled and self.l2:
            self.assign(variable, variable * (1 - lr * self.l2))
        elif self.l2:
            g = g + self.l2 * variable
        m, v = state["exp_avg"], state["exp_avg_sq"]
        self.assign_add(m, (1 - self.beta_1) * (g - m))
        self.assign(v, self.beta_2 * v + (1 - self.beta_2) * g * g)
        if self.amsgrad:
            self.assign(state["max_exp_avg_sq"], ops.maximum(state["max_exp_avg_sq"], v))
            v = state["max_exp_avg_sq"]
        step_size = lr / (1 - ops.power(ops.cast(self.beta_1, variable.dtype), step))
        correction = ops.sqrt(1 - ops.power(ops.cast(self.beta_2, variable.dtype), step))
        self.assign_sub(variable, step_size * m / (ops.sqrt(v) / correction + self.epsilon))


class TorchRMSprop(TorchOptimizer):
    """torch.optim.RMSprop (rho is torch's alpha): p -= lr g / (sqrt(v [- mean(g)^2]) + eps), with momentum."""

    def __init__(
        self,
        learning_rate: Any = 0.01,
        rho: float = 0.99,
        momentum: float = 0.0,
        epsilon: float = 1e-8,
        centered: bool = False,
        weight_decay: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, name="RMSprop", **kwargs)
        self.rho, self.momentum, self.epsilon, self.centered, self.l2 = rho, momentum, epsilon, centered, weight_decay

    def build(self, variables: list[Any]) -> None:
        if self.built:
            return
        super().build(variables)
        names = (
            ["square_avg"]
            + (["momentum_buffer"] if self.momentum > 0 else [])
            + (["grad_avg"] if self.centered else [])
        )
        self.add_buffers(variables, *names)

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        if self.l2:
            g = g + self.l2 * variable
        state = self.state(variable)
        square_avg = state["square_avg"]
        self.assign(square_avg, self.rho * square_avg + (1 - self.rho) * g * g)
        if self.centered:
            grad_avg = state["grad_avg"]
            self.assign_add(grad_avg, (1 - self.rho) * (g - grad_avg))
            avg = ops.sqrt(square_avg - grad_avg * grad_avg) + self.epsilon
        else:
            avg = ops.sqrt(square_avg) + self.epsilon
        if self.momentum > 0:
            buf = state["momentum_buffer"]
            self.assign(buf, self.momentum * buf + g / avg)
            self.assign_sub(variable, lr * buf)
        else:
            self.assign_sub(variable, lr * g / avg)


class TorchAdagrad(TorchOptimizer):
    """torch.optim.Adagrad (lr_decay 0): sum += g^2; p -= lr g / (sqrt(sum) + eps)."""

    def __init__(
        self,
        learning_rate: Any = 0.01,
        initial_accumulator_value: float = 0.0,
        epsilon: float = 1e-10,
        weight_decay: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, name="Adagrad", **kwargs)
        self.initial_accumulator_value, self.epsilon, self.l2 = initial_accumulator_value, epsilon, weight_decay

    def build(self, variables: list[Any]) -> None:
        if self.built:
            return
        super().build(variables)
        self.add_buffers(variables, "sum", initializer=keras.initializers.Constant(self.initial_accumulator_value))

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        if self.l2:
            g = g + self.l2 * variable
        total = self.state(variable)["sum"]
        self.assign_add(total, g * g)
        self.assign_sub(variable, lr * g / (ops.sqrt(total) + self.epsilon))


def make_optimizer(
    spec: dict[str, Any], learning_rate: Any, *, clip_norm: float | None = None, clip_value: float | None = None
) -> TorchOptimizer:
    """The train block's optimizer (Neural's argument names) with PyTorch's update rule."""
    options = {k: v for k, v in spec.items() if k not in ("name", "learning_rate")}
    clips: dict[str, Any] = {"clip_norm": clip_norm, "clip_value": clip_value}
    name = spec["name"]
    if name == "SGD":
        return TorchSGD(learning_rate, **options, **clips)
    if name in ("Adam", "AdamW"):
        return TorchAdam(learning_rate, **options, decoupled=name == "AdamW", **clips)
    if name == "RMSprop":
        return TorchRMSprop(learning_rate, **options, **clips)
    return TorchAdagrad(learning_rate, **options, **clips)


# ---- learning-rate schedules (steps count optimizer updates from 0) ----


class WarmupDecay(keras.optimizers.schedules.LearningRateSchedule):
    """ExponentialDecay, StepDecay or CosineDecay after a linear warm-up from 0 over `warmup_steps`; the
    decay counts its steps from the end of the warm-up. CosineDecay holds alpha * lr after decay_steps."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec

    def __call__(self, step: Any) -> Any:
        spec, name = self.spec, self.spec["name"]
        lr, warmup = float(spec["initial_learning_rate"]), int(spec.get("warmup_steps", 0))
        step = ops.cast(step, "float32")
        decay_step = ops.maximum(step - warmup, 0.0)
        if name == "ExponentialDecay":
            exponent = decay_step / spec["decay_steps"]
            if spec["staircase"]:
                exponent = ops.floor(exponent)
            value = lr * ops.power(float(spec["decay_rate"]), exponent)
        elif name == "StepDecay":
            value = lr * ops.power(float(spec["gamma"]), ops.floor(decay_step / spec["step_size"]))
        else:
            progress = ops.minimum(decay_step, spec["decay_steps"]) / spec["decay_steps"]
            value = lr * ((1 - spec["alpha"]) * 0.5 * (1 + ops.cos(math.pi * progress)) + spec["alpha"])
        return ops.where(step < warmup, lr * step / max(warmup, 1), value) if warmup else value

    def get_config(self) -> dict[str, Any]:
        return {"spec": self.spec}


class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """torch's OneCycleLR (cosine, two phases), learning rate only; the final rate from total_steps - 1 on."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec

    def __call__(self, step: Any) -> Any:
        spec = self.spec
        max_lr = float(spec["max_learning_rate"])
        initial = max_lr / spec["div_factor"]
        final = initial / spec["final_div_factor"]
        warm_end = float(spec["pct_start"] * spec["total_steps"]) - 1
        end = float(spec["total_steps"] - 1)
        step = ops.cast(step, "float32")

        def cosine(start: float, stop: float, pct: Any) -> Any:
            return stop + (start - stop) / 2.0 * (ops.cos(math.pi * pct) + 1)

        rising = cosine(initial, max_lr, step / warm_end) if warm_end > 0 else max_lr
        falling = cosine(max_lr, final, (step - warm_end) / max(end - warm_end, 1e-12))
        return ops.where(step >= end, final, ops.where(step <= warm_end, rising, falling))

    def get_config(self) -> dict[str, Any]:
        return {"spec": self.spec}


def lower_is_better(name: str) -> bool:
    return any(word in name.lower() for word in ("loss", "error", "mae", "mse"))


def make_plateau(spec: dict[str, Any]) -> Plateau:
    """ReduceOnPlateau's rule (common/runner.py) for the schedule `spec`."""
    mode = spec.get("mode", "auto")
    return Plateau(spec, minimize=lower_is_better(spec["monitor"]) if mode == "auto" else mode == "min")


class ReduceOnPlateau(keras.callbacks.Callback):
    """torch's ReduceLROnPlateau (`Plateau`), stepped once per epoch on the monitored value of the logs."""

    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__()
        self.spec = spec
        self.plateau = make_plateau(spec)

    def step(self, value: float) -> float:
        """Take the epoch's monitored value; returns the learning rate from now on."""
        return self.plateau.step(value)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        value = logs.get(self.spec["monitor"], logs.get("val_loss", logs.get("loss")))
        if value is not None:
            self.model.optimizer.learning_rate.assign(self.step(float(value)))


def make_learning_rate(schedule: dict[str, Any] | None, optimizer: dict[str, Any]) -> Any:
    """A number or a LearningRateSchedule (ReduceOnPlateau starts from its initial rate; a callback lowers it)."""
    if schedule is None or schedule["name"] == "ReduceOnPlateau":
        return base_learning_rate(schedule, optimizer)
    if schedule["name"] == "OneCycle":
        return OneCycle(schedule)
    return WarmupDecay(schedule)


# ---- metrics (streaming over batches, as Neural defines them) ----


def class_labels(y_true: Any, y_pred: Any, binary: bool) -> tuple[Any, Any]:
    """(predicted classes, true classes), flat int32: thresholded for binary tasks, argmax otherwise."""
    if binary or y_pred.shape[-1] == 1 or len(y_pred.shape) <= 1:
        threshold = 0.0 if LOSS.get("from_logits") else 0.5
        predicted = ops.cast(ops.reshape(y_pred, (-1,)) > threshold, "int32")
        return predicted, ops.cast(ops.reshape(y_true, (-1,)) > 0.5, "int32")
    predicted = ops.reshape(ops.argmax(y_pred, axis=-1), (-1,))
    one_hot = len(y_true.shape) == len(y_pred.shape) and y_true.shape[-1] == y_pred.shape[-1]
    truth = ops.argmax(y_true, axis=-1) if one_hot else y_true
    return ops.cast(predicted, "int32"), ops.cast(ops.reshape(truth, (-1,)), "int32")


class Accuracy(keras.metrics.Metric):
    """Share of correct predictions (binary when the output has one unit or the loss is binary)."""

    def __init__(self, binary: bool, name: str = "accuracy") -> None:
        super().__init__(name=name)
        self.binary = binary
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        predicted, truth = class_labels(y_true, y_pred, self.binary)
        self.correct.assign_add(ops.sum(ops.cast(ops.equal(predicted, truth), "float32")))
        self.count.assign_add(ops.cast(ops.size(truth), "float32"))

    def result(self) -> Any:
        return self.correct / ops.maximum(self.count, 1.0)


class TopKAccuracy(keras.metrics.Metric):
    """Share of samples whose true class is among the k highest scores (ties count in, as in_top_k)."""

    def __init__(self, k: int) -> None:
        super().__init__(name=f"top_{k}_accuracy")
        self.k = k
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        _, truth = class_labels(y_true, y_pred, False)
        scores = ops.reshape(y_pred, (-1, y_pred.shape[-1]))
        hits = ops.in_top_k(truth, scores, min(self.k, y_pred.shape[-1]))
        self.correct.assign_add(ops.sum(ops.cast(hits, "float32")))
        self.count.assign_add(ops.cast(ops.size(truth), "float32"))

    def result(self) -> Any:
        return self.correct / ops.maximum(self.count, 1.0)


class ClassScore(keras.metrics.Metric):
    """precision, recall or f1 from a confusion matrix: of class 1 for a binary task, else macro-averaged
    over the classes seen so far in targets or predictions."""

    def __init__(self, name: str, classes: int, binary: bool) -> None:
        super().__init__(name=name)
        self.classes, self.binary = classes, binary
        self.confusion = self.add_variable(shape=(classes, classes), initializer="zeros", name="confusion")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        predicted, truth = class_labels(y_true, y_pred, self.binary)
        rows = ops.one_hot(truth, self.classes, dtype="float32")
        columns = ops.one_hot(predicted, self.classes, dtype="float32")
        self.confusion.assign_add(ops.matmul(ops.transpose(rows), columns))

    def result(self) -> Any:
        true_positive = ops.diagonal(self.confusion)
        predicted, actual = ops.sum(self.confusion, axis=0), ops.sum(self.confusion, axis=1)
        precision = true_positive / ops.maximum(predicted, 1.0)
        recall = true_positive / ops.maximum(actual, 1.0)
        scores = {
            "precision": precision,
            "recall": recall,
            "f1": 2 * precision * recall / ops.maximum(precision + recall, 1e-12),
        }
        values = scores[self.name]
        if self.binary:
            return values[1]
        seen = ops.cast(predicted + actual > 0, "float32")
        return ops.sum(values * seen) / ops.maximum(ops.sum(seen), 1.0)


def make_metrics(names: list[str]) -> list[Any]:
    binary = LOSS["name"] == "binary_crossentropy" or OUTPUTS[0][-1:] == (1,) or len(OUTPUTS[0]) == 0
    classes = 2 if binary else OUTPUTS[0][-1]
    found: list[Any] = []
    for name in names:
        if name == "accuracy":
            found.append(Accuracy(binary))
        elif name.startswith("top_"):
            found.append(TopKAccuracy(int(name.split("_")[1])))
        elif name in ("precision", "recall", "f1"):
            found.append(ClassScore(name, classes, binary))
        elif name == "mae":
            found.append(keras.metrics.MeanAbsoluteError(name="mae"))
        elif name == "mse":
            found.append(keras.metrics.MeanSquaredError(name="mse"))
    return found


# ---- training ----


def make_strategy(devices: int) -> tf.distribute.Strategy:
    """Data parallelism over `devices` replicas with tf.distribute.MirroredStrategy: that many GPUs when
    there are, else as many logical CPU devices (possible only before TensorFlow starts its runtime)."""
    if devices <= 1:
        return tf.distribute.get_strategy()
    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) >= devices:
        return tf.distribute.MirroredStrategy([f"/gpu:{i}" for i in range(devices)])
    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * devices)
    except RuntimeError:  # the runtime already started: use the logical devices it has
        print(
            f"note: TensorFlow already started; replicas on its {len(tf.config.list_logical_devices('CPU'))} CPU device(s)"
        )
    names = [device.name for device in tf.config.list_logical_devices("CPU")][:devices]
    return tf.distribute.MirroredStrategy(names)


class SaveWeights(keras.callbacks.Callback):
    """After every epoch, the canonical weights to `path` (safetensors)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        save_weights(self.model, self.path, epoch + 1)


def train(
    data: str,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    seed: int | None = None,
    out: str = "checkpoints",
    devices: int | None = None,
) -> dict[str, float]:
    """Train as the network's train block says with model.fit; returns the last epoch's metrics.

    Checkpoints (canonical safetensors, loadable by every Neural backend) go to `out`. With more than one
    device (`devices` or the execution block) the model is replicated with tf.distribute.MirroredStrategy.
    """
    settings, seed_value = train_settings(epochs, batch_size, seed)
    strategy = make_strategy(int(devices if devices is not None else EXECUTION.get("devices") or 1))
    keras.utils.set_random_seed(seed_value)
    arrays, targets = load_data(data, seed_value)
    train_idx, val_idx = split_indices(len(targets), float(settings.get("validation_split", 0.0)), seed_value)

    def part(indices: np.ndarray) -> Any:
        found = [arrays[name][indices] for name in INPUTS]
        return found[0] if len(found) == 1 else found

    with strategy.scope():
        model = build_model()
        optimizer = make_optimizer(
            OPTIMIZER,
            make_learning_rate(SCHEDULE, OPTIMIZER),
            clip_norm=TRAIN.get("clip_norm"),
            clip_value=TRAIN.get("clip_value"),
        )
        model.compile(optimizer=optimizer, loss=make_loss(LOSS), metrics=make_metrics(list(METRICS)))
    out_dir = Path(out)
    callbacks: list[Any] = [SaveWeights(out_dir / "model.safetensors")]
    if SCHEDULE is not None and SCHEDULE["name"] == "ReduceOnPlateau":
        callbacks.append(ReduceOnPlateau(SCHEDULE))
    stopping = TRAIN.get("early_stopping")
    if stopping:
        mode = stopping.get("mode", "auto")
        if mode == "auto":
            mode = "min" if lower_is_better(stopping["monitor"]) else "max"
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=stopping["monitor"],
                patience=stopping["patience"],
                min_delta=stopping["min_delta"],
                mode=mode,
                restore_best_weights=stopping.get("restore_best_weights", True),
                verbose=1,
            )
        )
    started = time.perf_counter()
    history = model.fit(
        part(train_idx),
        targets[train_idx],
        batch_size=int(settings["batch_size"]),
        epochs=int(settings["epochs"]),
        shuffle=bool(settings.get("shuffle", True)),
        validation_data=(part(val_idx), targets[val_idx]) if len(val_idx) else None,
        callbacks=callbacks,
        verbose=2,
    )
    epochs_run = len(history.history.get("loss", []))
    save_weights(model, out_dir / "model.safetensors", epochs_run)  # the restored best weights, with early stopping
    print(
        f"trained {epochs_run} epochs in {time.perf_counter() - started:.1f}s; weights in {out_dir / 'model.safetensors'}",
        flush=True,
    )
    return {"epoch": float(epochs_run), **{k: float(v[-1]) for k, v in history.history.items()}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=f"Train {NETWORK} with Keras on TensorFlow (generated by Neural).")
    add_data_arguments(parser)
    parser.add_argument("--out", default="checkpoints", help="directory for model.safetensors (canonical weights)")
    parser.add_argument(
        "--devices",
        type=int,
        default=None,
        help="data-parallel replicas (tf.distribute.MirroredStrategy); default: the execution block",
    )
    args = parser.parse_args(argv)
    train(args.data, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, out=args.out, devices=args.devices)


if __name__ == "__main__":
    main()
