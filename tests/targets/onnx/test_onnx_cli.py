"""`neural export` and `neural compile --backend onnx`: the written model, its names and dynamic axes,
fresh weights equal to the NumPy runtime's, a trained run's weights with --run, and clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx_helpers import run, session

from neural.api import analyse, loads
from neural.cli.main import main
from neural.compare import random_inputs
from neural.runtime.gradcheck import max_relative_error
from neural.runtime.model import Model
from neural.runtime.tensor import no_grad
from neural.shapes.engine import ShapedNetwork
from neural.targets.onnx.export import export_network
from neural.training.session import open_run, predict_run, train

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

SMALL_CNN = """
network SmallCNN {
  input: (8, 8, 1)
  layers:
    Conv2D(4, 3, "relu", padding="same")
    BatchNormalization()
    MaxPooling2D(2)
    Flatten()
    Dense(8, "relu")
    Dropout(0.2)
    Output(3, "softmax")
  loss: "sparse_categorical_crossentropy"
  optimizer: Adam(learning_rate=0.01)
  train { epochs: 2 batch_size: 16 data: "synthetic" seed: 1 }
}
"""

TWO_HEADS = """
network TwoHeads {
  input {
    image: (6, 6, 2)
    output: (4,)
  }
  layers:
    Conv2D(3, 3)(image)
    Flatten()
    features = Dense(5)
    Concatenate()(features, output)
    logits = Dense(2)
  outputs: logits, features
}
"""


def numpy_outputs(
    shaped: ShapedNetwork, weights: dict[str, np.ndarray], inputs: dict[str, np.ndarray]
) -> list[np.ndarray]:
    model = Model(shaped)
    model.load_state_dict(weights)
    with no_grad():
        out = model(dict(inputs), training=False)
    return [o.data for o in (out if isinstance(out, tuple) else (out,))]


def cli(*args: str) -> int:
    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_export_command_writes_a_checked_model_with_the_numpy_runtimes_fresh_weights(tmp_path: Path) -> None:
    out = tmp_path / "lenet5.onnx"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "neural.cli.main",
            "export",
            str(EXAMPLES / "lenet5.neural"),
            "--format",
            "onnx",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "onnxruntime agrees with PyTorch: largest difference" in result.stderr
    onnx.checker.check_model(str(out), full_check=True)
    proto = onnx.load(str(out))
    assert proto.opset_import[0].version == 17 and proto.graph.name == "LeNet5"
    metadata = {p.key: p.value for p in proto.metadata_props}
    assert metadata["neural.network"] == "LeNet5" and metadata["neural.weights"].startswith("fresh")
    shaped = analyse(loads((EXAMPLES / "lenet5.neural").read_text()).network())
    sess = session(out.read_bytes())
    for batch in (1, 5):  # the NumPy runtime's initialization with seed 0, run by the NumPy runtime
        inputs = random_inputs(shaped, batch, np.random.default_rng(batch))
        (got,) = run(sess, inputs)
        (expected,) = numpy_outputs(shaped, Model(shaped, seed=0).state_dict(), inputs)
        assert got.shape == (batch, 10) and max_relative_error(got, expected) < 1e-4


def test_compile_with_the_onnx_backend_is_the_same_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "model.onnx"
    assert cli("compile", str(EXAMPLES / "two_inputs.neural"), "--backend", "onnx", "-o", str(out)) == 0
    assert "wrote" in capsys.readouterr().err
    proto = onnx.load(str(out))
    assert [i.name for i in proto.graph.input] == ["image", "features"]
    assert cli("compile", str(EXAMPLES / "two_inputs.neural"), "--backend", "onnx") == 2  # binary: needs -o
    assert "give the file to write with -o" in capsys.readouterr().err


def test_names_outputs_and_open_sizes(tmp_path: Path) -> None:
    shaped = analyse(loads(TWO_HEADS).network())
    exported = export_network(shaped, opset=18)
    assert exported.proto.opset_import[0].version == 18
    assert exported.inputs == ("image", "output")
    assert exported.outputs == ("logits", "features")  # named by `outputs:`
    assert [o.name for o in exported.proto.graph.output] == ["logits", "features"]
    unnamed = analyse(loads("network U {\n input { output: (4,) }\n layers:\n  Dense(2)\n}\n").network())
    assert export_network(unnamed).outputs == ("output_out",)  # never an input's name
    sequence = analyse(
        loads(
            "network S {\n input: (None, None, 3)\n layers:\n  LSTM(4, return_sequences=true)\n  Dense(2)\n}\n"
        ).network()
    )
    exported = export_network(sequence)
    (value,) = exported.proto.graph.input
    assert [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim] == ["batch", "input_1", 3]
    sess = session(exported)
    for steps in (1, 9):
        (out,) = run(sess, {"input": np.ones((2, steps, 3), np.float32)})
        assert out.shape == (2, steps, 2)


def test_an_unsupported_layer_is_a_positioned_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "bad.neural"
    source.write_text(
        "network Bad {\n  input: (7, 8, 2)\n  layers:\n    Conv2D(2, 1)\n    InstanceNormalization(track_running_stats=true)\n    Flatten()\n}\n"
    )
    assert cli("export", str(source), "-o", str(tmp_path / "bad.onnx")) == 1
    err = capsys.readouterr().err
    assert f"{source}:5:5: error: cannot export layer `instance_normalization_1` (InstanceNormalization) to ONNX" in err
    assert not (tmp_path / "bad.onnx").exists()


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("onnx_run")
    source = root / "small_cnn.neural"
    source.write_text(SMALL_CNN)
    result = train(source, backend="numpy", out=root / "run")
    return source, result.run.path


def test_a_trained_run_exports_with_its_weights(trained_run: tuple[Path, Path], tmp_path: Path) -> None:
    source, run_dir = trained_run
    out = tmp_path / "trained.onnx"
    assert cli("export", "--run", str(run_dir), "-o", str(out)) == 0  # the run's own network
    assert cli("export", str(source), "--run", str(run_dir), "-o", str(tmp_path / "same.onnx")) == 0
    loaded = open_run(run_dir)
    inputs = random_inputs(loaded.shaped, 5, np.random.default_rng(0))
    expected = predict_run(run_dir, inputs)  # the NumPy runtime on the run (batch-norm statistics included)
    for path in (out, tmp_path / "same.onnx"):
        (got,) = run(session(path.read_bytes()), inputs)
        assert max_relative_error(got, expected) < 1e-4
    fresh = tmp_path / "fresh.onnx"
    assert cli("export", str(source), "-o", str(fresh)) == 0
    (untrained,) = run(session(fresh.read_bytes()), inputs)
    assert max_relative_error(untrained, expected) > 1e-2  # so the run's weights are what made them agree
    metadata = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert metadata["neural.weights"] == f"training run {run_dir.name}"


def test_a_run_and_a_different_file_do_not_mix(
    trained_run: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, run_dir = trained_run
    other = tmp_path / "other.neural"
    other.write_text(SMALL_CNN.replace("Dense(8", "Dense(9"))
    assert cli("export", str(other), "--run", str(run_dir), "-o", str(tmp_path / "x.onnx")) == 1
    assert "is not the network run" in capsys.readouterr().err
    assert cli("export", "--run", str(run_dir), "--network", "Other", "-o", str(tmp_path / "x.onnx")) == 1
    assert cli("export", "-o", str(tmp_path / "x.onnx")) == 1
    assert "give a .neural file to export" in capsys.readouterr().err
