"""Canonical weights (PyTorch names and layouts, Neural's checkpoint format) to and from an NNX model's
state, for every layer kind the JAX target generates.

Every generated module carries its weight table, `WEIGHTS`: canonical name -> (path in `nnx.state(model)`,
layout transform, canonical shape). The table comes from the same emitters that wrote the model (each
emitter says where every canonical weight of its layer lives), so the two cannot drift apart;
`weight_table(shaped)` computes it without importing any framework. The conversion functions below the
marker line are copied into every generated module, so a generated script reads and writes checkpoints
that every other backend loads.

Layout transforms (canonical -> state; the reverse is the inverse):
- "same": the array as it is (reshaped to the variable's shape: PReLU's (1,) slope is nnx.PReLU's
  scalar, a multi-axis LayerNorm's (4, 4, 3) weight is nnx.LayerNorm's flat (48,) scale);
- "linear": (out, in, 1, ...) -> (in, out): dense kernels, recurrent ih/hh kernels, 1x1-convolution
  weights that became dense layers (squeeze-and-excitation);
- "conv": (out, in / groups, *kernel) -> (*kernel, in / groups, out): flax's HWIO convolution kernels
  (transposed convolutions with transpose_kernel=True and ConvLSTM2D kernels use the same transform).
Batch-norm statistics (`running_mean`, `running_var`) are the nnx.BatchStat variables `mean` / `var`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax.numpy as jnp
import numpy as np
from flax import nnx

from neural.shapes.engine import ShapedNetwork

WEIGHTS: dict[str, tuple[tuple[str | int, ...], str, tuple[int, ...]]] = {}


def weight_table(shaped: ShapedNetwork) -> dict[str, tuple[tuple[str | int, ...], str, tuple[int, ...]]]:
    """The weight table of the network's generated model: canonical name -> (state path, layout, canonical shape)."""
    from neural.targets.jax.codegen import model_code

    return model_code(shaped).weights


# ---- generated modules include everything below this line ----


def to_state_layout(value: np.ndarray, layout: str, shape: tuple[int, ...]) -> np.ndarray:
    """A canonical array (PyTorch layout) as the NNX variable of shape `shape` holds it."""
    value = np.asarray(value)
    if layout == "linear":
        value = value.reshape(value.shape[0], -1).T
    elif layout == "conv":
        value = np.transpose(value, (*range(2, value.ndim), 1, 0))
    return np.ascontiguousarray(value).reshape(shape)


def to_canonical_layout(value: np.ndarray, layout: str, shape: tuple[int, ...]) -> np.ndarray:
    """An NNX variable's value in the canonical layout of shape `shape`."""
    value = np.asarray(value)
    if layout == "linear":
        return np.ascontiguousarray(value.reshape(-1, shape[0]).T).reshape(shape)
    if layout == "conv":
        kernel_rank = len(shape) - 2
        state_shape = (*shape[2:], shape[1], shape[0])
        order = np.argsort((*range(2, 2 + kernel_rank), 1, 0))
        return np.ascontiguousarray(np.transpose(value.reshape(state_shape), order))
    return np.ascontiguousarray(value).reshape(shape)


def _variables(model: nnx.Module) -> dict[tuple[Any, ...], Any]:
    return dict(nnx.to_flat_state(nnx.state(model)))


def canonical_weights(model: nnx.Module, table: Mapping[str, Any] | None = None) -> dict[str, np.ndarray]:
    """The model's weights under canonical names, in PyTorch layouts (batch-norm statistics included)."""
    table = WEIGHTS if table is None else table
    variables = _variables(model)
    found = {}
    for name, (path, layout, shape) in table.items():
        found[name] = to_canonical_layout(np.asarray(variables[tuple(path)][...]), layout, tuple(shape))
    return found


def load_canonical(
    model: nnx.Module, weights: Mapping[str, np.ndarray], table: Mapping[str, Any] | None = None
) -> None:
    """Load canonical weights (every name of the table, PyTorch layouts) into the model's state."""
    table = WEIGHTS if table is None else table
    missing = sorted(set(table) - set(weights))
    unexpected = sorted(set(weights) - set(table))
    if missing or unexpected:
        raise ValueError(f"weights do not match the model: missing {missing[:5]}, unexpected {unexpected[:5]}")
    variables = _variables(model)
    updates = []
    for name, (path, layout, shape) in table.items():
        value = np.asarray(weights[name])
        if value.shape != tuple(shape):
            raise ValueError(f"{name}: shape {value.shape} where the model has {tuple(shape)}")
        current = variables[tuple(path)][...]
        converted = to_state_layout(value, layout, tuple(current.shape))
        updates.append((tuple(path), jnp.asarray(converted, dtype=current.dtype)))
    nnx.update(model, nnx.from_flat_state(updates))
