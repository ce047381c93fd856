"""Gradient clipping against torch.nn.utils.clip_grad_norm_ and clip_grad_value_."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from neural.runtime.tensor import Tensor
from neural.training.clipping import clip_grad_norm, clip_grad_value, global_norm

SHAPES = [(3, 4), (4,), (2, 2, 2)]


def grads(dtype: Any, scale: float = 1.0) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [(rng.standard_normal(s) * scale).astype(dtype) for s in SHAPES]


def tensors(values: list[np.ndarray]) -> list[Tensor]:
    found = []
    for g in values:
        t = Tensor(np.zeros_like(g), requires_grad=True)
        t.grad = g.copy()
        found.append(t)
    return found


def torch_tensors(torch: Any, values: list[np.ndarray]) -> list[Any]:
    found = []
    for g in values:
        t = torch.zeros(g.shape, dtype=torch.float64 if g.dtype == np.float64 else torch.float32, requires_grad=True)
        t.grad = torch.tensor(g.copy())
        found.append(t)
    return found


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("max_norm", "norm_type"), [(1.0, 2.0), (100.0, 2.0), (0.5, float("inf"))])
def test_clip_by_global_norm_matches_torch(torch: Any, dtype: Any, max_norm: float, norm_type: float) -> None:
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    values = grads(dtype, scale=3.0)
    ours, theirs = tensors(values), torch_tensors(torch, values)
    total = clip_grad_norm(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert total == pytest.approx(float(expected), rel=rtol)
    for mine, reference in zip(ours, theirs):
        assert mine.grad is not None and mine.grad.dtype == dtype
        np.testing.assert_allclose(mine.grad, reference.grad.numpy(), rtol=rtol, atol=rtol * 1e-2)


def test_clipped_norm_is_max_norm() -> None:
    params = tensors(grads(np.float64, scale=10.0))
    before = clip_grad_norm(params, 2.0)
    assert before > 2.0 and global_norm(params) == pytest.approx(2.0, rel=1e-6)


def test_parameters_without_gradients_are_ignored() -> None:
    params = tensors(grads(np.float64))
    params[1].grad = None
    assert clip_grad_norm(params, 0.1) > 0.1 and params[1].grad is None
    assert global_norm([Tensor(np.zeros(2), requires_grad=True)]) == 0.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_by_value_matches_torch(torch: Any, dtype: Any) -> None:
    values = grads(dtype, scale=2.0)
    ours, theirs = tensors(values), torch_tensors(torch, values)
    clip_grad_value(ours, 0.5)
    torch.nn.utils.clip_grad_value_(theirs, 0.5)
    for mine, reference in zip(ours, theirs):
        assert mine.grad is not None and mine.grad.dtype == dtype
        np.testing.assert_array_equal(mine.grad, reference.grad.numpy())


def test_non_finite_norm_spreads_like_torch() -> None:
    params = tensors(grads(np.float64))
    assert params[0].grad is not None
    params[0].grad[0, 0] = np.nan
    assert np.isnan(clip_grad_norm(params, 1.0))
    assert params[1].grad is not None and np.all(np.isnan(params[1].grad))
