"""What only the TensorFlow target has in training: the generated script trained for an epoch (its checkpoint
loads into the NumPy runtime), and data parallelism with tf.distribute.MirroredStrategy. What every backend
shares with the NumPy runtime (`neural train --backend tensorflow`, resume, weights and optimizer state
moving between backends, optimizers, schedules, clipping, losses) is tests/targets/test_training_backends.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tf_helpers import snippet_network

from neural.api import analyse, loads
from neural.compare import NumpyReference, random_inputs, random_targets
from neural.runtime.model import Model
from neural.targets.tensorflow.codegen import format_code, generate
from neural.targets.tensorflow.load import import_network
from neural.training.checkpoint import load_checkpoint

SCRIPTED = """
network Scripted {
  input: (8, 8, 1)
  layers:
    Flatten()
    Dense(16, "relu")
    BatchNormalization()
    Output(10, "softmax")
  loss: "sparse_categorical_crossentropy"
  optimizer: Adam
  metrics: ["accuracy"]
  train { epochs: 1 batch_size: 32 validation_split: 0.2 test_split: 0.1 seed: 3 }
}
"""


@pytest.mark.slow
def test_generated_script_trains_an_epoch_and_its_checkpoint_loads_into_numpy(tmp_path: Path) -> None:
    shaped = analyse(loads(SCRIPTED).network())
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
