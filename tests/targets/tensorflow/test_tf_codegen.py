"""The generated Keras module as a user sees it: formatted, lint-clean, a Sequential for a plain stack and the
functional API for graphs, names from the DSL, canonical weights in and out, positioned errors for gaps."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tf_helpers import check_generated, snippet_network

from neural.api import analyse, load, loads
from neural.errors import BackendError
from neural.layers.registry import all_specs
from neural.runtime.model import Model
from neural.targets.tensorflow import emit
from neural.targets.tensorflow.codegen import format_code, generate
from neural.targets.tensorflow.load import import_code, import_network

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def lint(path: Path) -> None:
    for args in (["check", "--isolated"], ["format", "--isolated", "--line-length", "120", "--check"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *args, str(path)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr


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
    lint(out)
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


MIXED = """
network Mixed {
  input { image: (8, 8, 3) tokens: (5,) }
  layers:
    c = Conv2D(4, 3, activation="prelu", padding=1)(image)
    b = BatchNormalization()(c)
    s = SeparableConv2D(4, 3, strides=2)(b)
    f = Flatten()(s)
    e = Embedding(30, 6)(tokens)
    l = Bidirectional(GRU(4))(e)
    Concatenate()(f, l)
    Dense(3)
  loss: "mse"
  optimizer: Adam
}
"""


def test_weight_map_is_the_canonical_one_both_ways() -> None:
    shaped = analyse(loads(MIXED).network())
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


SPATIAL = """
network AllSpatial {
  input { a: (12, 3) b: (12, 12, 3) c: (6, 6, 6, 2) }
  layout: channels_last
  layers:
    a1 = Conv1D(4, 3, padding="causal", activation="leaky_relu")(a)
    a2 = SeparableConv1D(4, 3, strides=2, padding="same")(a1)
    a3 = DepthwiseConv1D(3, padding=(1, 2))(a2)
    a4 = Conv1DTranspose(4, 3, strides=2, padding="same")(a3)
    a5 = MaxPooling1D(3, strides=2, padding="same")(a4)
    a6 = AveragePooling1D(2, padding=(0, 1), ceil_mode=true)(a5)
    a7 = UpSampling1D(2, interpolation="linear")(a6)
    a8 = ZeroPadding1D((1, 2))(a7)
    a9 = Cropping1D((2, 1))(a8)
    a10 = AdaptiveMaxPooling1D(3)(a9)
    ga = GlobalMaxPooling1D()(a10)
    b1 = Conv2D(4, 3, strides=2, padding="same", dilation_rate=2, activation="softmax")(b)
    b2 = SeparableConv2D(4, 3, padding="same", activation="prelu")(b1)
    b3 = DepthwiseConv2D(3, padding=1)(b2)
    b4 = Conv2DTranspose(4, 3, strides=2, padding="same", groups=2)(b3)
    b5 = MaxPooling2D(2, padding=((0, 1), (1, 0)))(b4)
    b6 = AveragePooling2D(3, strides=2, padding="same")(b5)
    b7 = UpSampling2D(2, interpolation="bilinear")(b6)
    b9 = Cropping2D(((1, 0), (0, 1)))(b7)
    b11 = AdaptiveAveragePooling2D(2)(b9)
    gb = GlobalMaxPooling2D()(b11)
    c1 = Conv3D(4, 3, padding="same")(c)
    c2 = Conv3DTranspose(4, 2, strides=2)(c1)
    c3 = InstanceNormalization(affine=true)(c2)
    c4 = AveragePooling3D(2, padding="same", count_include_pad=true)(c3)
    c5 = UpSampling3D(2, interpolation="trilinear")(c4)
    c6 = ZeroPadding3D(1)(c5)
    c7 = Cropping3D(1)(c6)
    c8 = SqueezeExcitation(2)(c7)
    gc = GlobalAveragePooling3D()(c8)
    Concatenate()(ga, gb, gc)
    Dense(3)
  loss: "mse"
  optimizer: SGD(learning_rate=0.1)
}
"""

SEQUENCES = """
network AllSequences {
  input { q: (6, 8) m: (5, 8) mask: (5,) tokens: (6,) }
  layers:
    t = Embedding(20, 8, padding_idx=0)(tokens)
    p = PositionalEncoding(max_len=10)(q)
    r = Add()(p, t)
    e = TransformerEncoder(2, 16, 0.0, norm_first=true)(r)
    d = TransformerDecoder(2, 16, 0.0, memory_key_padding_mask=true)(e, m, mask)
    h = MultiHeadAttention(2, key_padding_mask=true)(d, m, mask)
    a = Attention(true, "concat")(h, m)
    f = FeedForward(16, "gelu")(a)
    n = LayerNormalization()(f)
    s = Bidirectional(LSTM(4, return_sequences=true))(n)
    g = GRU(4, return_sequences=true)(s)
    w = TimeDistributed(Dense(3, "leaky_relu"))(g)
    SimpleRNN(4)(w)
    Dense(2, "softmax")
  loss: "categorical_crossentropy"
  optimizer: RMSprop(learning_rate=0.01, momentum=0.5, centered=true)
}
"""


@pytest.mark.parametrize("source", [SPATIAL, SEQUENCES, MIXED], ids=["spatial", "sequences", "mixed"])
def test_many_kinds_in_one_network_match_and_pass_ruff(source: str, tmp_path: Path) -> None:
    shaped = analyse(loads(source).network())
    check_generated(shaped)
    path = tmp_path / "model.py"
    path.write_text(format_code(generate(shaped)))
    lint(path)


def test_channels_first_module_imports_and_runs() -> None:
    source = SPATIAL.replace("layout: channels_last", "layout: channels_first").replace("(12, 3)", "(3, 12)")
    source = source.replace("(12, 12, 3)", "(3, 12, 12)").replace("(6, 6, 6, 2)", "(2, 6, 6, 6)")
    check_generated(analyse(loads(source).network()))


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


def test_a_layer_that_feeds_no_output() -> None:
    """Keras' functional models hold only what the outputs need: a dead layer without weights is left out
    (noted in a comment); one with weights would change the parameter count, so it is a positioned error."""
    source = (
        "network N {\n  input: (4,)\n  layers:\n    a = Dense(3)\n    ReLU()(a)\n    b = Dense(2)(a)\n  outputs: b\n}\n"
    )
    code = generate(analyse(loads(source).network()))
    assert "# relu_1 (ReLU) feeds no output: left out" in code
    with pytest.raises(BackendError, match="feeds no output") as info:
        generate(analyse(loads(source.replace("ReLU()(a)", "Dense(5)(a)")).network()))
    assert info.value.span is not None and info.value.span.line == 5
