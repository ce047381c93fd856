"""`neural train --backend pytorch`: same loop, run directory, checkpoints and resume as the NumPy runtime."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from neural.api import analyse, load
from neural.targets.pytorch.training import TorchBackend
from neural.training.backend import NumpyBackend
from neural.training.checkpoint import load_checkpoint
from neural.training.session import evaluate_run, train

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


def test_pytorch_run_and_numpy_evaluation_agree(tmp_path: Path) -> None:
    result = train(write(tmp_path), backend="pytorch", out=tmp_path / "run")
    assert result.backend == "pytorch"
    final = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert final["val_accuracy"] > 0.85
    # the NumPy runtime loads the PyTorch-trained checkpoint and measures the same test metrics
    numpy_eval = evaluate_run(tmp_path / "run")
    assert numpy_eval["accuracy"] == pytest.approx(final["test_accuracy"])
    assert numpy_eval["loss"] == pytest.approx(final["test_loss"], rel=1e-4)


def test_weights_move_between_backends_both_ways(tmp_path: Path) -> None:
    shaped = analyse(load(write(tmp_path)).network())
    numpy_backend, torch_backend = NumpyBackend(shaped, seed=1), TorchBackend(shaped, seed=2)
    x = {"input": np.random.default_rng(0).random((5, 8, 8, 1)).astype(np.float32)}
    torch_backend.load_weights(numpy_backend.weights())
    np.testing.assert_allclose(torch_backend.predict(x), numpy_backend.predict(x), rtol=1e-5, atol=1e-6)
    other = TorchBackend(shaped, seed=7)
    numpy_backend.load_weights(other.weights())
    np.testing.assert_allclose(numpy_backend.predict(x), other.predict(x), rtol=1e-5, atol=1e-6)


def test_optimizer_state_moves_between_backends(tmp_path: Path) -> None:
    path = write(tmp_path)
    path.write_text(path.read_text().replace("Dropout(0.2)", "Identity()"))  # no random masks: steps must agree
    shaped = analyse(load(path).network())
    numpy_backend, torch_backend = NumpyBackend(shaped, seed=1), TorchBackend(shaped, seed=1)
    torch_backend.load_weights(numpy_backend.weights())
    rng = np.random.default_rng(0)
    batches = [({"input": rng.random((8, 8, 8, 1)).astype(np.float32)}, rng.integers(0, 10, size=8)) for _ in range(4)]
    for x, y in batches[:2]:
        numpy_backend.train_batch(x, y)
    scalars, arrays = numpy_backend.optimizer_state()
    torch_backend.load_weights(numpy_backend.weights())
    torch_backend.load_optimizer_state(scalars, arrays)
    assert torch_backend.learning_rate() == pytest.approx(numpy_backend.learning_rate())
    for x, y in batches[2:]:
        numpy_backend.train_batch(x, y)
        torch_backend.train_batch(x, y)
    for name, value in numpy_backend.weights().items():
        np.testing.assert_allclose(torch_backend.weights()[name], value, rtol=1e-4, atol=1e-6, err_msg=name)


@pytest.mark.slow
def test_pytorch_resume_after_sigkill_is_exact(tmp_path: Path) -> None:
    source = write(tmp_path, width=256, epochs=6)
    reference = tmp_path / "reference"
    train(source, backend="pytorch", out=reference)
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "neural.cli.main", "train", str(source), "--backend", "pytorch", "--out", str(killed), "-q"])
    history = killed / "metrics.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and (not history.exists() or len(history.read_text().splitlines()) < 2):
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "model.safetensors").exists(), "the run finished before it could be killed"
    resumed = subprocess.run([sys.executable, "-m", "neural.cli.main", "train", str(source), "--out", str(killed), "--resume", "-q"],
                             capture_output=True, text=True, timeout=600, check=False)
    assert resumed.returncode == 0, resumed.stderr
    a = load_checkpoint(reference / "model.safetensors").weights
    b = load_checkpoint(killed / "model.safetensors").weights
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
