"""Training with the TensorFlow backend: `neural train --backend tensorflow` (same loop, run directory and
checkpoints as the NumPy runtime), weights and optimizer state moving between backends, the PyTorch update
rules, schedules and losses of the generated module, a generated script trained for an epoch, and data
parallelism with tf.distribute.MirroredStrategy."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tensorflow as tf
from tf_helpers import snippet_network

from neural.api import analyse, load, loads
from neural.compare import NumpyReference, random_inputs, random_targets
from neural.runtime.model import Model
from neural.runtime.tensor import Tensor
from neural.targets.tensorflow.codegen import format_code, generate
from neural.targets.tensorflow.load import import_network
from neural.targets.tensorflow.training import TensorFlowBackend
from neural.training.backend import NumpyBackend
from neural.training.checkpoint import load_checkpoint
from neural.training.events import SilentReporter
from neural.training.loop import TrainingInterrupted
from neural.training.losses import build_loss
from neural.training.schedules import build_schedule
from neural.training.session import choose_backend, evaluate_run, train

MLP = """
network DigitsMLP {{
  input: (8, 8, 1)
  layers:
    Flatten()
    Dense({width}, "relu")
    Dropout(0.2)
    Output(10, "softmax")
  loss: "sparse_categorical_crossentropy"
  optimizer: {optimizer}
  metrics: ["accuracy"]
  train {{ epochs: {epochs} batch_size: 32 validation_split: 0.2 test_split: 0.1 seed: 3 data: "digits" }}
}}
"""
ADAM_COSINE = "Adam(learning_rate=CosineDecay(0.003, decay_steps=200, warmup_steps=10))"


def write(tmp_path: Path, width: int = 32, epochs: int = 3, optimizer: str = ADAM_COSINE, dropout: bool = True) -> Path:
    path = tmp_path / "mlp.neural"
    text = MLP.format(width=width, epochs=epochs, optimizer=optimizer)
    path.write_text(text if dropout else text.replace("Dropout(0.2)", "Identity()"))
    return path


def test_choose_backend_knows_tensorflow() -> None:
    name, factory, _ = choose_backend("tensorflow")
    assert name == "tensorflow" and factory is TensorFlowBackend


def test_run_directory_and_numpy_evaluation_agree(tmp_path: Path) -> None:
    result = train(write(tmp_path), backend="tensorflow", out=tmp_path / "run")
    assert result.backend == "tensorflow"
    run = tmp_path / "run"
    assert {"run.json", "metrics.jsonl", "metrics.json", "checkpoint.safetensors", "model.safetensors"} <= {
        p.name for p in run.iterdir()
    }
    final = json.loads((run / "metrics.json").read_text())
    assert final["val_accuracy"] > 0.75
    # the NumPy runtime loads the TensorFlow-trained checkpoint and measures the same test metrics
    numpy_eval = evaluate_run(run)
    assert numpy_eval["accuracy"] == pytest.approx(final["test_accuracy"])
    assert numpy_eval["loss"] == pytest.approx(final["test_loss"], rel=1e-4)
    state = load_checkpoint(run / "checkpoint.safetensors")
    assert any(key.endswith("/exp_avg_sq") for key in state.arrays)  # optimizer buffers in the NumPy format


def test_weights_move_between_backends_both_ways(tmp_path: Path) -> None:
    shaped = analyse(load(write(tmp_path)).network())
    numpy_backend, tf_backend = NumpyBackend(shaped, seed=1), TensorFlowBackend(shaped, seed=2)
    x = {"input": np.random.default_rng(0).random((5, 8, 8, 1)).astype(np.float32)}
    tf_backend.load_weights(numpy_backend.weights())
    np.testing.assert_allclose(tf_backend.predict(x), numpy_backend.predict(x), rtol=1e-5, atol=1e-6)
    other = TensorFlowBackend(shaped, seed=7)
    numpy_backend.load_weights(other.weights())
    np.testing.assert_allclose(numpy_backend.predict(x), other.predict(x), rtol=1e-5, atol=1e-6)


OPTIMIZERS = [
    "SGD(learning_rate=0.05, momentum=0.9, nesterov=true, weight_decay=0.01)",
    "Adam(learning_rate=CosineDecay(0.003, decay_steps=20, warmup_steps=2), weight_decay=0.01, amsgrad=true)",
    "AdamW(learning_rate=ExponentialDecay(0.003, decay_steps=3, decay_rate=0.5, staircase=true))",
    "RMSprop(learning_rate=0.003, momentum=0.5, centered=true, weight_decay=0.001)",
    "Adagrad(learning_rate=OneCycle(0.05, total_steps=6), initial_accumulator_value=0.1)",
]


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=[o.split("(")[0] for o in OPTIMIZERS])
def test_optimizer_state_moves_between_backends(tmp_path: Path, optimizer: str) -> None:
    """Two NumPy steps, the state exported to TensorFlow, then two more steps on each: the same weights
    (PyTorch's update rules, schedules and state layout on both sides)."""
    shaped = analyse(load(write(tmp_path, optimizer=optimizer, dropout=False)).network())
    numpy_backend, tf_backend = NumpyBackend(shaped, seed=1), TensorFlowBackend(shaped, seed=1)
    rng = np.random.default_rng(0)
    batches = [({"input": rng.random((8, 8, 8, 1)).astype(np.float32)}, rng.integers(0, 10, size=8)) for _ in range(4)]
    for x, y in batches[:2]:
        numpy_backend.train_batch(x, y)
    scalars, arrays = numpy_backend.optimizer_state()
    tf_backend.load_weights(numpy_backend.weights())
    tf_backend.load_optimizer_state(scalars, arrays)
    for x, y in batches[2:]:
        numpy_backend.train_batch(x, y)
        tf_backend.train_batch(x, y)
        assert tf_backend.learning_rate() == pytest.approx(numpy_backend.learning_rate(), rel=1e-6)
    for name, value in numpy_backend.weights().items():
        np.testing.assert_allclose(tf_backend.weights()[name], value, rtol=1e-4, atol=1e-6, err_msg=name)
    back_scalars, back_arrays = tf_backend.optimizer_state()  # and back into the NumPy format
    assert back_scalars["iterations"] == 4 and set(back_arrays) == set(numpy_backend.optimizer_state()[1])


def test_gradient_clipping_matches_numpy(tmp_path: Path) -> None:
    shaped = analyse(load(write(tmp_path, optimizer="SGD(learning_rate=0.5)", dropout=False)).network())
    numpy_backend = NumpyBackend(shaped, seed=1, clip_norm=0.05, clip_value=0.001)
    tf_backend = TensorFlowBackend(shaped, seed=1, clip_norm=0.05, clip_value=0.001)
    tf_backend.load_weights(numpy_backend.weights())
    rng = np.random.default_rng(0)
    x, y = {"input": rng.random((8, 8, 8, 1)).astype(np.float32)}, rng.integers(0, 10, size=8)
    numpy_backend.train_batch(x, y)
    tf_backend.train_batch(x, y)
    for name, value in numpy_backend.weights().items():
        np.testing.assert_allclose(tf_backend.weights()[name], value, rtol=1e-5, atol=1e-7, err_msg=name)


SCHEDULES = [
    "ExponentialDecay(0.1, decay_steps=4, decay_rate=0.5)",
    "ExponentialDecay(0.1, decay_steps=4, decay_rate=0.5, staircase=true, warmup_steps=3)",
    "StepDecay(0.1, step_size=5, gamma=0.3, warmup_steps=2)",
    "CosineDecay(0.1, decay_steps=10, alpha=0.1, warmup_steps=4)",
    "OneCycle(0.1, total_steps=12, pct_start=0.25)",
    "OneCycle(0.1, total_steps=3, pct_start=0.2)",
]


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_schedules_have_the_runtime_formulas(schedule: str) -> None:
    shaped = snippet_network("Dense(2)", (3,), optimizer=f"SGD(learning_rate={schedule})")
    module = import_network(shaped)
    assert shaped.network.optimizer is not None
    reference = build_schedule(shaped.network.optimizer.config.learning_rate)
    keras_schedule = module.make_learning_rate(module.SCHEDULE, module.OPTIMIZER)
    for step in range(16):
        assert float(keras_schedule(step)) == pytest.approx(reference.lr(step), rel=1e-5, abs=1e-9), step


def test_reduce_on_plateau_follows_the_runtime() -> None:
    shaped = snippet_network(
        "Dense(2)", (3,), optimizer="SGD(learning_rate=ReduceOnPlateau(0.1, patience=1, factor=0.5, min_lr=0.02))"
    )
    module = import_network(shaped)
    assert shaped.network.optimizer is not None
    reference = build_schedule(shaped.network.optimizer.config.learning_rate)
    plateau = module.ReduceOnPlateau(module.SCHEDULE)
    for value in [1.0, 0.9, 0.95, 0.93, 0.92, 0.99, 0.5, 0.6, 0.7, 0.8]:
        reference.on_epoch_end(value)
        assert plateau.step(value) == pytest.approx(reference.lr(0))


LOSSES = [
    ("sparse_categorical_crossentropy", {}, "softmax"),
    ("sparse_categorical_crossentropy", {"from_logits": True, "label_smoothing": 0.1}, None),
    ("categorical_crossentropy", {"label_smoothing": 0.2}, "softmax"),
    ("categorical_crossentropy", {"from_logits": True}, None),
    ("binary_crossentropy", {}, "sigmoid"),
    ("binary_crossentropy", {"from_logits": True, "label_smoothing": 0.1}, None),
    ("mean_squared_error", {}, None),
    ("mean_absolute_error", {}, None),
    ("huber", {"delta": 0.5}, None),
]


@pytest.mark.parametrize(("name", "options", "activation"), LOSSES, ids=[f"{n}-{o}" for n, o, _ in LOSSES])
def test_losses_match_the_runtime_value_and_gradient(
    name: str, options: dict[str, Any], activation: str | None
) -> None:
    loss_text = f"{name}" if not options else name
    arguments = ", ".join(f"{k}={str(v).lower()}" for k, v in options.items())
    classes = 1 if name == "binary_crossentropy" else 4
    shaped = snippet_network(
        f"Dense({classes}, {activation!r})".replace("'", '"').replace('"None"', "none"),
        (3, 5),
        loss=f"{loss_text}({arguments})" if arguments else f'"{name}"',
    )
    module = import_network(shaped)
    rng = np.random.default_rng(0)
    raw = rng.standard_normal((4, 3, classes)).astype(np.float32)
    pred = (
        1 / (1 + np.exp(-raw))
        if activation == "sigmoid"
        else np.exp(raw) / np.exp(raw).sum(-1, keepdims=True)
        if activation
        else raw
    )
    pred = pred.astype(np.float32)
    target = random_targets(shaped, pred, rng)
    assert shaped.network.loss is not None
    reference = build_loss(shaped.network.loss)
    tensor = Tensor(pred, requires_grad=True)
    expected = reference(tensor, target)
    expected.backward()
    variable = tf.Variable(pred)
    with tf.GradientTape() as tape:
        value = tf.reduce_mean(module.make_loss(module.LOSS)(tf.convert_to_tensor(target), variable))
    np.testing.assert_allclose(float(value), float(expected.data), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(tape.gradient(value, variable)), tensor.grad, rtol=1e-4, atol=1e-7)


class InterruptAt(SilentReporter):
    """Sends this process a SIGINT (Ctrl-C) after step `step` of epoch `epoch`."""

    def __init__(self, epoch: int, step: int) -> None:
        self.epoch, self.step, self.current = epoch, step, 0

    def epoch_start(self, epoch: int, epochs: int, steps: int) -> None:
        self.current = epoch

    def batch_end(self, step: int, steps: int, samples: int, logs: Mapping[str, float]) -> None:
        if (self.current, step) == (self.epoch, self.step):
            os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.slow
def test_interrupted_and_resumed_run_ends_where_the_uninterrupted_one_does(tmp_path: Path) -> None:
    """Ctrl-C in the middle of epoch 2, then --resume: the same weights as a run never interrupted
    (checkpointed optimizer state, schedule position and dropout generators)."""
    source = write(tmp_path, epochs=3)
    train(source, backend="tensorflow", out=tmp_path / "reference")
    with pytest.raises(TrainingInterrupted):
        train(source, backend="tensorflow", out=tmp_path / "interrupted", reporter=InterruptAt(2, 5))
    train(source, out=tmp_path / "interrupted", resume=True)
    a = load_checkpoint(tmp_path / "reference" / "model.safetensors").weights
    b = load_checkpoint(tmp_path / "interrupted" / "model.safetensors").weights
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=1e-6, atol=1e-7, err_msg=name)


