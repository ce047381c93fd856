"""The example networks through the JAX target at their real size: the generated model has exactly the DSL's
parameter and state counts (and the published ones) and the predicted output shapes, checked abstractly
(nnx.eval_shape: nothing is compiled). Scaled-down copies against the NumPy runtime: the conformance suite."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import pytest
from flax import nnx
from jax_helpers import count

from neural.api import analyse, loads
from neural.shapes.engine import ShapedNetwork
from neural.targets.jax.load import import_network

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
FILES = sorted(p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.rglob("*.neural"))
PUBLISHED = {"vgg16": 138_357_544, "resnet18": 11_689_512, "mobilenet_v2": 3_504_872, "bert_base": 109_482_240}


def example(name: str) -> ShapedNetwork:
    return analyse(loads((EXAMPLES / name).read_text(), str(EXAMPLES / name)).network())


@pytest.mark.parametrize("name", FILES)
def test_full_size_example_has_exact_counts_and_shapes(name: str) -> None:
    shaped = example(name)
    module = import_network(shaped)
    model = nnx.eval_shape(module.build_model)
    assert count(model, nnx.Param) == shaped.params
    assert count(model, nnx.BatchStat) == shaped.state
    if Path(name).stem in PUBLISHED:
        assert shaped.params == PUBLISHED[Path(name).stem]
    model.eval()
    inputs = [
        jax.ShapeDtypeStruct((1, *(d or 7 for d in spec.shape)), jnp.int32 if spec.dtype == "int64" else jnp.float32)
        for spec in shaped.network.inputs
    ]
    out = nnx.eval_shape(lambda m, *xs: m(*xs), model, *inputs)
    outputs = out if isinstance(out, tuple) else (out,)
    assert [tuple(o.shape[1:]) for o in outputs] == [tuple(d or 7 for d in s) for s in shaped.output_shapes]
    assert set(module.WEIGHTS) == {f"{layer.node.name}.{w}" for layer in shaped.layers for w in layer.weights}
