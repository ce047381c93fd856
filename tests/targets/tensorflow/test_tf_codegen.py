"""The generated Keras module as a user sees it: formatted, lint-clean, a Sequential for a plain stack and the
functional API for graphs, names from the DSL, canonical weights in and out, positioned errors for gaps."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from catalog import CASES, Case
from catalog.lint import assert_ruff_clean
from tf_helpers import check_generated, snippet_network

from neural.api import analyse, load, loads
from neural.errors import BackendError
from neural.layers.registry import all_specs
from neural.runtime.model import Model
from neural.targets.tensorflow import emit
from neural.targets.tensorflow.codegen import format_code, generate
from neural.targets.tensorflow.load import import_code, import_network

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def test_compile_command_writes_a_lint_clean_sequential_module(tmp_path: Path) -> None:
    out = tmp_path / "model.py"
    command = [
        sys.executable,
        "-m",
        "neural.cli.main",
        "compile",
        str(EXAMPLES / "lenet5.neural"),
        "--backend",
        "tensorflow",
        "-o",
        str(out),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert_ruff_clean(out)
    text = out.read_text()
    assert "def build_model() -> keras.Sequential:" in text and 'keras.Input(shape=(32, 32, 1), name="input")' in text
    assert 'layers.Conv2D(6, 5, activation="relu", name="conv2d_1"),  # (None, 28, 28, 6)' in text
    assert 'layers.Dense(10, activation="softmax", name="output_1"),  # (None, 10)' in text


def test_graphs_use_the_functional_api() -> None:
    text = format_code(generate(analyse(load(EXAMPLES / "two_inputs.neural").network())))
    assert "def build_model() -> keras.Model:" in text
    assert "return keras.Model(inputs=[image, features], outputs=" in text
    residual = generate(
        snippet_network('c = Conv2D(4, 3, padding="same")\nd = Conv2D(4, 3, padding="same")(c)\nAdd()(c, d)', (6, 6, 4))
    )
    assert "layers.Add(name='add_1')([c, d])" in residual


def test_every_kind_has_an_emitter_or_a_reason() -> None:
    for spec in all_specs():
        supported, reason = emit.support_status(spec.kind)
        assert supported or reason, spec.kind


def test_a_kind_without_an_emitter_is_a_positioned_error(monkeypatch: pytest.MonkeyPatch) -> None:
    emit.get_emitter("Flatten")
    monkeypatch.delitem(emit._EMITTERS, "Flatten")
    monkeypatch.setitem(emit._UNSUPPORTED, "Flatten", "for this test")
    source = "network N {\n  input: (2, 3)\n  layers:\n    Flatten()\n    Dense(2)\n}\n"
    with pytest.raises(BackendError) as info:
        generate(analyse(loads(source).network()))
    assert "cannot generate Flatten: for this test" in info.value.message
    assert info.value.span is not None and (info.value.span.line, info.value.span.column) == (4, 5)


def test_names_that_clash_with_the_module_get_a_suffix() -> None:
    source = """
network layers {
  input { keras: (6,) model: (6,) }
  layers:
    x = Dense(4)(keras)
    ops = Dense(4)(model)
    tf = Add()(x, ops)
    np = Dense(2)
}
"""
    shaped = analyse(loads(source).network())
    module = check_generated(shaped)
    model = module.build_model()
    assert model.name == "layers" and {layer.name for layer in model.layers} >= {"x", "ops", "tf", "np"}


def test_weight_map_is_the_canonical_one_both_ways() -> None:
    shaped = next(c for c in CASES if c.name == "image and tokens").network()
    module = import_network(shaped)
    reference = Model(shaped, seed=3).state_dict()
    assert set(module.WEIGHTS) == set(reference)
    model = module.build_model()
    module.load_canonical(model, reference)
    back = module.canonical_weights(model)
    for name, value in reference.items():
        np.testing.assert_array_equal(back[name], value, err_msg=name)
    with pytest.raises(ValueError, match="missing"):
        module.load_canonical(model, {k: v for k, v in reference.items() if k != "dense_1.bias"})


# the catalog's networks of many kinds (every spatial kind, every sequence kind, ...) have several inputs
MANY_KINDS = [c for c in CASES if c.family == "networks" and len(c.shapes) > 1]


@pytest.mark.parametrize("case", MANY_KINDS, ids=[c.id for c in MANY_KINDS])
def test_many_kinds_in_one_network_pass_ruff(case: Case, tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text(format_code(generate(case.network())))
    assert_ruff_clean(path)


def test_unsafe_file_name_never_reaches_the_header() -> None:
    code = generate(snippet_network("Dense(2)", (3,)), source='x"""; import os; """.neural')
    assert "import os;" not in code
    import_code(code, "Header")


def test_compare_command_runs_the_tensorflow_backend() -> None:
    from click.testing import CliRunner

    from neural.cli.main import cli

    result = CliRunner().invoke(cli, ["compare", str(EXAMPLES / "lenet5.neural"), "--backends", "numpy,tensorflow"])
    assert result.exit_code == 0, result.output
    assert "tensorflow" in result.output and "ok" in result.output.lower()
