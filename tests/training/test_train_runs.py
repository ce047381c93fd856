"""`neural train` end to end on the NumPy runtime: run directory, resume after SIGKILL and Ctrl-C,
divergence, memory refusal, eval and predict."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from neural.errors import NeuralError
from neural.training.checkpoint import load_checkpoint
from neural.training.loop import TrainingDiverged
from neural.training.session import evaluate_run, predict_run, train

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


def write(tmp_path: Path, width: int = 32, epochs: int = 4, optimizer: str = "Adam(learning_rate=0.003)") -> Path:
    path = tmp_path / "mlp.neural"
    path.write_text(MLP.format(width=width, epochs=epochs, optimizer=optimizer))
    return path


def cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "neural.cli.main", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_run_directory_contents(tmp_path: Path) -> None:
    result = train(write(tmp_path), backend="numpy", out=tmp_path / "run")
    run = result.run.path
    for name in (
        "source.neural",
        "run.json",
        "metrics.jsonl",
        "metrics.json",
        "checkpoint.safetensors",
        "model.safetensors",
    ):
        assert (run / name).exists(), name
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3, 4]
    final = json.loads((run / "metrics.json").read_text())
    assert set(final) >= {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy"}
    assert final["val_accuracy"] > 0.8
    assert (run / "source.neural").read_text() == (tmp_path / "mlp.neural").read_text()
    weights = load_checkpoint(run / "model.safetensors").weights
    assert set(weights) == {"dense_1.weight", "dense_1.bias", "output_1.weight", "output_1.bias"}
    assert weights["dense_1.weight"].shape == (32, 64)


def test_same_seed_same_result(tmp_path: Path) -> None:
    a = train(write(tmp_path), backend="numpy", out=tmp_path / "a").final
    b = train(write(tmp_path), backend="numpy", out=tmp_path / "b").final
    assert a == b


def _weights(run: Path) -> dict[str, np.ndarray]:
    return load_checkpoint(run / "model.safetensors").weights


def _assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = _weights(a), _weights(b)
    assert set(wa) == set(wb)
    for name in wa:
        np.testing.assert_array_equal(wa[name], wb[name], err_msg=name)


@pytest.mark.slow
def test_resume_after_sigkill_ends_where_the_uninterrupted_run_ends(tmp_path: Path) -> None:
    source = write(tmp_path, width=512, epochs=8)
    reference = tmp_path / "reference"
    train(source, backend="numpy", out=reference)
    killed = tmp_path / "killed"
    proc = cli("train", str(source), "--backend", "numpy", "--out", str(killed), "-q")
    history = killed / "metrics.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and (not history.exists() or len(history.read_text().splitlines()) < 2):
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (killed / "model.safetensors").exists(), "the run finished before it could be killed"
    state = load_checkpoint(killed / "checkpoint.safetensors").state
    assert 2 <= state["epoch"] <= 8
    resumed = cli("train", str(source), "--out", str(killed), "--resume", "-q")
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    _assert_same_weights(reference, killed)
    ref_history = (reference / "metrics.jsonl").read_text().splitlines()
    new_history = (killed / "metrics.jsonl").read_text().splitlines()

    def strip(rows: list[str]) -> list[dict]:
        return [{k: v for k, v in json.loads(r).items() if k not in ("time", "samples_per_second")} for r in rows]

    assert strip(ref_history) == strip(new_history)


@pytest.mark.slow
def test_ctrl_c_saves_a_checkpoint_and_resume_finishes_identically(tmp_path: Path) -> None:
    source = write(tmp_path, width=512, epochs=6)
    reference = tmp_path / "reference"
    train(source, backend="numpy", out=reference)
    run = tmp_path / "interrupted"
    proc = cli("train", str(source), "--backend", "numpy", "--out", str(run), "-q")
    history = run / "metrics.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and (not history.exists() or len(history.read_text().splitlines()) < 1):
        time.sleep(0.01)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "checkpoint saved" in err and "Traceback" not in err
    resumed = cli("train", str(source), "--out", str(run), "--resume", "-q")
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    _assert_same_weights(reference, run)


def test_nan_loss_stops_with_epoch_and_step_and_keeps_last_checkpoint(tmp_path: Path) -> None:
    # a learning rate that grows 10x every 10 steps diverges after a few epochs
    source = write(tmp_path, epochs=30, optimizer="SGD(learning_rate=ExponentialDecay(0.01, 10, 10.0))")
    with pytest.raises(TrainingDiverged) as info:
        train(source, backend="numpy", out=tmp_path / "run")
    message = info.value.message
    assert "at epoch" in message and "step" in message
    epoch = int(message.split("at epoch ")[1].split(",")[0])
    state = load_checkpoint(tmp_path / "run" / "checkpoint.safetensors").state
    assert state["epoch"] == epoch  # the checkpoint is the end of the last good epoch
    weights = load_checkpoint(tmp_path / "run" / "checkpoint.safetensors").weights
    assert all(np.all(np.isfinite(w)) for w in weights.values())


def test_model_too_large_is_refused_before_allocating(tmp_path: Path) -> None:
    path = tmp_path / "huge.neural"
    path.write_text(
        "network Huge {\n input: (100000,)\n layers:\n  Dense(100000)\n  Dense(100000)\n  Output(10)\n"
        ' loss: "mse"\n optimizer: Adam\n train { data: "synthetic" }\n}\n'
    )
    started = time.perf_counter()
    with pytest.raises(NeuralError, match=r"needs about .* only .* is available"):
        train(path, backend="numpy", out=tmp_path / "run")
    assert time.perf_counter() - started < 5
    assert not (tmp_path / "run").exists()


def test_unknown_dataset_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NeuralError, match="digitz"):
        train(write(tmp_path), backend="numpy", data="digitz", out=tmp_path / "run")


def test_missing_loss_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "noloss.neural"
    path.write_text(
        'network N {\n input: (8, 8, 1)\n layers:\n  Flatten()\n  Output(10)\n train { data: "digits" }\n}\n'
    )
    with pytest.raises(NeuralError, match="no `loss:`"):
        train(path, backend="numpy", out=tmp_path / "run")


def test_resume_refuses_a_fresh_directory(tmp_path: Path) -> None:
    with pytest.raises(NeuralError):
        train(write(tmp_path), backend="numpy", out=tmp_path / "nothing", resume=True)


def test_eval_and_predict_use_the_saved_model(tmp_path: Path) -> None:
    run = train(write(tmp_path), backend="numpy", out=tmp_path / "run").run.path
    result = evaluate_run(run)
    assert result["data"] == "test split" and result["samples"] == 180
    final = json.loads((run / "metrics.json").read_text())
    assert result["accuracy"] == pytest.approx(final["test_accuracy"])
    sklearn = pytest.importorskip("sklearn.datasets")
    digits = sklearn.load_digits()
    x = (digits.images[:20] / 16.0).reshape(20, 8, 8, 1)
    probs = predict_run(run, x)
    assert probs.shape == (20, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert (probs.argmax(axis=1) == digits.target[:20]).mean() >= 0.7


def test_cli_train_eval_predict(tmp_path: Path) -> None:
    source = write(tmp_path, epochs=2)
    run = tmp_path / "run"
    proc = cli("train", str(source), "--backend", "numpy", "--out", str(run))
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "backend: numpy" in out and "epoch 2/2" in out and f"saved: {run}" in out
    proc = cli("eval", str(run), "--format", "json")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err and json.loads(out)["samples"] == 180
    np.save(tmp_path / "one.npy", np.zeros((8, 8, 1), dtype=np.float32))
    proc = cli("predict", str(run), str(tmp_path / "one.npy"))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert out.startswith("sample 0: class ")
