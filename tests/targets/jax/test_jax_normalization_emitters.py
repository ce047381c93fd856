"""JAX emitters of the normalization layers, what the conformance suite does not check: the running variance is
the unbiased batch variance (as PyTorch's), kept as nnx.BatchStat; the generated code."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax_helpers import snippet_network

from neural.targets.jax.codegen import generate
from neural.targets.jax.load import import_network


def test_running_statistics_use_the_unbiased_batch_variance() -> None:
    module = import_network(snippet_network("BatchNormalization(momentum=0.0)", (3,), loss=None))
    model = module.build_model()
    model.train()
    x = jnp.array([[0.0, 1.0, 2.0], [2.0, 3.0, 6.0]])
    model(x)
    np.testing.assert_allclose(np.asarray(model.batch_normalization_1.var[...]), np.var(np.asarray(x), axis=0, ddof=1))
    np.testing.assert_allclose(np.asarray(model.batch_normalization_1.mean[...]), [1.0, 2.0, 4.0])
    model.eval()
    assert np.isfinite(np.asarray(model(x))).all()
    assert sum(int(np.size(v[...])) for _, v in nnx.to_flat_state(nnx.state(model, nnx.BatchStat))) == 6


def test_generated_normalization_code() -> None:
    code = generate(
        snippet_network("BatchNormalization()\nLayerNormalization(axis=(-2, -1))\nGroupNormalization(2)", (4, 4, 4))
    )
    assert "self.batch_normalization_1 = BatchNorm(4)" in code
    assert (
        "nnx.LayerNorm(16, epsilon=1e-05, reduction_axes=(-2, -1), feature_axes=(-2, -1), use_fast_variance=False"
        in code
    )
    assert "nnx.GroupNorm(4, 2, epsilon=1e-05, use_fast_variance=False, rngs=rngs)" in code
