"""Gradient clipping, in place on each parameter's `.grad` (the train block's clip_norm / clip_value).

`clip_grad_norm` has torch.nn.utils.clip_grad_norm_'s semantics: the norm is taken over all
gradients together (the norm of the per-parameter norms), every gradient is scaled by
min(1, max_norm / (total_norm + 1e-6)), and the norm before clipping is returned. A non-finite norm
is returned as it is and spreads into the gradients (torch's default, error_if_nonfinite=False),
so the training loop's NaN check sees it. `clip_grad_value` clamps each element to
[-clip_value, clip_value] (torch.nn.utils.clip_grad_value_).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from neural.runtime.tensor import Tensor


def global_norm(params: Iterable[Tensor], norm_type: float = 2.0) -> float:
    """The `norm_type` norm (2 or inf) of all gradients taken as one vector; 0 when there are none."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return 0.0
    if math.isinf(norm_type):
        return float(max(np.max(np.abs(g)) if g.size else 0.0 for g in grads))
    norms = np.array([np.linalg.norm(g.ravel(), ord=norm_type) for g in grads])
    return float(np.linalg.norm(norms, ord=norm_type))


def clip_grad_norm(params: Iterable[Tensor], max_norm: float, norm_type: float = 2.0) -> float:
    """Scale all gradients so their global norm is at most about `max_norm`; returns the norm before."""
    params = list(params)
    total = global_norm(params, norm_type)
    coefficient = min(float(max_norm) / (total + 1e-6), 1.0)
    if coefficient < 1.0 or not math.isfinite(total):
        for p in params:
            if p.grad is not None:
                p.grad = p.grad * p.grad.dtype.type(coefficient)
    return total


def clip_grad_value(params: Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element to [-clip_value, clip_value]."""
    limit = float(clip_value)
    for p in params:
        if p.grad is not None:
            p.grad = np.clip(p.grad, -limit, limit).astype(p.grad.dtype, copy=False)
