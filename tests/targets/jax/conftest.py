"""JAX target tests need jax, flax and optax; helpers are importable as `jax_helpers`."""

import sys
from pathlib import Path

import pytest

pytest.importorskip("jax", reason="the JAX target tests need jax (installed by `make test`)")
pytest.importorskip("flax.nnx", reason="the JAX target tests need flax with NNX (installed by `make test`)")
pytest.importorskip("optax", reason="the JAX target tests need optax (installed by `make test`)")
sys.path.insert(0, str(Path(__file__).resolve().parent))
