"""Kernels of the regularization layers; all are the identity outside training."""

from __future__ import annotations

import math

import numpy as np

from neural.runtime import ops
from neural.runtime.activations import SELU_ALPHA, SELU_SCALE
from neural.runtime.kernels import Call, kernel
from neural.runtime.tensor import Tensor


def _mask(call: Call, shape: tuple[int, ...], keep: float) -> np.ndarray:
    return (call.rng.random(shape) < keep).astype(call.x.dtype)


@kernel("Dropout")
def dropout(call: Call) -> Tensor:
    """Inverted dropout: zero each element with probability `rate`, scale the rest by 1/(1-rate)."""
    rate = call.config.rate
    if not call.training or rate == 0:
        return call.x
    keep = 1.0 - rate
    return ops.mul(call.x, Tensor(_mask(call, call.x.shape, keep) / keep))


@kernel("SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D")
def spatial_dropout(call: Call) -> Tensor:
    """Drops whole channels (one mask value per sample and channel)."""
    rate = call.config.rate
    if not call.training or rate == 0:
        return call.x
    x = call.x
    shape = [x.shape[0]] + [1] * (x.ndim - 1)
    shape[-1 if call.ctx.channels_last else 1] = x.shape[-1 if call.ctx.channels_last else 1]
    keep = 1.0 - rate
    return ops.mul(x, Tensor(_mask(call, tuple(shape), keep) / keep))


@kernel("GaussianNoise")
def gaussian_noise(call: Call) -> Tensor:
    if not call.training or call.config.stddev == 0:
        return call.x
    noise = call.rng.normal(0.0, call.config.stddev, size=call.x.shape).astype(call.x.dtype)
    return ops.add(call.x, Tensor(noise))


@kernel("GaussianDropout")
def gaussian_dropout(call: Call) -> Tensor:
    rate = call.config.rate
    if not call.training or rate == 0:
        return call.x
    std = math.sqrt(rate / (1.0 - rate))
    noise = call.rng.normal(1.0, std, size=call.x.shape).astype(call.x.dtype)
    return ops.mul(call.x, Tensor(noise))


@kernel("AlphaDropout")
def alpha_dropout(call: Call) -> Tensor:
    """Dropout that keeps SELU's mean and variance (as torch.nn.AlphaDropout)."""
    rate = call.config.rate
    if not call.training or rate == 0:
        return call.x
    alpha = -SELU_SCALE * SELU_ALPHA
    keep = 1.0 - rate
    a = (keep * (1 + rate * alpha**2)) ** -0.5
    b = -a * alpha * rate
    mask = _mask(call, call.x.shape, keep)
    dropped = Tensor((alpha * (1 - mask)).astype(call.x.dtype))
    return ops.add(ops.mul(ops.add(ops.mul(call.x, Tensor(mask)), dropped), a), b)
