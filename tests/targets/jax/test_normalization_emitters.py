"""JAX emitters of the normalization layers: exact against the NumPy runtime, many cases per network.

`compare` checks the outputs in evaluation mode and every canonical weight after one training step, so
batch and instance norm's running statistics (nnx.BatchStat) are checked after a training-mode update.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax_helpers import Group, check_group, check_layer, groups, snippet_network

from neural.targets.jax.codegen import generate
from neural.targets.jax.load import import_network

CHANNELS_LAST = [
    ("BatchNormalization()", [(8,)]),
    ("GroupNormalization(4)", [(8,)]),
    ("LayerNormalization()", [(8,)]),
    ("BatchNormalization(momentum=0.5, epsilon=0.01)", [(6, 4)]),
    ("GroupNormalization(2)", [(6, 4)]),
    ("InstanceNormalization(affine=true, epsilon=0.001)", [(6, 4)]),
    ("BatchNormalization()", [(4, 4, 3)]),
    ("BatchNormalization(momentum=0.99, eps=0.001)", [(4, 4, 3)]),
    ("BatchNormalization(scale=false)", [(4, 4, 3)]),
    ("BatchNormalization(center=false)", [(4, 4, 3)]),
    ("BatchNormalization(affine=false)", [(4, 4, 3)]),
    ("BatchNormalization(axis=1)", [(4, 4, 3)]),
    ("BatchNormalization(axis=-1, center=false)", [(4, 4, 3)]),
    ("LayerNormalization()", [(4, 4, 3)]),
    ("LayerNormalization(axis=(-2, -1), epsilon=0.001)", [(4, 4, 3)]),
    ("LayerNormalization((4, 4, 3), center=false)", [(4, 4, 3)]),
    ("LayerNormalization(scale=false)", [(4, 4, 3)]),
    ("LayerNormalization(elementwise_affine=false)", [(4, 4, 3)]),
    ("InstanceNormalization()", [(4, 4, 3)]),
    ("InstanceNormalization(scale=true)", [(4, 4, 3)]),
    ("InstanceNormalization(center=true)", [(4, 4, 3)]),
    ("InstanceNormalization(track_running_stats=true, momentum=0.7)", [(4, 4, 3)]),
    ("InstanceNormalization(axis=0, affine=true, track_running_stats=true)", [(4, 4, 3)]),
    ("InstanceNormalization(axis=1, affine=true)", [(4, 4, 3)]),
    ("GroupNormalization(3)", [(4, 4, 6)]),
    ("GroupNormalization(3, center=false, epsilon=0.001)", [(4, 4, 6)]),
    ("GroupNormalization(1, scale=false)", [(4, 4, 6)]),
    ("GroupNormalization(6, affine=false)", [(4, 4, 6)]),
    ("GroupNormalization(2, axis=1)", [(4, 6, 4)]),
    ("BatchNormalization(2)", [(3, 4, 4, 2)]),
    ("InstanceNormalization(affine=true)", [(3, 4, 4, 2)]),
    ("GroupNormalization(2)", [(3, 4, 4, 2)]),
    ("BatchNormalization()", [(2, 3, 2, 3, 2)]),
    ("BatchNormalization(axis=1)", [(2, 3, 2, 3, 2)]),
    ("InstanceNormalization(affine=true, track_running_stats=true)", [(2, 3, 2, 3, 2)]),
    ("BatchNormalization()", [(None, None, 4)]),
    ("LayerNormalization()", [(None, None, 4)]),
    ("GroupNormalization(2)", [(None, None, 4)]),
    ("InstanceNormalization(affine=true)", [(None, None, 4)]),
]

CHANNELS_FIRST = [
    ("BatchNormalization()", [(3, 4, 4)]),
    ("BatchNormalization(axis=-1, scale=false)", [(3, 4, 4)]),
    ("LayerNormalization(scale=false)", [(3, 4, 4)]),
    ("InstanceNormalization(affine=true)", [(3, 4, 4)]),
    ("InstanceNormalization(track_running_stats=true)", [(3, 4, 4)]),
    ("InstanceNormalization()", [(3, 4, 4)]),
    ("GroupNormalization(3)", [(6, 4, 4)]),
    ("GroupNormalization(3, scale=false)", [(6, 4, 4)]),
    ("BatchNormalization()", [(3, 6)]),
]

GROUPS = groups(CHANNELS_LAST) + groups(CHANNELS_FIRST, "channels_first")


@pytest.mark.parametrize("group", GROUPS, ids=[g.id for g in GROUPS])
def test_normalization_emitters_match_numpy_runtime(group: Group) -> None:
    check_group(group)


def test_a_chain_of_norms_matches_numpy_runtime() -> None:
    """Norms on a channels-last flow, then a layer norm; the same channels-first."""
    layers = "BatchNormalization()\nGroupNormalization(2)\nInstanceNormalization(affine=true)\nLayerNormalization()\nFlatten()\nDense(2)"
    check_layer(layers, (4, 4, 4))
    check_layer(layers, (4, 4, 4), layout="channels_first")


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
