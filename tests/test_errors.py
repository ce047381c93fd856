"""Bad programs: every one ends in a positioned error with a useful message (never a traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from neural.api import check_loaded
from neural.errors import NeuralError, NeuralErrors, format_error
from neural.resolve.loader import load_source, load_text
from neural.source import decode_source

NET = "network N {{\n  input: {shape}\n  layers:\n{layers}\n{rest}}}\n"


def net(layers: str, shape: str = "(28, 28, 1)", rest: str = "") -> str:
    """A network whose layers start on line 4 (one per line, indented by 4)."""
    body = "\n".join(f"    {line}" for line in layers.splitlines())
    return NET.format(shape=shape, layers=body, rest=rest)


def errors_of(text: str, path: str = "t.neural") -> list[NeuralError]:
    with pytest.raises(NeuralError) as info:
        check_loaded(load_text(text, path))
    exc = info.value
    return list(exc.errors) if isinstance(exc, NeuralErrors) else [exc]


# (id, source, line, column, fragment of the message or hint)
CASES = [
    ("empty-file", "", 1, 1, "is empty"),
    ("blank-file", "\n  \n", 1, 1, "is empty"),
    ("comments-only", "# only a comment\n", 1, 1, "defines no network"),
    ("keyword-network-name", "network class {\n  input: (3,)\n  layers:\n    Dense(2)\n}\n", 1, 9, "reserved word"),
    ("dunder-network-name", "network __name__ {\n  input: (3,)\n  layers:\n    Dense(2)\n}\n", 1, 9, "may not start"),
    ("unclosed-brace", "network N {\n  input: (3,)\n  layers:\n    Dense(2)\n", 1, 11, "`{` is never closed"),
    ("unmatched-paren", net("Dense(2))"), 4, 13, "unmatched `)`"),
    ("unterminated-string", net('Dense(2, "relu)'), 4, 14, "unterminated string"),
    ("bad-character", net("Dense(2) $"), 4, 14, "unexpected character `$`"),
    ("double-comma", net("Flatten()\nDense(2,, 3)"), 5, 13, "unexpected `,`"),
    ("missing-comma", net('Flatten()\nDense(64 "relu")'), 5, 14, "unexpected string"),
    (
        "missing-close-paren",
        'network N {\n  input: (3,)\n  layers:\n    Dense(10\n  loss: "mse"\n}\n',
        5,
        3,
        "missing at the end of line 4",
    ),
    ("keyword-as-name", net("layers = Dense(3)", shape="(3,)"), 4, 12, "`layers` is a keyword"),
    ("unknown-escape", net('Dense(2, activation="re\\qlu")', shape="(3,)"), 4, 25, "unknown escape"),
    ("unknown-layer", net("Flatten()\nDens(10)"), 5, 5, "did you mean `Dense`?"),
    ("unknown-argument", net("Flatten()\nDense(unit=10)"), 5, 11, "did you mean `units`?"),
    ("argument-twice", net("Flatten()\nDense(64, units=32)"), 5, 15, "given twice"),
    ("too-many-positional", net('Flatten()\nDense(64, "relu", true)'), 5, 23, "takes 2 positional arguments"),
    ("missing-required", net("Flatten()\nDense()"), 5, 5, "needs the argument `units`"),
    ("string-for-int", net('Flatten()\nDense("64")'), 5, 11, "expects a positive integer"),
    ("negative-units", net("Flatten()\nDense(-5)"), 5, 11, "expects a positive integer"),
    ("float-units", net("Flatten()\nDense(64.0)"), 5, 11, "without the decimal point"),
    ("unknown-activation", net('Flatten()\nDense(10, activation="relux")'), 5, 15, "did you mean `relu`?"),
    (
        "positional-after-named",
        net('Flatten()\nDense(units=3, "relu")'),
        5,
        20,
        "positional argument after a named one",
    ),
    ("unknown-section", net("Flatten()", rest='  lossfn: "mse"\n'), 5, 3, "did you mean `loss`?"),
    ("duplicate-section", net("Flatten()", rest='  loss: "mse"\n  loss: "mae"\n'), 6, 3, "appears twice"),
    ("missing-input", "network N {\n  layers:\n    Dense(2)\n}\n", 1, 9, "has no `input:` section"),
    ("missing-layers", 'network N {\n  input: (3,)\n  loss: "mse"\n}\n', 1, 9, "has no `layers:` section"),
    (
        "layer-before-layers",
        "network N {\n  input: (3,)\n  Dense(2)\n  layers:\n    Dense(1)\n}\n",
        3,
        3,
        "put layers after `layers:`",
    ),
    ("train-not-block", net("Flatten()", rest="  train: 3\n"), 5, 3, "is a block"),
    (
        "unknown-loss",
        net("Flatten()", rest='  loss: "categorical_crossentropyy"\n'),
        5,
        9,
        "did you mean `categorical_crossentropy`?",
    ),
    ("unknown-optimizer", net("Flatten()", rest="  optimizer: Adamm\n"), 5, 14, "did you mean `Adam`?"),
    (
        "unknown-optimizer-arg",
        net("Flatten()", rest="  optimizer: Adam(learning_rat=0.1)\n"),
        5,
        19,
        "did you mean `learning_rate`?",
    ),
    ("bad-learning-rate", net("Flatten()", rest="  optimizer: SGD(learning_rate=-1)\n"), 5, 18, "expects a number > 0"),
    (
        "unknown-schedule",
        net("Flatten()", rest="  optimizer: Adam(learning_rate=ExponentialDecy(0.1, 10, 0.9))\n"),
        5,
        19,
        "did you mean `ExponentialDecay`?",
    ),
    ("unknown-metric", net("Flatten()", rest='  metrics: ["acuracy"]\n'), 5, 13, "did you mean `accuracy`?"),
    ("unknown-train-key", net("Flatten()", rest="  train { epochz: 3 }\n"), 5, 11, "did you mean `epochs`?"),
    ("zero-epochs", net("Flatten()", rest="  train { epochs: 0 }\n"), 5, 11, "expects a positive integer"),
    (
        "bad-validation-split",
        net("Flatten()", rest="  train { validation_split: 1.5 }\n"),
        5,
        11,
        "expects a number in [0, 1)",
    ),
    ("bad-device", net("Flatten()", rest='  execution { device: "tpu" }\n'), 5, 15, '"cuda:N"'),
    ("bad-layer-device", net('Flatten() @ "cuda:x"'), 4, 17, "a device is"),
    ("unknown-macro", "define Block { Flatten() }\n" + net("Blok()"), 5, 5, "did you mean `Block`?"),
    (
        "macro-arity",
        "define Block(a, b) { Flatten() }\n" + net("Block(1, 2, 3)"),
        5,
        17,
        "takes 2 argument(s) (a, b); received 3",
    ),
    (
        "macro-unknown-param",
        "define Block(filters) { Flatten() }\n" + net("Block(filter=3)"),
        5,
        11,
        "did you mean `filters`?",
    ),
    (
        "macro-missing-param",
        "define Block(filters) { Flatten() }\n" + net("Block()"),
        5,
        5,
        "needs the argument `filters`",
    ),
    ("macro-recursion", "define Loop { Loop() }\n" + net("Loop()"), 1, 15, "uses itself"),
    ("macro-shadows-layer", "define Dense { Flatten() }\n" + net("Flatten()"), 1, 8, "is a built-in layer"),
    ("unknown-tensor", net("c1 = Flatten()\nDense(3)\nConcatenate()(c1, c9)"), 6, 23, "named outputs here: input, c1"),
    ("concat-one-input", net("Flatten()\nConcatenate()"), 5, 5, "takes at least 2 inputs"),
    (
        "dense-two-inputs",
        net("Flatten()\nParallel { Dense(2) Dense(3) }\nDense(4)"),
        6,
        5,
        "takes one input; received 2",
    ),
    ("output-consumed", net("Flatten()\nOutput(10)\nDense(5)"), 6, 5, "`Output` ends the network"),
    ("reserved-name", net("class = Flatten()"), 4, 5, "reserved word"),
    ("framework-reserved-name", net("forward = Flatten()"), 4, 5, "generated models use it"),
    ("repeat-zero", net("Flatten()\nDense(4) * 0"), 5, 16, "positive integer"),
    ("bad-input-shape", net("Flatten()", shape="(0, 28)"), 2, 10, "tuple of positive sizes"),
    ("bad-layout", net("Flatten()", rest="  layout: channels_middle\n"), 5, 11, "did you mean `channels_last`?"),
    ("shortcut-outside", net("shortcut { Flatten() }"), 4, 5, "belongs directly inside a `Residual"),
    ("layer-with-body", net("Dense(3) { Flatten() }"), 4, 5, "does not take a `{ ... }` body"),
    (
        "unused-output",
        net("f = Flatten()\nside = Dense(3)\nDense(2)(f)"),
        5,
        5,
        "the output of `side` (Dense) is never used",
    ),
    ("division-by-zero", "define B(n) { Dense(n // 0) }\n" + net("Flatten()\nB(4)"), 1, 21, "division by zero"),
    ("hpo-unknown-space", net("Flatten()\nDense(HPO(pick(1, 2)))"), 5, 15, "unknown search space"),
    ("hpo-bad-range", net("Flatten()\nDense(HPO(range(10, 5)))"), 5, 15, "needs low < high"),
    (
        "network-twice",
        "network N {\n  input: (3,)\n  layers:\n    Dense(1)\n}\nnetwork N {\n  input: (3,)\n  layers:\n    Dense(1)\n}\n",
        6,
        9,
        "defined twice",
    ),
    ("no-network", "define B { Flatten() }\n", 1, 1, "defines no network"),
    ("permute-invalid", net("Permute((1, 1, 2))"), 4, 5, "must be a permutation"),
    # shape errors: the layer, what it received, what it needs
    ("dense-unknown-features", net("Dense(4)", shape="(None, None)"), 4, 5, "known number of input features"),
    ("reshape-size", net("Reshape((5, 5))"), 4, 5, "25 elements to reshape"),
    (
        "concat-mismatch",
        net("a = Dense(4)\nb = Flatten()\nConcatenate()(a, b)"),
        6,
        5,
        "Concatenate expects inputs of the same rank",
    ),
    ("residual-mismatch", net("Flatten()\nResidual { Dense(7) }"), 5, 5, "Add expects inputs of the same shape"),
    ("embedding-float", net("Dense(4)\nEmbedding(100, 8)", shape="(10,)"), 5, 5, "Embedding expects integer ids"),
    ("softmax-axis", net("Softmax(axis=3)", shape="(10,)"), 4, 5, "axis 3"),
]


@pytest.mark.parametrize(("source", "line", "column", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_program_is_a_positioned_error(source: str, line: int, column: int, fragment: str) -> None:
    errors = errors_of(source)
    first = errors[0]
    text = format_error(first)
    assert fragment in text, text
    assert first.span is not None, text
    assert (first.span.line, first.span.column) == (line, column), text


def test_there_are_at_least_forty_cases() -> None:
    assert len(CASES) >= 40


def test_several_independent_errors_are_reported_together() -> None:
    source = net('Flatten()\nDens(3)\nDense(4, activation="relux")', rest='  loss: "msee"\n')
    errors = errors_of(source)
    assert [(e.span.line, e.span.column) for e in errors if e.span] == [(5, 5), (6, 14), (7, 9)]


def test_several_syntax_errors_are_reported_together() -> None:
    source = net('Flatten()\nDense(3,, 2)\nDense(4 "relu")')
    errors = errors_of(source)
    assert [e.span.line for e in errors if e.span] == [5, 6]


def test_binary_file_is_rejected() -> None:
    with pytest.raises(NeuralError, match="binary"):
        decode_source("x.neural", b"net\x00work")


def test_non_utf8_file_points_at_the_bad_byte() -> None:
    with pytest.raises(NeuralError) as info:
        load_source(decode_source("x.neural", b"network N {\n  input: (3,) # caf\xe9\n}"))
    assert "not valid UTF-8" in info.value.message
    assert info.value.span is not None and info.value.span.line == 2


def test_shape_error_names_kind_received_and_expected() -> None:
    [err] = errors_of(net("Flatten()\nConv2D(32, 3)"))
    assert err.message == "Conv2D expects input of rank 3 (height, width, channels), received (784,)"
    assert (err.span.line, err.span.column) == (5, 5)  # type: ignore[union-attr]
    assert any("comes from `flatten_1` (Flatten)" in note for note in err.notes)


def test_hpo_variant_that_breaks_a_shape_is_named() -> None:
    [err] = errors_of(net("Conv2D(8, HPO(choice(3, 40)))"))
    assert ("Conv2D" in err.message and "40" in err.message) or "kernel" in err.message
    assert any("conv2d_1.kernel_size=40" in note for note in err.notes), err.notes


def test_import_of_missing_file(tmp_path: Path) -> None:
    main = tmp_path / "main.neural"
    main.write_text('import "nope.neural"\n' + net("Flatten()"))
    with pytest.raises(NeuralError, match=r"cannot import nope\.neural") as info:
        check_loaded(load_source(decode_source(str(main), main.read_bytes())))
    assert info.value.span is not None and info.value.span.line == 1


def test_import_cycle(tmp_path: Path) -> None:
    (tmp_path / "a.neural").write_text('import "b.neural"\n')
    (tmp_path / "b.neural").write_text('import "a.neural"\n')
    main = tmp_path / "a.neural"
    with pytest.raises(NeuralError, match="import cycle"):
        load_source(decode_source(str(main), main.read_bytes()))
