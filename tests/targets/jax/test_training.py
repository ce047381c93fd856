"""`neural train --backend jax` and the generated script's training: the same loop, run directory and
checkpoints as the NumPy runtime; optimizers, schedules and clipping step for step as PyTorch's rules
(the NumPy runtime's); checkpoints and optimizer state move between backends; resume is exact; the
generated script trains on synthetic data, also data parallel over 2 (forced CPU) devices."""

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
from safetensors.numpy import load_file

from neural.api import analyse, load, loads
from neural.compare import step_error
from neural.targets.jax.codegen import format_code, generate
from neural.targets.jax.training import JaxBackend
from neural.training.backend import NumpyBackend
from neural.training.checkpoint import load_checkpoint
from neural.training.events import SilentReporter
from neural.training.loop import TrainingInterrupted
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
  optimizer: Adam(learning_rate=CosineDecay(0.003, decay_steps=200, warmup_steps=10))
  metrics: ["accuracy"]
  train {{ epochs: {epochs} batch_size: 32 validation_split: 0.2 test_split: 0.1 seed: 3 data: "digits" }}
}}
"""


def write(tmp_path: Path, width: int = 32, epochs: int = 3) -> Path:
    path = tmp_path / "mlp.neural"
    path.write_text(MLP.format(width=width, epochs=epochs))
    return path


def test_backend_is_chosen_by_name() -> None:
    name, factory, _ = choose_backend("jax")
    assert name == "jax" and factory is JaxBackend


def test_jax_run_and_numpy_evaluation_agree(tmp_path: Path) -> None:
    result = train(write(tmp_path, width=64, epochs=4), backend="jax", out=tmp_path / "run")
    assert result.backend == "jax"
    final = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert final["val_accuracy"] > 0.85
    history = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in history] == [1, 2, 3, 4] and all(row["lr"] > 0 for row in history)
    # the NumPy runtime loads the JAX-trained checkpoint and measures the same test metrics
    numpy_eval = evaluate_run(tmp_path / "run")
    assert numpy_eval["accuracy"] == pytest.approx(final["test_accuracy"])
    assert numpy_eval["loss"] == pytest.approx(final["test_loss"], rel=1e-4)


def test_weights_move_between_backends_both_ways(tmp_path: Path) -> None:
    shaped = analyse(load(write(tmp_path)).network())
    numpy_backend, jax_backend = NumpyBackend(shaped, seed=1), JaxBackend(shaped, seed=2)
    x = {"input": np.random.default_rng(0).random((5, 8, 8, 1)).astype(np.float32)}
    jax_backend.load_weights(numpy_backend.weights())
    np.testing.assert_allclose(jax_backend.predict(x), numpy_backend.predict(x), rtol=1e-5, atol=1e-6)
    other = JaxBackend(shaped, seed=7)
    numpy_backend.load_weights(other.weights())
    np.testing.assert_allclose(numpy_backend.predict(x), other.predict(x), rtol=1e-5, atol=1e-6)


def test_optimizer_state_moves_between_backends(tmp_path: Path) -> None:
    path = write(tmp_path)
    path.write_text(path.read_text().replace("Dropout(0.2)", "Identity()"))  # no random masks: steps must agree
    shaped = analyse(load(path).network())
    numpy_backend, jax_backend = NumpyBackend(shaped, seed=1), JaxBackend(shaped, seed=1)
    rng = np.random.default_rng(0)
    batches = [({"input": rng.random((8, 8, 8, 1)).astype(np.float32)}, rng.integers(0, 10, size=8)) for _ in range(6)]
    for x, y in batches[:2]:
        numpy_backend.train_batch(x, y)
    scalars, arrays = numpy_backend.optimizer_state()
    jax_backend.load_weights(numpy_backend.weights())
    jax_backend.load_optimizer_state(scalars, arrays)
    assert jax_backend.learning_rate() == pytest.approx(numpy_backend.learning_rate())
    for x, y in batches[2:4]:
        numpy_backend.train_batch(x, y)
        jax_backend.train_batch(x, y)
    for name, value in numpy_backend.weights().items():
        np.testing.assert_allclose(jax_backend.weights()[name], value, rtol=1e-4, atol=1e-6, err_msg=name)
    # and back: the JAX backend's state continues in the NumPy runtime
    scalars, arrays = jax_backend.optimizer_state()
    assert set(arrays) == {f"{n}/{b}" for n in numpy_backend.weights() for b in ("exp_avg", "exp_avg_sq")}
    fresh = NumpyBackend(shaped, seed=5)
    fresh.load_weights(jax_backend.weights())
    fresh.load_optimizer_state(scalars, arrays)
    for x, y in batches[4:]:
        fresh.train_batch(x, y)
        jax_backend.train_batch(x, y)
    for name, value in fresh.weights().items():
        np.testing.assert_allclose(jax_backend.weights()[name], value, rtol=1e-4, atol=1e-6, err_msg=name)


# --- optimizers, schedules, clipping: step for step against the NumPy runtime (PyTorch's rules) ---------------

OPTIMIZERS = [
    "SGD(learning_rate=0.1)",
    "SGD(learning_rate=0.1, momentum=0.9, nesterov=true, weight_decay=0.01)",
    "Adam(learning_rate=0.01, weight_decay=0.01)",
    "Adam(learning_rate=0.01, amsgrad=true)",
    "AdamW(learning_rate=0.01, beta_1=0.8, epsilon=1e-6)",
    "AdamW(learning_rate=0.01, amsgrad=true, weight_decay=0.1)",
    "RMSprop(learning_rate=0.01, rho=0.9)",
    "RMSprop(learning_rate=0.01, momentum=0.5, centered=true, weight_decay=0.01)",
    "Adagrad(learning_rate=0.1, initial_accumulator_value=0.1, weight_decay=0.01)",
    "SGD(learning_rate=ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5, staircase=true, warmup_steps=2), momentum=0.9)",
    "Adam(learning_rate=StepDecay(0.01, step_size=2, gamma=0.5))",
    "RMSprop(learning_rate=CosineDecay(0.01, decay_steps=3, alpha=0.1, warmup_steps=1), momentum=0.5)",
    "AdamW(learning_rate=OneCycle(0.02, total_steps=5))",
]

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


def stepped_together(optimizer: str, train_block: str = "", steps: int = 5) -> tuple[Any, Any]:
    shaped = analyse(loads(TINY.format(optimizer=optimizer, train=train_block)).network())
    clip = {k: shaped.network.train.get(k) for k in ("clip_norm", "clip_value")}
    numpy_backend, jax_backend = NumpyBackend(shaped, seed=0, **clip), JaxBackend(shaped, seed=0, **clip)
    jax_backend.load_weights(numpy_backend.weights())
    rng = np.random.default_rng(1)
    for _ in range(steps):
        x, y = (
            {"input": rng.standard_normal((6, 4)).astype(np.float32)},
            3 * rng.standard_normal((6, 3)).astype(np.float32),
        )
        numpy_loss, _ = numpy_backend.train_batch(x, y)
        jax_loss, _ = jax_backend.train_batch(x, y)
        assert jax_loss == pytest.approx(numpy_loss, rel=1e-4)
        assert jax_backend.learning_rate() == pytest.approx(numpy_backend.learning_rate(), rel=1e-5)
    return numpy_backend, jax_backend


def assert_same_weights(expected: Mapping[str, np.ndarray], got: Mapping[str, np.ndarray]) -> None:
    """Equal within 1e-4 of each tensor's largest magnitude (as `neural compare` measures a step)."""
    assert set(expected) == set(got)
    assert step_error(got, expected) < 1e-4


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_optimizer_steps_match_numpy_runtime(optimizer: str) -> None:
    numpy_backend, jax_backend = stepped_together(optimizer)
    assert_same_weights(numpy_backend.weights(), jax_backend.weights())
    numpy_scalars, numpy_arrays = numpy_backend.optimizer_state()
    jax_scalars, jax_arrays = jax_backend.optimizer_state()
    assert jax_scalars["iterations"] == numpy_scalars["iterations"] == 5
    assert_same_weights(numpy_arrays, jax_arrays)  # the buffers, under PyTorch's names and layouts


