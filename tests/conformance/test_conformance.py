"""One conformance suite for every backend: numpy, pytorch, tensorflow, jax and onnx (inference only).

For every case of the catalog (tests/catalog: every layer kind with its main argument variants) and every
example file, on every backend: the model builds, its output shapes are the shape engine's, its trainable
parameters (and state) are the DSL's counts, and its outputs agree with the NumPy runtime's for the same
weights and input; on the trainable backends one training step moves the weights the same way
(tests/conformance/checks.py). A backend whose framework is not installed is skipped with the reason.

Catalog cases on the same inputs run as branches of one network per backend (tests/conformance/groups.py);
each case is still its own test, and a failure names the cases at fault. The first case of a group carries
the group's time. A case a backend cannot express must be refused with an error positioned at the layer
(the expected refusals are listed in groups.py; ONNX's come from its export rules).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from backends import available
from catalog import CASES, Case, case_kinds
from checks import BACKENDS, TOLERANCE, TRAINABLE, check
from groups import EXPECTED_REFUSALS, Verdicts, analysed, expected_refusals

from neural.api import analyse, loads
from neural.compare import NumpyReference, adapter_for, random_inputs, random_targets
from neural.layers.registry import all_specs
from neural.shapes.engine import ShapedNetwork
from neural.testing import network_source

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SLOW_BACKENDS = {"tensorflow", "jax", "onnx"}


def needs(backend: str) -> None:
    reason = None if backend == "numpy" else available(backend)
    if reason:
        pytest.skip(reason)


# --- the catalog -----------------------------------------------------------------------------------------------


def test_every_registered_kind_has_a_case() -> None:
    covered: set[str] = set()
    for case in CASES:
        covered |= case_kinds(analysed(case))
    assert not {spec.kind for spec in all_specs()} - covered


def test_expected_refusals_name_catalog_cases() -> None:
    ids = {case.id for case in CASES}
    assert {case_id for _, case_id in EXPECTED_REFUSALS} <= ids


VERDICTS = Verdicts()


def case_param(backend: str, case: Case) -> object:
    """One catalog case on one backend; the cases of a group share an xdist group, so that a parallel run
    (`pytest -n 2 --dist loadgroup`) runs each group once, on one worker."""
    marks = [pytest.mark.xdist_group(f"{backend}:{VERDICTS.group_of(backend, case)[0].id}")]
    if backend in SLOW_BACKENDS:
        marks.append(pytest.mark.slow)
    return pytest.param(backend, case, id=f"{backend}-{case.family}-{case.id}", marks=marks)


@pytest.mark.parametrize(("backend", "case"), [case_param(b, c) for b in BACKENDS for c in CASES])
def test_catalog_case(backend: str, case: Case) -> None:
    needs(backend)
    verdict = VERDICTS.verdict(backend, case)
    reasons = expected_refusals(backend, case)
    if reasons:
        assert verdict.refused, f"expected a refusal ({'; '.join(reasons)}), but it ran: {verdict.problems}"
        messages = " ".join(e.message for e in verdict.refused)
        assert all(reason in messages for reason in reasons), messages
        return
    assert not verdict.refused, (
        f"refused: {'; '.join(f'line {e.span.line}: {e.message}' for e in verdict.refused if e.span)}"
    )
    assert not verdict.problems, "\n".join(verdict.problems)


# --- the examples ----------------------------------------------------------------------------------------------

SGD = "optimizer: SGD(learning_rate=0.01)"
# Large examples run as copies with smaller sizes (the same layers): the text edits below, each of which must
# apply. Batch statistics of a batch of 2 over 1x1 maps make a training step ill-conditioned, so ResNet keeps
# 2x2 maps at the end; Adam's first step is about sign(gradient), which turns float32 rounding noise in
# near-zero gradients into full steps (the JAX step runs in float32), so some copies step with SGD. ResNet-50's 53
# batch-normalized layers over a batch of 2 amplify float32 rounding (its float32 and float64 NumPy steps differ
# by 1e-2), so its copy repeats its middle blocks once and steps at a tenth of the rate.
SCALED: dict[str, tuple[tuple[str, str], ...]] = {
    "resnet18.neural": (("(224, 224, 3)", "(48, 48, 3)"),),
    "resnet50.neural": (
        ("(224, 224, 3)", "(64, 64, 3)"),
        ("Bottleneck(128) * 3", "Bottleneck(128)"),
        ("Bottleneck(256) * 5", "Bottleneck(256)"),
        ("SGD(learning_rate=0.1, momentum=0.9, weight_decay=1e-4)", "SGD(learning_rate=0.01, momentum=0.9)"),
    ),
    "vgg16.neural": (("(224, 224, 3)", "(32, 32, 3)"),),
    "mobilenet_v2.neural": (("(224, 224, 3)", "(32, 32, 3)"),),
    "unet.neural": (("(128, 128, 1)", "(32, 32, 1)"), ("optimizer: Adam(learning_rate=1e-3)", SGD)),
    "inception.neural": (("(28, 28, 192)", "(9, 9, 192)"), ("optimizer: Adam", SGD)),
    "transformer_encoder.neural": (
        ("(128, 512)", "(6, 16)"),
        ("num_heads=8, ff_dim=2048", "num_heads=2, ff_dim=32"),
        ("Adam(learning_rate=1e-4)", "SGD(learning_rate=0.1)"),
    ),
    "compat/transformer.neural": (
        ("(NONE, 128, 512)", "(NONE, 6, 16)"),
        ("num_heads=8, ff_dim=2048", "num_heads=2, ff_dim=32"),
        ("* 6", "* 2"),
        ("Adam(learning_rate=0.0001)", "SGD(learning_rate=0.1)"),
    ),
    "compat/sentiment.neural": (
        ("(100,)", "(7,)"),
        ("10000, output_dim=300", "50, output_dim=8"),
        ("units=128", "units=6"),
        ("units=64", "units=5"),
    ),
    "transformer_seq2seq.neural": (
        ("(32,)", "(7,)"),
        ("Embedding(8000, 512)", "Embedding(50, 16)"),
        ("(8, 2048)", "(2, 32)"),
        ("Dense(8000)", "Dense(50)"),
        ("* 6", "* 2"),
        ("optimizer: Adam(learning_rate=CosineDecay(5e-4, decay_steps=20000, warmup_steps=1000))", SGD),
    ),
    "bert_base.neural": (
        ("(128,)", "(9,)"),
        ("Embedding(30522, 768)", "Embedding(40, 16)"),
        ("Embedding(2, 768)", "Embedding(2, 16)"),
        ("TransformerEncoder(12, 3072,", "TransformerEncoder(4, 32,"),
        ("* 12", "* 2"),
        ("Cropping1D((0, 127))", "Cropping1D((0, 8))"),
        ('Dense(768, "tanh")', f'Dense(16, "tanh")\n  loss: "mse"\n  {SGD}'),
    ),
}
SLOW_EXAMPLES = {
    "resnet18.neural",
    "resnet50.neural",
    "vgg16.neural",
    "mobilenet_v2.neural",
    "unet.neural",
    "inception.neural",
}
SLOW_EXAMPLES |= {"transformer_seq2seq.neural", "bert_base.neural", "compat/transformer.neural"}
FILES = sorted(p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.rglob("*.neural"))


def example_text(name: str) -> str:
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    for old, new in SCALED.get(name, ()):
        assert old in text, f"{name}: {old!r} is not in the file"
        text = text.replace(old, new)
    return text


def example_networks(name: str) -> list[ShapedNetwork]:
    return [analyse(net) for net in loads(example_text(name), str(EXAMPLES / name)).networks]


def test_scaled_examples_exist() -> None:
    assert set(SCALED) <= set(FILES)


@pytest.mark.parametrize(
    ("backend", "name"),
    [
        pytest.param(b, n, id=f"{b}-{n}", marks=[pytest.mark.slow] if b in SLOW_BACKENDS or n in SLOW_EXAMPLES else [])
        for b in BACKENDS
        for n in FILES
    ],
)
def test_example(backend: str, name: str) -> None:
    needs(backend)
    for shaped in example_networks(name):
        findings = check(backend, shaped)
        assert findings.ok, "\n".join(findings.problems)


# --- inputs random ones do not reach -----------------------------------------------------------------------------


def agree_on(backend: str, shaped: ShapedNetwork, inputs: dict[str, np.ndarray]) -> tuple[dict, dict, dict]:
    """Outputs (and, on a trainable backend, one training-mode step) on the given inputs, as the NumPy runtime."""
    reference = NumpyReference(shaped, seed=0)
    weights = reference.initial_weights()
    expected = reference.forward(weights, inputs)
    adapter = adapter_for(backend, shaped)
    got = adapter.forward(weights, inputs)
    for ours, theirs in zip(got, expected):
        assert np.isfinite(ours).all()
        np.testing.assert_allclose(ours, theirs, rtol=TOLERANCE, atol=1e-5)
    if backend not in TRAINABLE:
        return weights, {}, {}
    targets = random_targets(shaped, expected[0], np.random.default_rng(2))
    stepped = adapter.train_step(weights, inputs, targets, True)
    expected_step = reference.train_step(weights, inputs, targets, True)
    for name, value in expected_step.items():
        assert np.isfinite(stepped[name]).all(), name
        np.testing.assert_allclose(stepped[name], value, rtol=TOLERANCE, atol=1e-6, err_msg=name)
    return weights, stepped, expected_step


MASKED = [
    "MultiHeadAttention(2, key_padding_mask=true)(a, b, c)",
    "MultiHeadAttention(2, key_padding_mask=true, causal=true)(a, b, c)",
    "TransformerEncoder(2, 16, 0.0, key_padding_mask=true)(a, c)",
    "TransformerDecoder(2, 16, 0.0, memory_key_padding_mask=true)(a, b, c)",
]


def with_training(layers: str, *shapes: tuple[int, ...]) -> ShapedNetwork:
    text = (
        network_source(layers, *shapes).rstrip().rstrip("}") + '  loss: "mse"\n  optimizer: SGD(learning_rate=0.1)\n}\n'
    )
    return analyse(loads(text).network())


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "numpy"])
def test_fully_padded_rows_match_numpy(backend: str) -> None:
    """Batch item 0 is all padding; item 1 pads its first key, so a causal query 0 sees no key either: zero
    attention weights, finite outputs and gradients, as the NumPy kernel."""
    needs(backend)
    names = [f"m{i}" for i in range(len(MASKED))]
    layers = "\n".join(f"{n} = {m}" for n, m in zip(names, MASKED)) + f"\nConcatenate()({', '.join(names)})"
    rng = np.random.default_rng(1)
    inputs = {
        "a": rng.standard_normal((2, 5, 8)).astype(np.float32),
        "b": rng.standard_normal((2, 5, 8)).astype(np.float32),
        "c": np.array([[0, 0, 0, 0, 0], [0, 1, 1, 0, 1]], dtype=np.float32),
    }
    agree_on(backend, with_training(layers, (5, 8), (5, 8), (5,)), inputs)


@pytest.mark.parametrize("backend", TRAINABLE)
@pytest.mark.parametrize(
    "layer",
    ["BatchNormalization(momentum=0.7)", "InstanceNormalization(track_running_stats=true, affine=true, momentum=0.6)"],
)
def test_running_statistics_after_a_training_step(backend: str, layer: str) -> None:
    """A training-mode step updates the running mean and variance (the unbiased batch variance, as PyTorch)
    exactly as the NumPy runtime does; inputs away from zero, so that the statistics move."""
    needs(backend)
    shaped = with_training(f"{layer}\nFlatten()\nDense(2)", (4, 4, 3))
    inputs = {name: value + 1.5 for name, value in random_inputs(shaped, 3, np.random.default_rng(1)).items()}
    weights, stepped, expected = agree_on(backend, shaped, inputs)
    name = shaped.layers[0].node.name
    for buffer in ("running_mean", "running_var"):
        key = f"{name}.{buffer}"
        assert not np.allclose(expected[key], weights[key])
        np.testing.assert_allclose(stepped[key], expected[key], rtol=1e-5, atol=1e-6)
