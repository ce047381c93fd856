"""Every example file through the TensorFlow backend at its real size: the generated model builds with exactly
the DSL's parameter count (the published one where known) and output shape (slow). (Scaled-down copies are
compared with the NumPy runtime in tests/conformance.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tf_helpers import parameter_count

from neural.api import analyse, loads
from neural.targets.tensorflow.load import import_network

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
ALL_EXAMPLES = sorted(EXAMPLES.rglob("*.neural"))
PUBLISHED = {
    "vgg16": 138_357_544,
    "resnet18": 11_689_512,
    "resnet50": 25_557_032,
    "mobilenet_v2": 3_504_872,
    "bert_base": 109_482_240,
}


@pytest.mark.slow
@pytest.mark.parametrize("path", ALL_EXAMPLES, ids=[str(p.relative_to(EXAMPLES)) for p in ALL_EXAMPLES])
def test_example_builds_with_exact_parameters_and_shape(path: Path) -> None:
    """The example at its real size: parameter count (published where known), output shapes, one forward pass."""
    shaped = analyse(loads(path.read_text()).network())
    model = import_network(shaped).build_model()
    params = parameter_count(model.trainable_variables)
    assert params == shaped.params
    if path.stem in PUBLISHED:
        assert params == PUBLISHED[path.stem]
    assert [tuple(o.shape[1:]) for o in model.outputs] == [tuple(s) for s in shaped.output_shapes]
    if shaped.params < 5_000_000:
        inputs = [
            np.zeros((1, *(d or 4 for d in spec.shape)), dtype=np.int64 if spec.dtype == "int64" else np.float32)
            for spec in shaped.network.inputs
        ]
        out = model(inputs[0] if len(inputs) == 1 else inputs, training=False)
        outputs = out if isinstance(out, (list, tuple)) else [out]
        assert np.isfinite(np.asarray(outputs[0])).all()