@pytest.mark.parametrize("train_block", ["clip_norm: 0.5", "clip_value: 0.05"])
def test_clipping_matches_numpy_runtime(train_block: str) -> None:
    numpy_backend, jax_backend = stepped_together("SGD(learning_rate=0.1, momentum=0.9)", train_block)
    assert_same_weights(numpy_backend.weights(), jax_backend.weights())


def test_reduce_on_plateau_changes_the_rate_per_epoch_as_torch() -> None:
    numpy_backend, jax_backend = stepped_together(
        "SGD(learning_rate=ReduceOnPlateau(0.1, factor=0.5, patience=1))", steps=1
    )
    for value in (1.0, 0.9, 0.95, 0.97, 0.99, 0.5, 0.6, 0.7):
        numpy_backend.on_epoch_end(value)
        jax_backend.on_epoch_end(value)
        x, y = {"input": np.ones((6, 4), np.float32)}, np.zeros((6, 3), np.float32)
        numpy_backend.train_batch(x, y)
        jax_backend.train_batch(x, y)
        assert jax_backend.learning_rate() == pytest.approx(numpy_backend.learning_rate())
    assert numpy_backend.learning_rate() < 0.1
    assert_same_weights(numpy_backend.weights(), jax_backend.weights())
    scalars, _ = jax_backend.optimizer_state()
    assert scalars["schedule"]["name"] == "ReduceOnPlateau" and scalars["schedule"]["lr"] == pytest.approx(
        numpy_backend.learning_rate()
    )


# --- resume -------------------------------------------------------------------------------------------------


