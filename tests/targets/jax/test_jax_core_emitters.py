"""JAX emitters of core and regularization layers, what the conformance suite does not check: the padding index
of an embedding gets no gradient; random layers act only in training, with a fresh mask every call."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from catalog import CASES, case_kinds
from flax import nnx
from jax_helpers import snippet_network

from neural.layers.registry import all_specs
from neural.targets.jax.load import import_network


def test_padding_index_gets_no_gradient() -> None:
    module = import_network(snippet_network("Embedding(10, 3, padding_idx=2)\nFlatten()\nDense(1)", (4,)))
    model = module.build_model()
    ids = jnp.array([[2, 2, 1, 0]])

    def loss(model: nnx.Module) -> jnp.ndarray:
        return model(ids).sum()

    grads = nnx.grad(loss)(model)
    table = np.asarray(grads["embedding_1"]["embedding"][...])
    assert np.all(table[2] == 0) and np.any(table[1] != 0)


# the random kinds of the catalog's regularization cases, each alone at rate 0.5 (SpatialDropoutND on N-D maps)
RANDOM_KINDS = sorted(
    {kind for case in CASES if case.family == "regularization" for kind in case_kinds(case.network())}
    & {spec.kind for spec in all_specs() if spec.family == "regularization"}
)


def random_layer(kind: str) -> tuple[str, tuple[int, ...]]:
    rank = int(kind[-2]) if kind.startswith("SpatialDropout") else 1
    return f"{kind}(0.5)", (4,) * rank + (8,)


@pytest.mark.parametrize(("layer", "shape"), [random_layer(k) for k in RANDOM_KINDS], ids=RANDOM_KINDS)
def test_random_layers_act_only_in_training(layer: str, shape: tuple[int, ...]) -> None:
    module = import_network(snippet_network(layer, shape, loss=None))
    model = module.build_model(nnx.Rngs(3))
    x = jnp.ones((2, *shape))
    model.eval()
    assert np.array_equal(np.asarray(model(x)), np.asarray(x))
    model.train()
    noisy = np.asarray(model(x))
    assert not np.allclose(noisy, 1.0)
    assert not np.array_equal(noisy, np.asarray(model(x)))  # a fresh mask every call
    if layer.startswith("Spatial"):
        # one mask value per sample and channel: the spatial positions agree
        flat = noisy.reshape(2, -1, shape[-1])
        assert np.all(flat == flat[:, :1, :])
