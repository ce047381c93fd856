"""Finite-difference gradient checks and comparison helpers for the NumPy runtime."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from neural.runtime.model import Model
from neural.runtime.tensor import Tensor


def max_relative_error(ours: np.ndarray, reference: np.ndarray) -> float:
    """max |ours - reference| / max(max |reference|, tiny): one number per tensor."""
    ours = np.asarray(ours, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if ours.shape != reference.shape:
        raise AssertionError(f"shapes differ: {ours.shape} vs {reference.shape}")
    scale = max(float(np.max(np.abs(reference))) if reference.size else 0.0, 1e-12)
    return float(np.max(np.abs(ours - reference))) / scale if ours.size else 0.0


def assert_close(ours: np.ndarray, reference: np.ndarray, rtol: float, what: str = "value") -> None:
    err = max_relative_error(ours, reference)
    if not err <= rtol:
        raise AssertionError(f"{what}: relative error {err:.3g} above {rtol:g}")


@dataclass
class Pass:
    """Outputs and gradients of one forward/backward pass of `sum(output_i * upstream_i)`."""

    outputs: list[np.ndarray]
    input_grads: dict[str, np.ndarray]
    param_grads: dict[str, np.ndarray]


def run_pass(
    model: Model,
    inputs: Mapping[str, np.ndarray],
    upstream: Sequence[np.ndarray],
    *,
    training: bool = False,
    seed: int | None = None,
) -> Pass:
    """Forward with gradient-tracking inputs (float inputs only), then backward from `upstream`."""
    if seed is not None:
        model.rng = np.random.default_rng(seed)
    tensors = {
        name: Tensor(value, requires_grad=np.issubdtype(value.dtype, np.floating)) for name, value in inputs.items()
    }
    model.zero_grad()
    result = model(tensors, training=training)
    outputs = list(result) if isinstance(result, tuple) else [result]
    total: Tensor | None = None
    for out, up in zip(outputs, upstream):
        term = (out * Tensor(up.astype(out.dtype))).sum()
        total = term if total is None else total + term
    assert total is not None
    total.backward()
    return Pass(
        outputs=[o.data.copy() for o in outputs],
        input_grads={
            n: t.grad if t.grad is not None else np.zeros_like(t.data) for n, t in tensors.items() if t.requires_grad
        },
        param_grads={n: p.grad if p.grad is not None else np.zeros_like(p.data) for n, p in model.params.items()},
    )


def numerical_gradient(
    f: Callable[[], float], array: np.ndarray, eps: float, limit: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Central differences of `f` at (at most `limit` random) elements of `array` (modified in place and restored).

    Returns (flat indices, gradient values).
    """
    flat = array.reshape(-1)
    indices = np.arange(flat.size) if flat.size <= limit else rng.choice(flat.size, size=limit, replace=False)
    values = np.empty(len(indices))
    for k, i in enumerate(indices):
        original = flat[i]
        flat[i] = original + eps
        plus = f()
        flat[i] = original - eps
        minus = f()
        flat[i] = original
        values[k] = (plus - minus) / (2 * eps)
    return indices, values


def gradient_check(
    model: Model,
    inputs: Mapping[str, np.ndarray],
    *,
    training: bool = False,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    limit: int = 40,
    seed: int = 0,
) -> None:
    """Compare analytic gradients of inputs and parameters with finite differences (use float64).

    With `training=True` the model's random generator is reseeded before every evaluation so that
    dropout masks stay the same.
    """
    rng = np.random.default_rng(seed)
    probe = model(dict(inputs), training=training)
    outputs = list(probe) if isinstance(probe, tuple) else [probe]
    upstream = [rng.standard_normal(o.shape) for o in outputs]
    analytic = run_pass(model, inputs, upstream, training=training, seed=seed)

    def loss() -> float:
        model.rng = np.random.default_rng(seed)
        result = model(dict(inputs), training=training)
        outs = list(result) if isinstance(result, tuple) else [result]
        return float(sum(np.sum(o.data * u) for o, u in zip(outs, upstream)))

    targets = [(f"input {n}", inputs[n], analytic.input_grads[n]) for n in analytic.input_grads]
    targets += [(f"parameter {n}", p.data, analytic.param_grads[n]) for n, p in model.params.items()]
    for what, array, grad in targets:
        idx, numeric = numerical_gradient(loss, array, eps, limit, rng)
        assert_close(grad.reshape(-1)[idx], numeric, rtol, f"gradient of {what}")
