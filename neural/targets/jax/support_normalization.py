"""Support definitions of the normalization layers, copied into generated modules that use them.

nnx.BatchNorm updates its running variance with the biased batch variance; PyTorch (and so the
language) uses the unbiased one, hence `BatchNorm` here. `InstanceNorm` is instance normalization
with PyTorch's running statistics (track_running_stats), which nnx.InstanceNorm does not keep. Both
use the attribute names of nnx.BatchNorm (`scale`, `bias`: nnx.Param; `mean`, `var`: nnx.BatchStat)
and follow model.train() / model.eval() through `use_running_average`.
"""

from __future__ import annotations

from neural.targets.jax.support import helper

helper(
    "BatchNorm",
    '''
class BatchNorm(nnx.Module):
    """Batch normalization over every axis but `axis` (the channels), as PyTorch computes it.

    Training (model.train()): normalizes with the batch mean and biased variance and updates the running
    statistics with the unbiased variance: running = momentum * running + (1 - momentum) * batch (Keras'
    convention for `momentum`; PyTorch's is 1 - momentum). Evaluation (model.eval()): running statistics.
    """

    def __init__(
        self,
        num_features: int,
        *,
        axis: int = -1,
        momentum: float = 0.9,
        epsilon: float = 1e-5,
        use_scale: bool = True,
        use_bias: bool = True,
    ) -> None:
        self.axis, self.momentum, self.epsilon = axis, momentum, epsilon
        self.scale = nnx.Param(jnp.ones((num_features,))) if use_scale else None
        self.bias = nnx.Param(jnp.zeros((num_features,))) if use_bias else None
        self.mean = nnx.BatchStat(jnp.zeros((num_features,)))
        self.var = nnx.BatchStat(jnp.ones((num_features,)))
        self.use_running_average = False

    def __call__(self, x: jax.Array) -> jax.Array:
        axis = self.axis % x.ndim
        shape = [1] * x.ndim
        shape[axis] = -1
        if self.use_running_average:
            mean, var = self.mean[...], self.var[...]
        else:
            reduced = tuple(a for a in range(x.ndim) if a != axis)
            mean = x.mean(axis=reduced)
            var = jnp.square(x - mean.reshape(shape)).mean(axis=reduced)
            count = x.size // x.shape[axis]
            unbiased = var * (count / max(count - 1, 1))
            self.mean[...] = self.momentum * self.mean[...] + (1 - self.momentum) * lax.stop_gradient(mean)
            self.var[...] = self.momentum * self.var[...] + (1 - self.momentum) * lax.stop_gradient(unbiased)
        y = (x - mean.reshape(shape)) * lax.rsqrt(var.reshape(shape) + self.epsilon)
        if self.scale is not None:
            y = y * self.scale[...].reshape(shape)
        if self.bias is not None:
            y = y + self.bias[...].reshape(shape)
        return y
''',
)

helper(
    "InstanceNorm",
    '''
class InstanceNorm(nnx.Module):
    """Instance normalization (statistics per sample and channel over the other axes) with PyTorch's running
    statistics (track_running_stats): training normalizes with the instance statistics and moves the running
    ones towards their batch average (unbiased variance); evaluation uses the running statistics.
    """

    def __init__(
        self,
        num_features: int,
        *,
        axis: int = -1,
        momentum: float = 0.9,
        epsilon: float = 1e-5,
        use_scale: bool = False,
        use_bias: bool = False,
    ) -> None:
        self.axis, self.momentum, self.epsilon = axis, momentum, epsilon
        self.scale = nnx.Param(jnp.ones((num_features,))) if use_scale else None
        self.bias = nnx.Param(jnp.zeros((num_features,))) if use_bias else None
        self.mean = nnx.BatchStat(jnp.zeros((num_features,)))
        self.var = nnx.BatchStat(jnp.ones((num_features,)))
        self.use_running_average = False

    def __call__(self, x: jax.Array) -> jax.Array:
        axis = self.axis % x.ndim
        shape = [1] * x.ndim
        shape[axis] = -1
        if self.use_running_average:
            mean, var = self.mean[...].reshape(shape), self.var[...].reshape(shape)
        else:
            reduced = tuple(a for a in range(1, x.ndim) if a != axis)
            mean = x.mean(axis=reduced, keepdims=True)
            var = jnp.square(x - mean).mean(axis=reduced, keepdims=True)
            count = math.prod(x.shape[a] for a in reduced)
            unbiased = var * (count / max(count - 1, 1))
            batch_mean = jnp.moveaxis(mean, axis, -1).reshape(-1, mean.shape[axis]).mean(axis=0)
            batch_var = jnp.moveaxis(unbiased, axis, -1).reshape(-1, mean.shape[axis]).mean(axis=0)
            self.mean[...] = self.momentum * self.mean[...] + (1 - self.momentum) * lax.stop_gradient(batch_mean)
            self.var[...] = self.momentum * self.var[...] + (1 - self.momentum) * lax.stop_gradient(batch_var)
        y = (x - mean) * lax.rsqrt(var + self.epsilon)
        if self.scale is not None:
            y = y * self.scale[...].reshape(shape)
        if self.bias is not None:
            y = y + self.bias[...].reshape(shape)
        return y
''',
)

helper(
    "instance_norm",
    '''
def instance_norm(x: jax.Array, epsilon: float, axis: int = -1) -> jax.Array:
    """Instance normalization without learned parts: per sample and channel (`axis`) over the other axes."""
    reduced = tuple(a for a in range(1, x.ndim) if a != axis % x.ndim)
    mean = x.mean(axis=reduced, keepdims=True)
    var = jnp.square(x - mean).mean(axis=reduced, keepdims=True)
    return (x - mean) * lax.rsqrt(var + epsilon)
''',
)
