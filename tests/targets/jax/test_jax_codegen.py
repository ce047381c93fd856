"""The generated JAX module as a user sees it: formatted, lint-clean, readable; names that would clash with
nnx.Module's own attributes or the generated code's locals; every layer kind has an emitter; generating
code needs no framework; canonical weights round-trip."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from catalog import CASES
from catalog.lint import assert_ruff_clean
from flax import nnx
from jax_helpers import check_generated, snippet_network

from neural.api import analyse, loads
from neural.errors import BackendError
from neural.layers.registry import all_specs
from neural.runtime.model import Model
from neural.targets.jax import emit
from neural.targets.jax.adapter import Adapter
from neural.targets.jax.codegen import format_code, generate

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"


def test_compile_command_writes_a_lint_clean_formatted_module(tmp_path: Path) -> None:
    out = tmp_path / "model.py"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "neural.cli.main",
            "compile",
            str(EXAMPLES / "resnet18.neural"),
            "--backend",
            "jax",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert_ruff_clean(out)
    text = out.read_text()
    assert (
        "class ResNet18(nnx.Module):" in text and "def build_model(rngs: nnx.Rngs | None = None) -> ResNet18:" in text
    )
    assert "from flax import nnx" in text and "import optax" in text
    assert "nnx.Conv(3, 64, (7, 7), strides=(2, 2), padding=((3, 3), (3, 3)), use_bias=False, rngs=rngs)" in text
    assert "# (None, 112, 112, 64)" in text  # one shape comment per layer
    assert "@nnx.jit" in text and "optax.sgd" in text


NETWORKS = [case for case in CASES if case.family == "networks"]


def test_generated_modules_of_the_catalog_networks_pass_ruff(tmp_path: Path) -> None:
    """The catalog's networks (every spatial, sequence, attention and recurrent kind among them), linted at once."""
    names = {}
    for i, case in enumerate(NETWORKS):
        (tmp_path / f"model_{i}.py").write_text(format_code(generate(case.network())))
        names[f"model_{i}.py"] = case.id
    assert_ruff_clean(tmp_path, f"\n(files: {names})")


def test_every_layer_kind_has_an_emitter() -> None:
    missing = [spec.kind for spec in all_specs() if not emit.support_status(spec.kind)[0]]
    assert missing == []


def test_a_kind_without_an_emitter_is_a_positioned_error(monkeypatch: pytest.MonkeyPatch) -> None:
    emit._ensure_loaded()
    monkeypatch.delitem(emit._EMITTERS, "Flatten")
    monkeypatch.setitem(emit._UNSUPPORTED, "Flatten", "a test said so")
    source = "network N {\n  input: (2, 3)\n  layers:\n    Flatten()\n    Dense(2)\n}\n"
    with pytest.raises(BackendError) as info:
        generate(analyse(loads(source).network()))
    assert "the JAX backend cannot generate Flatten: a test said so" in info.value.message
    assert info.value.span is not None and (info.value.span.line, info.value.span.column) == (4, 5)


def test_generating_code_imports_no_framework() -> None:
    code = (
        "import sys\n"
        "for name in ('jax', 'flax', 'optax', 'torch', 'tensorflow'):\n"
        "    sys.modules[name] = None  # any import of them fails\n"
        "from neural.api import analyse, load\n"
        "from neural.targets.jax.codegen import generate\n"
        f"print(len(generate(analyse(load({str(EXAMPLES / 'bert_base.neural')!r}).network()))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 1000


def test_channels_first_input_moves_channels_last_once() -> None:
    text = format_code(
        generate(
            snippet_network(
                "Conv2D(4, 3)\nReLU()\nConv2D(4, 3)\nMaxPooling2D(2)\nFlatten()\nDense(2)",
                (3, 8, 8),
                layout="channels_first",
            )
        )
    )
    call = text[text.index("def __call__") : text.index("def build_model")]
    assert call.count("jnp.moveaxis(input, 1, -1)") == 1 and call.count("jnp.moveaxis(x, -1, 1)") == 1
    text = format_code(generate(snippet_network("Conv2D(4, 3)\nFlatten()\nDense(2)", (8, 8, 3))))
    assert "moveaxis" not in text[text.index("def __call__") : text.index("def build_model")]


# (names nnx.Module itself uses, such as `train` and `eval`, are already refused by the resolver)
CLASHING = """
rngs = Dense(4)(input)
deterministic = Dropout(0.1)(rngs)
use_running_average = BatchNormalization()(deterministic)
_hidden = Dense(4)(use_running_average)
jax = Dense(4, "prelu")(_hidden)
x = Dense(4)(jax)
keras_dot = Dense(4)(x)
d = Dot(axes=1)(keras_dot, x)
Concatenate()(keras_dot, d)
Dense(2)
"""


def test_names_that_clash_with_module_attributes_or_locals() -> None:
    shaped = snippet_network(CLASHING, (3,))
    code = generate(shaped)
    assert "self.rngs_ = nnx.Linear" in code and "self.layer_hidden = nnx.Linear" in code
    assert "self.deterministic_ = nnx.Dropout" in code and "self.use_running_average_ = BatchNorm" in code
    module = check_generated(shaped)
    model = nnx.eval_shape(module.build_model)
    model.eval()  # layers named like the switches eval() sets would have been replaced by booleans
    assert isinstance(model.deterministic_, nnx.Dropout) and model.deterministic_.deterministic is True
    assert set(module.WEIGHTS) == set(Model(shaped).state_dict())
    assert module.WEIGHTS["rngs.weight"][0] == ("rngs_", "kernel")
    assert module.WEIGHTS["jax.activation.weight"][0] == ("jax_activation", "negative_slope")


def test_canonical_weights_round_trip_through_the_nnx_state() -> None:
    shaped = snippet_network(
        'SeparableConv2D(8, 3, activation="prelu")\nConv2DTranspose(4, 3, strides=2, padding="same", groups=2)\n'
        "BatchNormalization()\nSqueezeExcitation(2)\nLayerNormalization(axis=(-3, -2, -1))\nFlatten()\nDense(3)",
        (9, 9, 3),
    )
    reference = Model(shaped, seed=4).state_dict()
    adapter = Adapter(shaped)
    model = adapter.model(reference)
    back = adapter.module.canonical_weights(model)
    assert set(back) == set(reference)
    for name, value in reference.items():
        np.testing.assert_array_equal(back[name], value, err_msg=name)
