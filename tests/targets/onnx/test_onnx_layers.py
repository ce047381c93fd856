"""Every layer kind the PyTorch backend generates, exported to ONNX one small network at a time.

Cases come from the shared catalog (tests/catalog, see onnx_catalog.py): two per kind by default,
all of them (about 830) with NEURAL_ONNX_ALL_CASES=1. A case either exports (checker with full shape
inference, names, dynamic batch, onnxruntime within 1e-5 of PyTorch at batch 1 and 5) or is one
the ONNX rules refuse, which must be an error positioned at that layer.
"""

from __future__ import annotations

import os

import pytest
from onnx_catalog import Case, cases, selected, uncovered_kinds
from onnx_helpers import check_export

from neural.errors import BackendError, NeuralError
from neural.layers.base import LayerContext
from neural.targets.onnx import export
from neural.targets.onnx import support as onnx_support
from neural.targets.onnx.export import export_network
from neural.testing import analyse_snippet

ALL = cases()
CASES = ALL if os.environ.get("NEURAL_ONNX_ALL_CASES") else selected(ALL, per_kind=2)


def refusals(case: Case) -> list[tuple[str, str]]:
    """(layer name, reason) of every layer of the case the ONNX rules refuse."""
    shaped = analyse_snippet(case.layers, *case.shapes, layout=case.layout)
    ctx = LayerContext(case.layout)
    found = []
    for layer in shaped.layers:
        reason = onnx_support.onnx_problem(layer.node.kind, layer.node.config, layer.input_shapes, ctx)
        if reason:
            found.append((layer.node.name, reason))
    return found


def test_every_kind_the_pytorch_backend_generates_has_a_case() -> None:
    assert not uncovered_kinds(ALL)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_layer_exports(case: Case) -> None:
    shaped = analyse_snippet(case.layers, *case.shapes, layout=case.layout)
    refused = refusals(case)
    if not refused:
        check_export(shaped)
        return
    with pytest.raises(NeuralError) as info:
        export_network(shaped)
    errors = getattr(info.value, "errors", (info.value,))
    assert len(errors) == len(refused)
    for error, (name, reason) in zip(errors, refused):
        assert isinstance(error, BackendError)
        assert f"cannot export layer `{name}`" in error.message and reason in error.message
        node = shaped.network.node(name)
        assert error.span is not None and error.span == node.span


# --- failures no rule foresees are still positioned at the layer at fault ---
MIDDLE_INSTANCE_NORM = (
    'Conv2D(3, 3, padding="same")\nInstanceNormalization(track_running_stats=true)\nReLU()\nFlatten()\nDense(2)'
)


def test_an_exporter_failure_names_the_layer_and_its_position(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export, "onnx_problem", lambda *args: None)  # as if no rule knew it
    shaped = analyse_snippet(MIDDLE_INSTANCE_NORM, (6, 6, 3))
    with pytest.raises(BackendError) as info:
        export_network(shaped)
    error = info.value
    assert error.message.startswith(
        "cannot export layer `instance_normalization_1` (InstanceNormalization) to ONNX: the exporter failed"
    )
    assert error.span is not None and (error.span.line, error.span.column) == (5, 1)
    assert any("up to the layer before" in note for note in error.notes)


def test_a_model_that_fails_at_other_sizes_than_the_traced_one_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A loop unrolled for the traced sequence length: onnxruntime fails or differs at another length."""
    monkeypatch.setattr(export, "onnx_problem", lambda *args: None)
    shaped = analyse_snippet('Dense(4)\nGRU(5, "gelu", return_sequences=true)\nDense(2)', (None, None, 3))
    with pytest.raises(BackendError) as info:
        export_network(shaped)
    error = info.value
    assert "cannot export layer `gru_1` (GRU)" in error.message and "onnxruntime" in error.message
    assert error.span is not None and error.span.line == 5


def test_the_rule_explains_the_unrolled_loop() -> None:
    shaped = analyse_snippet('Dense(4)\nGRU(5, "gelu", return_sequences=true)\nDense(2)', (None, None, 3))
    with pytest.raises(BackendError, match="give the length in the input shape"):
        export_network(shaped)
    check_export(analyse_snippet('Dense(4)\nGRU(5, "gelu", return_sequences=true)\nDense(2)', (7, 3)))
    check_export(analyse_snippet("Dense(4)\nGRU(5, return_sequences=true)\nDense(2)", (None, None, 3)))


def test_several_refused_layers_are_reported_together() -> None:
    shaped = analyse_snippet(
        "Conv1DTranspose(4, 3, strides=2, dilation_rate=3, output_padding=2)\nInstanceNormalization(track_running_stats=true)\nFlatten()",
        (6, 3),
    )
    with pytest.raises(NeuralError) as info:
        export_network(shaped)
    errors = getattr(info.value, "errors", ())
    assert [e.span.line for e in errors if e.span] == [4, 5]


def test_a_kind_the_pytorch_backend_cannot_generate_is_a_positioned_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        export, "support_status", lambda kind: (kind != "Flatten", "declared unsupported for this test")
    )
    shaped = analyse_snippet("Flatten()\nDense(2)", (2, 3))
    with pytest.raises(BackendError) as info:
        export_network(shaped)
    assert "cannot export layer `flatten_1` (Flatten)" in info.value.message
    assert "declared unsupported for this test" in info.value.message
    assert info.value.span is not None and info.value.span.line == 4


# --- defects of torch's exporter and of onnxruntime worked around in neural/targets/onnx/fixes.py ---
FIXED = [
    ("Conv2D(3, 3)\nFlatten()\nDense(2)", (5, 5, 2)),  # movedim(-1, 1): negative axis in Transpose's perm
    ("GroupNormalization(2)\nFlatten()\nDense(2)", (6, 4)),  # ... which corrupted later channel counts
    ("TimeDistributed(Conv1D(4, 3))\nTimeDistributed(Flatten())\nDense(2)", (3, 6, 2)),  # unflatten fixed the batch
    ("ZeroPadding2D(1)\nReLU()\nAdaptiveAveragePooling2D(2)\nFlatten()", (8, 8, 2)),  # sizes lost after a pad
    ("ZeroPadding2D(1)\nAdaptiveMaxPooling2D((5, 2))\nFlatten()", (8, 8, 2)),
    ("AveragePooling1D(2, padding=(0, 1), ceil_mode=true)", (8, 2)),  # stays unfused with the pad in onnxruntime
    ('Conv1D(4, 3, padding="same", dilation_rate=2)', (9, 3)),  # onnxruntime: no dilation with auto_pad
]


@pytest.mark.parametrize(("layers", "shape"), FIXED, ids=[f[0].replace("\n", " | ") for f in FIXED])
def test_exporter_defects_are_worked_around(layers: str, shape: tuple[int, ...]) -> None:
    check_export(analyse_snippet(layers, shape))


def test_a_failed_export_prints_nothing(monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    """torch's exporter leaves its debug log on and prints the whole graph when an export fails."""
    monkeypatch.setattr(export, "onnx_problem", lambda *args: None)
    for _ in range(2):
        with pytest.raises(BackendError):
            export_network(analyse_snippet(MIDDLE_INSTANCE_NORM, (6, 6, 3)))
    out, err = capfd.readouterr()
    assert "graph" not in out + err


def test_a_model_over_two_gigabytes_is_refused_before_any_work() -> None:
    shaped = analyse_snippet("Embedding(600000, 1000)", (3,))
    with pytest.raises(NeuralError, match="more than one ONNX file holds"):
        export_network(shaped)
