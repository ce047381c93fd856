"""`neural train --backend tensorflow`: the generated Keras module, trained in process by the shared loop.

The loop (neural/training/loop.py) is the same as for the NumPy runtime: progress, run directory,
metrics files, checkpoints and resume. This backend builds the model, loss, optimizer and schedule with
the generated module's own functions (so it trains exactly as `python model.py` does) and runs each step
with tf.GradientTape inside a tf.function. Weights cross in canonical names through the module's WEIGHTS
map; optimizer state uses the NumPy runtime's format (`<parameter>/<buffer>` arrays with PyTorch's buffer
names, in canonical layouts), so checkpoints move between backends. One difference: Keras counts steps
per optimizer, PyTorch per parameter; the two agree unless a parameter went without a gradient.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import tensorflow as tf

from neural.errors import BackendError
from neural.shapes.engine import ShapedNetwork
from neural.targets.tensorflow.load import float32_only, import_network, keras_dtype
from neural.training.backend import Batch, require_training_setup


class TensorFlowBackend:
    """Training through the generated Keras module."""

    name = "tensorflow"

    def __init__(
        self,
        shaped: ShapedNetwork,
        *,
        seed: int = 0,
        dtype: Any = np.float32,
        clip_norm: float | None = None,
        clip_value: float | None = None,
    ) -> None:
        require_training_setup(shaped)
        self.shaped = shaped
        self.module: Any = import_network(shaped)
        m = self.module
        keras.utils.set_random_seed(seed)
        self.dtype = np.dtype(dtype)
        if self.dtype == np.float64 and float32_only(shaped):
            raise BackendError(
                f"TensorFlow runs {', '.join(float32_only(shaped))} in float32 only; train with --dtype float32"
            )
        with keras_dtype(self.dtype.name):
            self.model: keras.Model = m.build_model()
        self.loss_fn = m.make_loss(m.LOSS)
        schedule = m.SCHEDULE
        self.plateau = (
            m.make_plateau(schedule) if schedule is not None and schedule["name"] == "ReduceOnPlateau" else None
        )
        learning_rate = m.make_learning_rate(schedule, m.OPTIMIZER)
        self.optimizer = m.make_optimizer(m.OPTIMIZER, learning_rate, clip_norm=clip_norm, clip_value=clip_value)
        self.optimizer.build(self.model.trainable_variables)
        self.last_lr = float(self.optimizer.learning_rate)
        self._gradients = tf.function(self._loss_and_gradients, reduce_retracing=True, autograph=False)
        self._apply = tf.function(self._apply_gradients, reduce_retracing=True, autograph=False)
        self._forward = tf.function(self._inference, reduce_retracing=True, autograph=False)

    # --- steps ---
    def _inputs(self, x: Batch) -> list[np.ndarray]:
        arrays = []
        for spec in self.shaped.network.inputs:
            value = np.asarray(x[spec.name])
            arrays.append(value.astype(np.int64) if spec.dtype == "int64" else value.astype(self.dtype))
        return arrays

    def _target(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y)
        return y.astype(self.dtype) if y.dtype.kind == "f" else y

    def _call(self, inputs: list[Any], training: bool) -> Any:
        return self.model(inputs[0] if len(inputs) == 1 else inputs, training=training)

    def _loss_and_gradients(self, inputs: list[Any], y: Any) -> tuple[Any, Any, list[Any]]:
        with tf.GradientTape() as tape:
            pred = self._call(inputs, True)
            loss = tf.reduce_mean(self.loss_fn(y, pred))
        return loss, pred, tape.gradient(loss, self.model.trainable_variables)

    def _apply_gradients(self, gradients: list[Any]) -> None:
        self.optimizer.apply_gradients(zip(gradients, self.model.trainable_variables))

    def _inference(self, inputs: list[Any], y: Any) -> tuple[Any, Any]:
        pred = self._call(inputs, False)
        return tf.reduce_mean(self.loss_fn(y, pred)), pred

    def train_batch(self, x: Batch, y: np.ndarray) -> tuple[float, np.ndarray]:
        loss, pred, gradients = self._gradients(self._inputs(x), self._target(y))
        value = float(loss)
        if not math.isfinite(value):
            return value, np.asarray(pred)
        self.last_lr = float(self.optimizer.learning_rate)
        self._apply(gradients)
        return value, np.asarray(pred)

    def evaluate_batch(self, x: Batch, y: np.ndarray) -> tuple[float, np.ndarray]:
        loss, pred = self._forward(self._inputs(x), self._target(y))
        return float(loss), np.asarray(pred)

    def predict(self, x: Batch) -> np.ndarray:
        return np.asarray(self._call(self._inputs(x), False))

    # --- state ---
    def weights(self) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = self.module.canonical_weights(self.model)
        return found

    def load_weights(self, weights: Mapping[str, np.ndarray]) -> None:
        self.module.load_canonical(self.model, {k: np.asarray(v) for k, v in weights.items()})

    def _buffers(self) -> dict[str, tuple[Any, Any]]:
        """Canonical name -> (model variable, optimizer buffers by name) of every trained weight."""
        m = self.module
        trainable = {id(v) for v in self.model.trainable_variables}
        found = {}
        for name in m.WEIGHTS:
            variable = m.keras_variable(self.model, name)
            if id(variable) in trainable:
                found[name] = (variable, self.optimizer.state(variable))
        return found

    def optimizer_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        m = self.module
        iterations = int(self.optimizer.iterations)
        arrays: dict[str, np.ndarray] = {}
        steps: dict[str, int] = {}
        for name, (_, buffers) in self._buffers().items():
            _, _, shape, conversion = m.WEIGHTS[name]
            for buffer, value in buffers.items():
                arrays[f"{name}/{buffer}"] = np.ascontiguousarray(
                    m.to_canonical_layout(np.asarray(value), conversion, shape)
                )
            if buffers and iterations:
                steps[name] = iterations
        scalars = {
            "name": m.OPTIMIZER["name"],
            "iterations": iterations,
            "lr": self.last_lr,
            "steps": steps,
            "schedule": self._schedule_state(),
        }
        return scalars, arrays

    def _schedule_state(self) -> dict[str, Any]:
        schedule = self.module.SCHEDULE
        if self.plateau is not None:
            p = self.plateau
            best = p.best if math.isfinite(p.best) else None
            return {
                "name": "ReduceOnPlateau",
                "lr": p.lr,
                "best": best,
                "num_bad_epochs": p.bad_epochs,
                "last_epoch": p.last_epoch,
            }
        return {"name": schedule["name"] if schedule is not None else "constant"}

    def load_optimizer_state(self, scalars: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        m = self.module
        if scalars.get("name") != m.OPTIMIZER["name"]:
            raise ValueError(
                f"cannot resume a {m.OPTIMIZER['name']} optimizer from the state of {scalars.get('name')!r}"
            )
        buffers = self._buffers()
        for key, value in arrays.items():
            name, _, buffer = key.rpartition("/")
            if name not in buffers or buffer not in buffers[name][1]:
                raise ValueError(f"optimizer state {key} does not belong to this {m.OPTIMIZER['name']} optimizer")
            _, _, _, conversion = m.WEIGHTS[name]
            target = buffers[name][1][buffer]
            target.assign(m.to_keras_layout(np.asarray(value), conversion).astype(target.dtype))
        self.optimizer.iterations.assign(int(scalars.get("iterations", 0)))
        schedule = scalars.get("schedule") or {}
        if self.plateau is not None and schedule.get("name") == "ReduceOnPlateau":
            p = self.plateau
            p.lr = float(schedule["lr"])
            p.best = (
                float(schedule["best"]) if schedule.get("best") is not None else (math.inf if p.minimize else -math.inf)
            )
            p.bad_epochs, p.last_epoch = int(schedule["num_bad_epochs"]), int(schedule["last_epoch"])
            self.optimizer.learning_rate = p.lr
        self.last_lr = float(scalars.get("lr", self.last_lr))

    def _seed_variables(self) -> list[Any]:
        return [v for v in self.model.variables if "seed_generator" in v.path]

    def rng_state(self) -> dict[str, Any]:
        """The states of the model's random-number generators (dropout masks, noise), in model order (Keras
        numbers generator names per process, so names would not match in another run)."""
        return {"keras_seeds": [np.asarray(v).tolist() for v in self._seed_variables()]}

    def set_rng_state(self, state: Mapping[str, Any]) -> None:
        seeds = state.get("keras_seeds", [])
        variables = self._seed_variables()
        if len(seeds) != len(variables):
            raise ValueError(f"the checkpoint holds {len(seeds)} random generators; the model has {len(variables)}")
        for variable, value in zip(variables, seeds):
            variable.assign(np.asarray(value, dtype=variable.dtype))

    def learning_rate(self) -> float:
        """The rate of the last step (as the NumPy backend reports it)."""
        return self.last_lr

    def on_epoch_end(self, monitored: float) -> None:
        if self.plateau is not None:
            self.optimizer.learning_rate = self.plateau.step(float(monitored))
