"""JAX target tests need jax, flax and optax; helpers are importable as `jax_helpers`."""

import os
import sys
from pathlib import Path

import pytest

# Compiling dominates these tests on a CPU, and most of a compile is LLVM optimizing the generated kernels
# (about half of it for deep graphs): the tests run tiny arrays, so they ask XLA for unoptimized machine code
# (the same arithmetic: XLA's CPU backend keeps IEEE float semantics at every level). Effective only if no
# JAX computation ran in this process before (the flags are read when the CPU backend starts).
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()

jax = pytest.importorskip("jax", reason="the JAX target tests need jax (installed by `make test`)")
pytest.importorskip("flax.nnx", reason="the JAX target tests need flax with NNX (installed by `make test`)")
pytest.importorskip("optax", reason="the JAX target tests need optax (installed by `make test`)")
sys.path.insert(0, str(Path(__file__).resolve().parent))

# Random draws (dropout masks) compile about 3 times faster on a CPU with the classic threefry lowering than
# with the partitionable one (JAX's default): the tests compare random layers in evaluation mode and only
# check that training draws masks, so which stream the masks come from does not matter here.
jax.config.update("jax_threefry_partitionable", False)
