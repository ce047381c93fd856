"""Support definitions that generated JAX modules include when their layers need them: functions and
nnx.Module classes as source text (no DSL text inside), registered with `helper` here and in the support_*
modules of the layer families (the registry: common/support.py)."""

from __future__ import annotations

from neural.targets.common.support import HelperRegistry

REGISTRY = HelperRegistry()
helper, helper_sources = REGISTRY.add, REGISTRY.helper_sources
HELPERS, REQUIRES = REGISTRY.sources, REGISTRY.requires  # by name, in definition order


helper(
    "keras_dot",
    '''
def keras_dot(a: jax.Array, b: jax.Array, axes: int | tuple[int, int], normalize: bool) -> jax.Array:
    """keras.layers.Dot: contract one axis of each input (axes count the batch axis as 0)."""
    axis_a, axis_b = (axes, axes) if isinstance(axes, int) else axes
    axis_a, axis_b = axis_a % a.ndim, axis_b % b.ndim
    if normalize:
        a = a / jnp.maximum(jnp.linalg.norm(a, axis=axis_a, keepdims=True), 1e-12)
        b = b / jnp.maximum(jnp.linalg.norm(b, axis=axis_b, keepdims=True), 1e-12)
    out = jax.vmap(lambda u, v: jnp.tensordot(u, v, axes=(axis_a - 1, axis_b - 1)))(a, b)
    return out.reshape(-1, 1) if out.ndim == 1 else out
''',
)

helper(
    "GaussianNoise",
    '''
class GaussianNoise(nnx.Module):
    """Adds N(0, stddev) noise while training (model.train()); the identity in evaluation (model.eval())."""

    def __init__(self, stddev: float, *, rngs: nnx.Rngs) -> None:
        self.stddev = stddev
        self.deterministic = False
        self.rngs = rngs["dropout"].fork()

    def __call__(self, x: jax.Array) -> jax.Array:
        if self.deterministic or self.stddev == 0:
            return x
        return x + self.stddev * jax.random.normal(self.rngs(), x.shape, x.dtype)
''',
)

helper(
    "GaussianDropout",
    '''
class GaussianDropout(nnx.Module):
    """Multiplies by N(1, rate / (1 - rate)) noise while training; the identity in evaluation."""

    def __init__(self, rate: float, *, rngs: nnx.Rngs) -> None:
        self.rate = rate
        self.deterministic = False
        self.rngs = rngs["dropout"].fork()

    def __call__(self, x: jax.Array) -> jax.Array:
        if self.deterministic or self.rate == 0:
            return x
        std = math.sqrt(self.rate / (1 - self.rate))
        return x * (1 + std * jax.random.normal(self.rngs(), x.shape, x.dtype))
''',
)

helper(
    "AlphaDropout",
    '''
class AlphaDropout(nnx.Module):
    """Dropout that keeps SELU's mean and variance while training (torch.nn.AlphaDropout)."""

    def __init__(self, rate: float, *, rngs: nnx.Rngs) -> None:
        self.rate = rate
        self.deterministic = False
        self.rngs = rngs["dropout"].fork()

    def __call__(self, x: jax.Array) -> jax.Array:
        if self.deterministic or self.rate == 0:
            return x
        alpha = -1.0507009873554804934193349852946 * 1.6732632423543772848170429916717
        keep = 1.0 - self.rate
        a = (keep * (1 + self.rate * alpha**2)) ** -0.5
        mask = jax.random.bernoulli(self.rngs(), keep, x.shape)
        return a * jnp.where(mask, x, alpha) - a * alpha * self.rate
''',
)

helper(
    "ChannelPReLU",
    '''
class ChannelPReLU(nnx.Module):
    """PReLU with one learned slope per channel (`axis` of the input): max(x, 0) + a * min(x, 0)."""

    def __init__(self, channels: int, init: float = 0.25, axis: int = -1) -> None:
        self.negative_slope = nnx.Param(jnp.full((channels,), init, jnp.float32))
        self.axis = axis

    def __call__(self, x: jax.Array) -> jax.Array:
        shape = [1] * x.ndim
        shape[self.axis] = -1
        return jnp.where(x >= 0, x, self.negative_slope[...].reshape(shape) * x)
''',
)

from neural.targets.jax import (  # noqa: E402, F401  (register their helpers)
    support_attention,
    support_conv,
    support_normalization,
    support_recurrent,
)

helper(
    "embed_with_padding",
    '''
def embed_with_padding(embed: nnx.Embed, ids: jax.Array, padding_idx: int) -> jax.Array:
    """`embed(ids)`; the vector of `padding_idx` gets no gradient (torch.nn.Embedding's padding_idx)."""
    vectors = embed(ids)
    return jnp.where((ids == padding_idx)[..., None], lax.stop_gradient(vectors), vectors)
''',
)

helper(
    "time_distributed",
    '''
def time_distributed(layer: Callable[[jax.Array], jax.Array], x: jax.Array) -> jax.Array:
    """Apply `layer` to every step of (N, T, ...), as one batch of N * T steps."""
    y = layer(x.reshape(-1, *x.shape[2:]))
    return y.reshape(x.shape[0], x.shape[1], *y.shape[1:])
''',
)

helper(
    "SqueezeExcitation",
    '''
class SqueezeExcitation(nnx.Module):
    """Squeeze-and-excitation as torchvision.ops.SqueezeExcitation on channels-last maps (1 to 3 spatial dims).

    scale = gate(fc2(activation(fc1(mean over the spatial axes)))), fc1 and fc2 dense layers over the
    channels (PyTorch's 1x1 convolutions); returns x * scale.
    """

    def __init__(
        self,
        channels: int,
        squeeze_channels: int,
        activation: Callable[[jax.Array], jax.Array],
        gate: Callable[[jax.Array], jax.Array],
        *,
        rngs: nnx.Rngs,
    ) -> None:
        self.fc1 = nnx.Linear(channels, squeeze_channels, rngs=rngs)
        self.fc2 = nnx.Linear(squeeze_channels, channels, rngs=rngs)
        self.activation, self.gate = activation, gate

    def __call__(self, x: jax.Array) -> jax.Array:
        scale = x.mean(axis=tuple(range(1, x.ndim - 1)), keepdims=True)
        return x * self.gate(self.fc2(self.activation(self.fc1(scale))))
''',
)
