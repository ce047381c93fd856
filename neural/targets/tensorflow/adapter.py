"""The TensorFlow side of `neural compare`: canonical weights in, outputs and one training step out.

The generated module's own functions do the work (load_canonical / canonical_weights with the WEIGHTS map,
make_loss, make_optimizer), so what is compared is exactly what `python model.py` runs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import tensorflow as tf

from neural.shapes.engine import ShapedNetwork
from neural.targets.tensorflow.load import float32_only, import_network, keras_dtype


def input_arrays(shaped: ShapedNetwork, inputs: Mapping[str, np.ndarray], dtype: Any = np.float32) -> Any:
    """The model's inputs in order (one array, or a list for several inputs)."""
    arrays = []
    for spec in shaped.network.inputs:
        value = np.asarray(inputs[spec.name])
        arrays.append(value.astype(np.int64) if spec.dtype == "int64" else value.astype(dtype))
    return arrays[0] if len(arrays) == 1 else arrays


def outputs_list(out: Any) -> list[np.ndarray]:
    return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else (out,))]


class Adapter:
    name = "tensorflow"

    def __init__(self, shaped: ShapedNetwork) -> None:
        self.shaped = shaped
        self.module: Any = import_network(shaped)
        # train_step follows the dtype of the weights it is given, where TensorFlow has float64 kernels
        self.supports_float64 = not float32_only(shaped)

    def model(self, weights: Mapping[str, np.ndarray]) -> keras.Model:
        """The generated model holding `weights`, built in float64 when they are."""
        float64 = any(np.asarray(v).dtype == np.float64 for v in weights.values())
        with keras_dtype("float64" if float64 else "float32"):
            model = self.module.build_model()
        self.module.load_canonical(model, dict(weights))
        return model

    def forward(self, weights: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        model = self.model(weights)
        return outputs_list(model(input_arrays(self.shaped, inputs), training=False))

    def train_step(
        self, weights: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray], targets: np.ndarray, training: bool
    ) -> dict[str, np.ndarray]:
        m = self.module
        model = self.model(weights)
        loss_fn = m.make_loss(m.LOSS)
        optimizer = m.make_optimizer(m.OPTIMIZER, m.make_learning_rate(m.SCHEDULE, m.OPTIMIZER))
        float64 = any(np.asarray(v).dtype == np.float64 for v in weights.values())
        x = input_arrays(self.shaped, inputs, np.float64 if float64 else np.float32)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(loss_fn(tf.convert_to_tensor(targets), model(x, training=training)))
        variables = model.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        result: dict[str, np.ndarray] = m.canonical_weights(model)
        return result
