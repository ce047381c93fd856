"""What only the JAX target has in training: the generated script trains on synthetic data (its checkpoint
loads into the NumPy runtime), also data parallel over 2 (forced CPU) devices. What every backend shares with
the NumPy runtime (`neural train --backend jax`, resume, weights and optimizer state moving between backends,
optimizers, schedules, clipping, losses) is tests/targets/test_training_backends.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from neural.api import analyse, loads
from neural.targets.jax.codegen import format_code, generate
from neural.targets.jax.training import JaxBackend
from neural.training.backend import NumpyBackend

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


PARALLEL = """
network Parallel {
  input: (4,)
  layers:
    Dense(5, "tanh")
    BatchNormalization()
    Dense(3)
  loss: "mse"
  optimizer: SGD(learning_rate=0.05, momentum=0.9)
  train { validation_split: 0.25 }
}
"""

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
    script = tmp_path / "model.py"
    script.write_text(format_code(generate(analyse(loads(PARALLEL).network()))))
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