@pytest.mark.slow
def test_generated_script_trains_an_epoch_and_its_checkpoint_loads_into_numpy(tmp_path: Path) -> None:
    source = MLP.format(width=16, epochs=1, optimizer="Adam").replace("Dropout(0.2)", "BatchNormalization()")
    shaped = analyse(loads(source).network())
    script = tmp_path / "model.py"
    script.write_text(format_code(generate(shaped)))
    result = subprocess.run(
        [sys.executable, str(script), "--data", "synthetic:96", "--epochs", "1", "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "val_accuracy" in result.stdout and "trained 1 epochs" in result.stdout
    weights = load_checkpoint(tmp_path / "out" / "model.safetensors").weights
    model = Model(shaped)
    model.load_state_dict(weights)  # every canonical name, every layout
    module = import_network(shaped)
    keras_model = module.build_model()
    module.load_canonical(keras_model, weights)
    x = np.random.default_rng(0).random((3, 8, 8, 1)).astype(np.float32)
    expected = model({"input": x}, training=False).data
    np.testing.assert_allclose(np.asarray(keras_model(x, training=False)), expected, rtol=1e-4, atol=1e-6)


DISTRIBUTED = """
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import model as m
strategy = m.make_strategy(2)
assert strategy.num_replicas_in_sync == 2, strategy
weights = {k: np.asarray(v) for k, v in np.load(sys.argv[2]).items()}
data = np.load(sys.argv[3])
with strategy.scope():
    net = m.build_model()
    m.load_canonical(net, weights)
    net.compile(optimizer=m.make_optimizer(m.OPTIMIZER, m.make_learning_rate(m.SCHEDULE, m.OPTIMIZER)), loss=m.make_loss(m.LOSS))
net.fit(data["x"], data["y"], batch_size=len(data["y"]), epochs=1, shuffle=False, verbose=0)
np.savez(sys.argv[4], **m.canonical_weights(net))
"""


@pytest.mark.slow
def test_mirrored_strategy_step_equals_the_single_device_step(tmp_path: Path) -> None:
    """One step on two replicas (logical CPUs), each half the batch, equals the NumPy runtime's full-batch step."""
    shaped = snippet_network(
        'Conv2D(4, 3, "relu")\nFlatten()\nDense(3)', (6, 6, 2), optimizer="SGD(learning_rate=0.1, momentum=0.9)"
    )
    (tmp_path / "model.py").write_text(format_code(generate(shaped)))
    reference = NumpyReference(shaped, 0)
    weights = reference.initial_weights()
    rng = np.random.default_rng(0)
    x = random_inputs(shaped, 8, rng)
    y = random_targets(shaped, reference.forward(weights, x)[0], rng)
    np.savez(tmp_path / "weights.npz", **weights)
    np.savez(tmp_path / "data.npz", x=x["input"], y=y)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            DISTRIBUTED,
            str(tmp_path),
            str(tmp_path / "weights.npz"),
            str(tmp_path / "data.npz"),
            str(tmp_path / "out.npz"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    stepped = dict(np.load(tmp_path / "out.npz"))
    for name, value in reference.train_step(weights, x, y, training=True).items():
        np.testing.assert_allclose(stepped[name], value, rtol=1e-4, atol=1e-6, err_msg=name)