class InterruptAt(SilentReporter):
    """Presses Ctrl-C once, after step `step` of epoch `epoch` (the loop stops after that step)."""

    def __init__(self, epoch: int, step: int) -> None:
        self.epoch, self.step, self.current = epoch, step, 0

    def epoch_start(self, epoch: int, epochs: int, steps: int) -> None:
        self.current = epoch

    def batch_end(self, step: int, steps: int, samples: int, logs: Mapping[str, float]) -> None:
        if (self.current, step) == (self.epoch, self.step):
            os.kill(os.getpid(), signal.SIGINT)


def test_resumed_run_ends_with_the_weights_of_the_uninterrupted_run(tmp_path: Path) -> None:
    source = write(tmp_path, epochs=3)
    train(source, backend="jax", out=tmp_path / "whole")
    with pytest.raises(TrainingInterrupted):
        train(source, backend="jax", out=tmp_path / "parts", reporter=InterruptAt(epoch=2, step=5))
    train(source, out=tmp_path / "parts", resume=True)
    a = load_checkpoint(tmp_path / "whole" / "model.safetensors").weights
    b = load_checkpoint(tmp_path / "parts" / "model.safetensors").weights
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


# --- the generated script -------------------------------------------------------------------------------------


SCRIPTED = """
network Scripted {
  input: (8, 8, 1)
  layers:
    Flatten()
    Dense(16, "relu")
    Dropout(0.2)
    Output(10, "softmax")
  loss: "sparse_categorical_crossentropy"
  optimizer: SGD(learning_rate=ReduceOnPlateau(0.05, patience=0), momentum=0.9)
  metrics: ["accuracy", "f1", TopKAccuracy(k=3)]
  train {
    epochs: 3 batch_size: 16 validation_split: 0.25 seed: 1 clip_norm: 1.0
    early_stopping: EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=true)
  }
}
"""


def test_generated_script_trains_on_synthetic_data(tmp_path: Path) -> None:
    """Schedule (ReduceOnPlateau), clipping, metrics, validation and early stopping in the script itself."""
    shaped = analyse(loads(SCRIPTED).network())
    script = tmp_path / "model.py"
    script.write_text(format_code(generate(shaped)))
    help_text = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=300, check=True
    )
    assert "--data" in help_text.stdout and "--epochs" in help_text.stdout
    result = subprocess.run(
        [sys.executable, str(script), "--data", "synthetic:96", "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "epoch 1/3" in result.stdout and "top_3_accuracy" in result.stdout and "val_f1" in result.stdout
    # its checkpoint (canonical names, safetensors) loads into the NumPy runtime and predicts as the JAX model
    weights = load_file(str(tmp_path / "out" / "model.safetensors"))
    numpy_backend, jax_backend = NumpyBackend(shaped), JaxBackend(shaped)
    numpy_backend.load_weights(weights)
    jax_backend.load_weights(weights)
    x = {"input": np.random.default_rng(0).random((4, 8, 8, 1)).astype(np.float32)}
    np.testing.assert_allclose(jax_backend.predict(x), numpy_backend.predict(x), rtol=1e-5, atol=1e-6)


TWO_DEVICES = r"""
import json, sys
import jax
import numpy as np
sys.argv = ["model.py"]
import importlib.util
spec = importlib.util.spec_from_file_location("model", sys.argv[0] if False else MODEL)
model_module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(model_module)
placement = model_module.Placement()
arrays = placement.batch([np.zeros((8, 3), np.float32)])
history = model_module.train("synthetic:128", epochs=2, batch_size=16, seed=0, out=OUT)
print(json.dumps({"devices": jax.device_count(), "placed": placement.count,
                  "shards": [list(s.data.shape) for s in arrays[0].addressable_shards], "history": history}))
"""


@pytest.mark.slow
def test_generated_script_is_data_parallel_over_two_devices(tmp_path: Path) -> None:
    """The same training on 1 and on 2 (forced host) devices: the batch is split, the results agree."""
    source = TINY.format(optimizer="SGD(learning_rate=0.05, momentum=0.9)", train="validation_split: 0.25")
    script = tmp_path / "model.py"
    script.write_text(format_code(generate(analyse(loads(source).network()))))
    runs = {}
    for devices in (1, 2):
        out = tmp_path / f"out{devices}"
        code = TWO_DEVICES.replace("MODEL", repr(str(script))).replace("OUT", repr(str(out)))
        env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}", "JAX_PLATFORMS": "cpu"}
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env, check=False
        )
        assert result.returncode == 0, result.stderr[-3000:]
        runs[devices] = json.loads(result.stdout.strip().splitlines()[-1])
    assert runs[2]["devices"] == runs[2]["placed"] == 2
    assert runs[2]["shards"] == [[4, 3], [4, 3]]  # each device holds half of the batch
    assert runs[1]["shards"] == [[8, 3]]
    for key in ("loss", "val_loss"):
        assert runs[2]["history"][key] == pytest.approx(runs[1]["history"][key], rel=1e-4)
    one = load_file(str(tmp_path / "out1" / "model.safetensors"))
    two = load_file(str(tmp_path / "out2" / "model.safetensors"))
    for name in one:
        np.testing.assert_allclose(two[name], one[name], rtol=1e-4, atol=1e-6, err_msg=name)
