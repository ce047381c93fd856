"""`neural train --backend pytorch|tensorflow|jax`: what every framework backend shares with the NumPy runtime.

Each test runs once per backend (the `Backend` fixture, which skips with a reason when the framework is
missing): the backend is chosen by name; a run's directory, metrics and checkpoints are those of the NumPy
runtime, which evaluates the trained checkpoint to the same test metrics; weights and optimizer state move
between the backend and the NumPy runtime both ways (PyTorch's optimizer state one way only, an expected
failure that says why); optimizers, schedules, reduce-on-plateau, clipping and
losses step for step as the NumPy runtime (PyTorch's rules); a run stopped by Ctrl-C or killed by SIGKILL,
then resumed, ends with the weights of the uninterrupted run.

What only one framework has (its generated script, torchrun, MirroredStrategy, JAX data parallelism) stays
in tests/targets/<framework>/.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest
from catalog.base import case
from catalog.frameworks import MARKS, need_framework

from neural.api import analyse, load, loads
from neural.compare import random_targets, step_error
from neural.runtime.tensor import Tensor
from neural.shapes.engine import ShapedNetwork
from neural.training.backend import NumpyBackend
from neural.training.checkpoint import load_checkpoint
from neural.training.events import SilentReporter
from neural.training.loop import TrainingInterrupted
from neural.training.losses import build_loss
from neural.training.session import TrainResult, choose_backend, evaluate_run, train

# backend name: where its training backend lives
TRAINING_BACKENDS = {
    "pytorch": "neural.targets.pytorch.training:TorchBackend",
    "tensorflow": "neural.targets.tensorflow.training:TensorFlowBackend",
    "jax": "neural.targets.jax.training:JaxBackend",
}


def backend_class(name: str) -> Any:
    """The training backend class of `name`; skips the test, with the reason, when its framework is missing."""
    if name == "tensorflow":
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    need_framework(name)
    location = TRAINING_BACKENDS[name]
    path, _, attribute = location.partition(":")
    return getattr(importlib.import_module(path), attribute)


@pytest.fixture(
    scope="module",
    # pytest-xdist keeps one backend's tests in one worker: its framework imported once, its reference run trained once
    params=[
        pytest.param(name, marks=[MARKS[name], pytest.mark.xdist_group(f"training-{name}")])
        for name in TRAINING_BACKENDS
    ],
)
def Backend(request: pytest.FixtureRequest) -> Any:
    """The training backend class (TorchBackend, TensorFlowBackend, JaxBackend): each test runs once per backend."""
    return backend_class(request.param)


# --- networks and batches -------------------------------------------------------------------------------------

MLP = """
network DigitsMLP {
  input: (8, 8, 1)
  layers:
    Flatten()
    Dense(32, "relu")
    Dropout(0.2)
    Output(10, "softmax")
  loss: "sparse_categorical_crossentropy"
  optimizer: Adam(learning_rate=CosineDecay(0.01, decay_steps=200, warmup_steps=10))
  metrics: ["accuracy"]
  train { epochs: 3 batch_size: 32 validation_split: 0.2 test_split: 0.1 seed: 3 data: "digits" }
}
"""

TINY = """
network Tiny {{
  input: (4,)
  layers:
    Dense(5, "tanh")
    BatchNormalization()
    Dense(3)
  loss: "mse"
  optimizer: {optimizer}
  train {{ {train} }}
}}
"""


def write_mlp(directory: Path) -> Path:
    path = directory / "mlp.neural"
    path.write_text(MLP)
    return path


def tiny(optimizer: str, train_block: str = "") -> ShapedNetwork:
    return analyse(loads(TINY.format(optimizer=optimizer, train=train_block)).network())


def tiny_batches(count: int) -> list[tuple[dict[str, np.ndarray], np.ndarray]]:
    rng = np.random.default_rng(1)
    return [
        ({"input": rng.standard_normal((6, 4)).astype(np.float32)}, 3 * rng.standard_normal((6, 3)).astype(np.float32))
        for _ in range(count)
    ]


def clipping(shaped: ShapedNetwork) -> dict[str, Any]:
    return {k: shaped.network.train.get(k) for k in ("clip_norm", "clip_value")}


def same_start(Backend: Any, shaped: ShapedNetwork) -> tuple[NumpyBackend, Any]:
    """The NumPy runtime and `Backend` on the same initial weights (and the train block's clipping)."""
    numpy_backend = NumpyBackend(shaped, seed=0, **clipping(shaped))
    backend = Backend(shaped, seed=0, **clipping(shaped))
    backend.load_weights(numpy_backend.weights())
    return numpy_backend, backend


def step_both(numpy_backend: Any, backend: Any, batches: list[tuple[dict[str, np.ndarray], np.ndarray]]) -> None:
    """Step both on the same batches: the same loss and learning rate at every step."""
    for x, y in batches:
        numpy_loss, _ = numpy_backend.train_batch(x, y)
        loss, _ = backend.train_batch(x, y)
        assert loss == pytest.approx(numpy_loss, rel=1e-4)
        assert backend.learning_rate() == pytest.approx(numpy_backend.learning_rate(), rel=1e-5, abs=1e-9)


def assert_same_weights(expected: Mapping[str, np.ndarray], got: Mapping[str, np.ndarray]) -> None:
    """Equal within 1e-4 of each tensor's largest magnitude (as `neural compare` measures a step)."""
    assert set(expected) == set(got)
    assert step_error(got, expected) < 1e-4


def assert_same_state(numpy_backend: Any, backend: Any) -> None:
    """The same weights, and the same optimizer buffers under the NumPy runtime's (PyTorch's) names and layouts."""
    assert_same_weights(numpy_backend.weights(), backend.weights())
    numpy_scalars, numpy_arrays = numpy_backend.optimizer_state()
    scalars, arrays = backend.optimizer_state()
    assert scalars["iterations"] == numpy_scalars["iterations"]
    assert_same_weights(numpy_arrays, arrays)


# --- choosing, running, evaluating ----------------------------------------------------------------------------


def test_backend_is_chosen_by_name(Backend: Any) -> None:
    name, factory, _ = choose_backend(Backend.name)
    assert name == Backend.name and factory is Backend


class Reference(NamedTuple):
    source: Path
    result: TrainResult


@pytest.fixture(scope="module")
def reference(Backend: Any, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """One uninterrupted run of the digits MLP per backend (read, never written, by the tests)."""
    directory = tmp_path_factory.mktemp(f"{Backend.name}-reference")
    source = write_mlp(directory)
    return Reference(source, train(source, backend=Backend.name, out=directory / "run"))


def history(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_run_directory_and_numpy_evaluation_agree(Backend: Any, reference: Reference) -> None:
    assert reference.result.backend == Backend.name
    run = reference.result.run.path
    assert {"run.json", "metrics.jsonl", "metrics.json", "checkpoint.safetensors", "model.safetensors"} <= {
        p.name for p in run.iterdir()
    }
    final = json.loads((run / "metrics.json").read_text())
    assert final["val_accuracy"] > 0.9
    assert [row["epoch"] for row in history(run)] == [1, 2, 3] and all(row["lr"] > 0 for row in history(run))
    # the NumPy runtime loads the backend's checkpoint and measures the same test metrics
    numpy_eval = evaluate_run(run)
    assert numpy_eval["accuracy"] == pytest.approx(final["test_accuracy"])
    assert numpy_eval["loss"] == pytest.approx(final["test_loss"], rel=1e-4)
    checkpoint = load_checkpoint(run / "checkpoint.safetensors")
    assert checkpoint.state["backend"] == Backend.name
    assert any(key.endswith("/exp_avg_sq") for key in checkpoint.arrays)  # optimizer buffers in the NumPy format


# --- weights, optimizers, schedules, clipping, losses: as the NumPy runtime (PyTorch's rules) -----------------


def test_weights_move_between_backends_both_ways(Backend: Any, tmp_path: Path) -> None:
    shaped = analyse(load(write_mlp(tmp_path)).network())
    numpy_backend, backend = NumpyBackend(shaped, seed=1), Backend(shaped, seed=2)
    x = {"input": np.random.default_rng(0).random((5, 8, 8, 1)).astype(np.float32)}
    backend.load_weights(numpy_backend.weights())
    np.testing.assert_allclose(backend.predict(x), numpy_backend.predict(x), rtol=1e-5, atol=1e-6)
    other = Backend(shaped, seed=7)
    numpy_backend.load_weights(other.weights())
    np.testing.assert_allclose(numpy_backend.predict(x), other.predict(x), rtol=1e-5, atol=1e-6)


# every optimizer option, every schedule (16 steps: warm-up, decay, staircase, a cycle's end and past it),
# and clipping (before the weight decay of L2 optimizers, as torch clips the gradient)
OPTIMIZERS = [
    pytest.param("SGD(learning_rate=0.1)", "", id="SGD"),
    pytest.param(
        "SGD(learning_rate=ExponentialDecay(0.1, decay_steps=4, decay_rate=0.5), momentum=0.9, nesterov=true, "
        "weight_decay=0.01)",
        "clip_norm: 0.5",
        id="SGD-nesterov-ExponentialDecay-clip_norm",
    ),
    pytest.param(
        "SGD(learning_rate=ExponentialDecay(0.1, decay_steps=3, decay_rate=0.5, staircase=true, warmup_steps=3), "
        "momentum=0.9)",
        "clip_norm: 0.5 clip_value: 0.01",
        id="SGD-momentum-staircase-warmup-clip_norm-clip_value",
    ),
    pytest.param("Adam(learning_rate=0.01, weight_decay=0.01)", "clip_value: 0.05", id="Adam-clip_value"),
    pytest.param(
        "Adam(learning_rate=StepDecay(0.01, step_size=5, gamma=0.3, warmup_steps=2), amsgrad=true)",
        "",
        id="Adam-amsgrad-StepDecay-warmup",
    ),
    pytest.param(
        "AdamW(learning_rate=OneCycle(0.02, total_steps=12, pct_start=0.25), beta_1=0.8, epsilon=1e-6)",
        "",
        id="AdamW-OneCycle",
    ),
    pytest.param("AdamW(learning_rate=0.01, amsgrad=true, weight_decay=0.1)", "", id="AdamW-amsgrad"),
    pytest.param("RMSprop(learning_rate=0.01, rho=0.9)", "", id="RMSprop"),
    pytest.param(
        "RMSprop(learning_rate=CosineDecay(0.01, decay_steps=10, alpha=0.1, warmup_steps=4), momentum=0.5, "
        "centered=true, weight_decay=0.01)",
        "",
        id="RMSprop-centered-CosineDecay-warmup",
    ),
    pytest.param(
        "Adagrad(learning_rate=OneCycle(0.05, total_steps=14, pct_start=0.05), initial_accumulator_value=0.1, "
        "weight_decay=0.01)",
        "",
        id="Adagrad-OneCycle-one-step-rise-and-past-its-end",
    ),
]


@pytest.mark.parametrize(("optimizer", "train_block"), OPTIMIZERS)
def test_optimizer_steps_and_state_follow_the_numpy_runtime(Backend: Any, optimizer: str, train_block: str) -> None:
    """16 steps, each with the NumPy runtime's loss and rate: 6 from the same weights; 2 on the NumPy runtime
    alone, whose weights and optimizer state the backend then takes, and 4 more; then a fresh NumPy runtime
    takes the backend's weights and state, and 4 more. The buffers under the NumPy runtime's names."""
    shaped = tiny(optimizer, train_block)
    numpy_backend, backend = same_start(Backend, shaped)
    batches = tiny_batches(16)
    step_both(numpy_backend, backend, batches[:6])
    assert_same_state(numpy_backend, backend)
    # the NumPy runtime's state continues in the backend (replacing what the backend had)
    for x, y in batches[6:8]:
        numpy_backend.train_batch(x, y)
    backend.load_weights(numpy_backend.weights())
    backend.load_optimizer_state(*numpy_backend.optimizer_state())
    assert backend.learning_rate() == pytest.approx(numpy_backend.learning_rate(), rel=1e-5)
    step_both(numpy_backend, backend, batches[8:12])
    assert_same_state(numpy_backend, backend)
    # and the backend's state continues in the NumPy runtime
    fresh = NumpyBackend(shaped, seed=5, **clipping(shaped))
    fresh.load_weights(backend.weights())
    fresh.load_optimizer_state(*backend.optimizer_state())
    step_both(fresh, backend, batches[12:])
    assert_same_state(fresh, backend)


def test_reduce_on_plateau_changes_the_rate_per_epoch_as_the_numpy_runtime(Backend: Any) -> None:
    shaped = tiny("SGD(learning_rate=ReduceOnPlateau(0.1, factor=0.5, patience=1, min_lr=0.02))")
    numpy_backend, backend = same_start(Backend, shaped)
    x, y = tiny_batches(1)[0]
    for value in (1.0, 0.9, 0.95, 0.93, 0.92, 0.99, 0.5, 0.6):
        numpy_backend.on_epoch_end(value)
        backend.on_epoch_end(value)
        step_both(numpy_backend, backend, [(x, y)])
    assert numpy_backend.learning_rate() == pytest.approx(0.025)
    assert_same_weights(numpy_backend.weights(), backend.weights())
    # the plateau's state (best value, bad epochs, rate) continues in the NumPy runtime: one more bad epoch
    # reduces the rate down to min_lr
    fresh = NumpyBackend(shaped)
    fresh.load_weights(backend.weights())
    fresh.load_optimizer_state(*backend.optimizer_state())
    for model in (fresh, backend):
        model.on_epoch_end(0.7)
    step_both(fresh, backend, [(x, y)])
    assert fresh.learning_rate() == pytest.approx(0.02)
    assert_same_weights(fresh.weights(), backend.weights())


LOSSES = [
    ('"sparse_categorical_crossentropy"', "softmax"),
    ("sparse_categorical_crossentropy(from_logits=true, label_smoothing=0.1)", None),
    ("categorical_crossentropy(label_smoothing=0.2)", "softmax"),
    ("categorical_crossentropy(from_logits=true)", None),
    ('"binary_crossentropy"', "sigmoid"),
    ("binary_crossentropy(from_logits=true, label_smoothing=0.1)", None),
    ('"mean_squared_error"', None),
    ('"mean_absolute_error"', None),
    ("huber(delta=0.5)", None),
]


def loss_value_and_gradient(backend: Any, pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """The backend's loss (its generated module's, reduced as the backend reduces it) and its gradient."""
    if backend.name == "pytorch":
        import torch

        variable = torch.tensor(pred, requires_grad=True)
        value = backend.loss_fn(variable, torch.as_tensor(target))
        value.backward()
        return float(value.detach()), variable.grad.numpy()
    if backend.name == "tensorflow":
        import tensorflow as tf

        variable = tf.Variable(pred)
        with tf.GradientTape() as tape:
            value = tf.reduce_mean(backend.loss_fn(tf.convert_to_tensor(target), variable))
        return float(value), np.asarray(tape.gradient(value, variable))
    import jax

    value, gradient = jax.value_and_grad(lambda p: backend.loss_fn(p, target))(pred)
    return float(value), np.asarray(gradient)


@pytest.mark.parametrize(("loss", "activation"), LOSSES, ids=[loss.strip('"') for loss, _ in LOSSES])
def test_losses_match_the_numpy_runtime_value_and_gradient(Backend: Any, loss: str, activation: str | None) -> None:
    """Over a sequence of predictions (every position but the class axis averaged)."""
    units = 1 if "binary" in loss else 4
    shaped = case(f'Dense({units}, "{activation}")' if activation else f"Dense({units})", (3, 5), loss=loss).network()
    rng = np.random.default_rng(0)
    raw = rng.standard_normal((4, 3, units)).astype(np.float32)
    if activation == "softmax":
        raw = np.exp(raw) / np.exp(raw).sum(-1, keepdims=True)
    elif activation == "sigmoid":
        raw = 1 / (1 + np.exp(-raw))
    pred = raw.astype(np.float32)
    target = random_targets(shaped, pred, rng)
    assert shaped.network.loss is not None
    tensor = Tensor(pred, requires_grad=True)
    expected = build_loss(shaped.network.loss)(tensor, target)
    expected.backward()
    value, gradient = loss_value_and_gradient(Backend(shaped), pred, target)
    np.testing.assert_allclose(value, float(expected.data), rtol=1e-5)
    np.testing.assert_allclose(gradient, tensor.grad, rtol=1e-4, atol=1e-7)


# --- resume ---------------------------------------------------------------------------------------------------


class SignalAt(SilentReporter):
    """Sends this process `signum` once, after step `step` of epoch `epoch`: SIGINT is Ctrl-C (the loop
    saves a checkpoint after that step and stops)."""

    def __init__(self, epoch: int, step: int, signum: int = signal.SIGINT) -> None:
        self.epoch, self.step, self.signum, self.current = epoch, step, signum, 0

    def epoch_start(self, epoch: int, epochs: int, steps: int) -> None:
        self.current = epoch

    def batch_end(self, step: int, steps: int, samples: int, logs: Mapping[str, float]) -> None:
        if (self.current, step) == (self.epoch, self.step):
            os.kill(os.getpid(), self.signum)


# a training process that kills itself (SIGKILL: no handler runs, nothing is flushed) in the middle of epoch 2
KILLED = "\n".join(
    [
        "import os, signal, sys",
        "from collections.abc import Mapping",
        "from neural.training.events import SilentReporter",
        "from neural.training.session import train",
        inspect.getsource(SignalAt),
        "train(sys.argv[1], backend=sys.argv[2], out=sys.argv[3], reporter=SignalAt(2, 5, signal.SIGKILL))",
    ]
)


@pytest.mark.slow
def test_killed_and_interrupted_run_resumed_ends_with_the_weights_of_the_uninterrupted_run(
    Backend: Any, reference: Reference, tmp_path: Path
) -> None:
    """Killed by SIGKILL in the middle of epoch 2, resumed (the backend read from the run) from the checkpoint
    of epoch 1; stopped by Ctrl-C in the middle of epoch 3 (a checkpoint after that step), resumed again: the
    weights of the uninterrupted run, bit for bit (optimizer state, the schedule's position, the data order's
    position and the dropout generators all restored)."""
    run = tmp_path / "run"
    killed = subprocess.run(
        [sys.executable, "-c", KILLED, str(reference.source), Backend.name, str(run)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert not (run / "model.safetensors").exists()
    assert load_checkpoint(run / "checkpoint.safetensors").state["epoch"] == 2  # epoch 1 done, epoch 2 not
    with pytest.raises(TrainingInterrupted):
        train(reference.source, out=run, resume=True, reporter=SignalAt(3, 5))
    state = load_checkpoint(run / "checkpoint.safetensors").state
    assert (state["epoch"], state["batch"], state["backend"]) == (3, 5, Backend.name)
    train(reference.source, out=run, resume=True)
    whole = reference.result.run.path
    expected = load_checkpoint(whole / "model.safetensors").weights
    got = load_checkpoint(run / "model.safetensors").weights
    assert set(got) == set(expected)
    for name, value in expected.items():
        np.testing.assert_array_equal(got[name], value, err_msg=name)
    # the same history but the timings, and but the training metrics other than the loss of the epoch that
    # Ctrl-C stopped (they count only the steps after the interruption); the same test metrics
    rows, resumed_rows = history(whole), history(run)
    assert [row["epoch"] for row in resumed_rows] == [row["epoch"] for row in rows] == [1, 2, 3]
    for row, resumed_row in zip(rows, resumed_rows):
        keys = [k for k in row if k not in ("time", "samples_per_second", "accuracy" if row["epoch"] == 3 else "")]
        assert {k: resumed_row.get(k) for k in keys} == {k: row[k] for k in keys}, row["epoch"]
    final, resumed_final = (json.loads((path / "metrics.json").read_text()) for path in (whole, run))
    assert {k: v for k, v in resumed_final.items() if k.startswith("test_")} == {
        k: v for k, v in final.items() if k.startswith("test_")
    }
