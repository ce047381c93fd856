"""Property tests: any input, generated or mutated, ends in a result or a positioned error.

Never another exception: a crash in the parser, resolver or shape engine is a bug.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neural.api import check_loaded
from neural.errors import NeuralError, NeuralErrors
from neural.resolve.loader import load_text

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").rglob("*.neural"))
SMALL_EXAMPLES = [p for p in EXAMPLES if p.stat().st_size < 2500]
SOURCES = [p.read_text() for p in SMALL_EXAMPLES]

TOKENS = [
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "=",
    "*",
    "@",
    ";",
    "-",
    "+",
    "/",
    "//",
    "#",
    '"',
    "'",
    "\n",
    " ",
    "0",
    "1",
    "-1",
    "3",
    "1e-4",
    "0.5",
    "None",
    "true",
    "relu",
    '"same"',
    "Dense",
    "Conv2D",
    "Flatten",
    "Residual",
    "Parallel",
    "branch",
    "shortcut",
    "layers",
    "network",
    "define",
    "HPO",
    "choice",
    "range",
    "input",
    "loss",
    "train",
    "x",
    "\x00",
    "é",
    "\t",
]
LAYERS = [
    "Dense({i})",
    "Dense({i}, {act})",
    "Conv1D({i}, {k})",
    "Conv2D({i}, {k}, strides={s}, padding={pad})",
    "Conv3D({i}, {k})",
    "MaxPooling2D({k})",
    "AveragePooling1D({k}, strides={s})",
    "GlobalAveragePooling2D()",
    "Flatten()",
    "Dropout({f})",
    "BatchNormalization()",
    "LayerNormalization()",
    "LSTM({i}, return_sequences={b})",
    "GRU({i})",
    "Bidirectional(LSTM({i}))",
    "Embedding({i}, {j})",
    "Reshape(({i}, {j}))",
    "Permute((2, 1))",
    "MultiHeadAttention({i})",
    "TransformerEncoder({i}, {j})",
    "UpSampling2D({k})",
    "ZeroPadding2D({k})",
    "Cropping2D({k})",
    "Conv2DTranspose({i}, {k}, strides={s})",
    "SeparableConv2D({i}, {k})",
    "DepthwiseConv2D({k})",
    "GroupNormalization({i})",
    "Activation({act})",
    "Softmax(axis={n})",
    "RepeatVector({i})",
    "TimeDistributed(Dense({i}))",
    "SqueezeExcitation()",
    "PositionalEncoding()",
    "Residual {{ Dense({i}) }}",
    "Parallel {{ Dense({i}) Dense({j}) }}",
    "Concatenate()",
    "Add()",
    "Dense({i}) * {r}",
    "x = Dense({i})",
    "Dense({i})(x)",
    "Output({i})",
    "Dense(HPO(choice({i}, {j})))",
    "ConvLSTM2D({i}, {k})",
    "AdaptiveAveragePooling2D({k})",
    "Cropping1D({k})",
    "SimpleRNN({i})",
]
INTS = st.sampled_from([-3, 0, 1, 2, 3, 4, 7, 16, 64, 100000])
ACTS = st.sampled_from(['"relu"', '"gelu"', '"softmax"', '"nope"', "7", "none", "prelu"])


@st.composite
def layer_lines(draw: st.DrawFn) -> str:
    template = draw(st.sampled_from(LAYERS))
    return template.format(
        i=draw(INTS),
        j=draw(INTS),
        k=draw(st.sampled_from(["1", "2", "3", "(2, 2)", "(1, 2, 3)", "0", "(3,)", "-1"])),
        s=draw(st.sampled_from(["1", "2", "(2, 1)", "0"])),
        pad=draw(st.sampled_from(['"same"', '"valid"', "1", "((0, 1), (1, 0))", '"causal"', "-2"])),
        act=draw(ACTS),
        f=draw(st.sampled_from(["0.0", "0.5", "1.5", "-0.1"])),
        b=draw(st.sampled_from(["true", "false", "3"])),
        n=draw(st.sampled_from(["-1", "0", "1", "5"])),
        r=draw(st.sampled_from(["1", "2", "0", "-1"])),
    )


@st.composite
def programs(draw: st.DrawFn) -> str:
    rank = draw(st.integers(min_value=1, max_value=4))
    dims = draw(st.lists(st.sampled_from(["1", "3", "8", "16", "None"]), min_size=rank, max_size=rank))
    layers = draw(st.lists(layer_lines(), min_size=1, max_size=6))
    body = "\n    ".join(layers)
    extra = draw(
        st.sampled_from(["", '  loss: "mse"\n', "  optimizer: Adam(learning_rate=-1)\n", "  train { epochs: 2 }\n"])
    )
    return f"network G {{\n  input: ({', '.join(dims)},)\n  layers:\n    {body}\n{extra}}}\n"


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SOURCES))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        pos = draw(st.integers(min_value=0, max_value=len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace", "duplicate"]))
        if action == "insert":
            text = text[:pos] + draw(st.sampled_from(TOKENS)) + text[pos:]
        elif action == "delete":
            text = text[:pos] + text[pos + draw(st.integers(min_value=1, max_value=12)) :]
        elif action == "replace":
            text = text[:pos] + draw(st.sampled_from(TOKENS)) + text[pos + 1 :]
        else:
            end = text.find("\n", pos)
            line = text[pos : end + 1 if end >= 0 else len(text)]
            text = text[:pos] + line + text[pos:]
    return text


def assert_result_or_positioned_error(text: str) -> None:
    try:
        check_loaded(load_text(text, "prop.neural"))
    except NeuralError as exc:
        errors = exc.errors if isinstance(exc, NeuralErrors) else (exc,)
        assert errors
        lines = text.count("\n") + 2
        for err in errors:
            if err.code == "file" and err.span is None:
                continue  # binary content: reported for the file as a whole
            assert err.span is not None, f"error without a position: {err}"
            assert 1 <= err.span.line <= lines, f"position outside the file: {err.span}"


PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(programs())
def test_generated_programs_end_in_result_or_positioned_error(text: str) -> None:
    assert_result_or_positioned_error(text)


@PROPERTY_SETTINGS
@given(mutated())
def test_mutated_examples_end_in_result_or_positioned_error(text: str) -> None:
    assert_result_or_positioned_error(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_ends_in_result_or_positioned_error(text: str) -> None:
    assert_result_or_positioned_error(text)
