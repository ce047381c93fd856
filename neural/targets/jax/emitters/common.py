"""Activations and other pieces shared by JAX emitters."""

from __future__ import annotations

from neural.targets.jax.emit import EmitContext, Layout, Refs, WeightSlot, lit

# jax.nn's functions with the language's (PyTorch's) defaults: exact GELU, leaky_relu slope 0.01.
SIMPLE_ACTIVATIONS = {
    "relu": "jax.nn.relu({x})",
    "relu6": "jax.nn.relu6({x})",
    "elu": "jax.nn.elu({x})",
    "selu": "jax.nn.selu({x})",
    "gelu": "jax.nn.gelu({x}, approximate=False)",
    "silu": "jax.nn.silu({x})",
    "mish": "jax.nn.mish({x})",
    "sigmoid": "jax.nn.sigmoid({x})",
    "hard_sigmoid": "jax.nn.hard_sigmoid({x})",
    "tanh": "jnp.tanh({x})",
    "softplus": "jax.nn.softplus({x})",
    "softsign": "jax.nn.soft_sign({x})",
    "exponential": "jnp.exp({x})",
    "leaky_relu": "jax.nn.leaky_relu({x}, 0.01)",
}

# The same activations as callables (for modules that take an activation argument).
ACTIVATION_CALLABLES = {
    "linear": "lambda x: x",
    "relu": "jax.nn.relu",
    "relu6": "jax.nn.relu6",
    "elu": "jax.nn.elu",
    "selu": "jax.nn.selu",
    "gelu": "partial_gelu",
    "silu": "jax.nn.silu",
    "mish": "jax.nn.mish",
    "sigmoid": "jax.nn.sigmoid",
    "hard_sigmoid": "jax.nn.hard_sigmoid",
    "tanh": "jnp.tanh",
    "softplus": "jax.nn.softplus",
    "softsign": "jax.nn.soft_sign",
    "exponential": "jnp.exp",
    "leaky_relu": "lambda x: jax.nn.leaky_relu(x, 0.01)",
    "softmax": "lambda x: jax.nn.softmax(x, axis={axis})",
    "log_softmax": "lambda x: jax.nn.log_softmax(x, axis={axis})",
}


def activation_callable(name: str | None, axis: int = -1) -> str:
    """A callable expression applying activation `name` (softmax over `axis`); not for prelu."""
    text = ACTIVATION_CALLABLES[name or "linear"]
    if text == "partial_gelu":
        return "lambda x: jax.nn.gelu(x, approximate=False)"
    return text.format(axis=axis)


def activation_expr(name: str | None, x: str, *, axis: int = -1, prelu: str = "") -> str:
    """The expression applying activation `name` to `x` (softmax along `axis`; prelu through the module
    expression `prelu`)."""
    if name in (None, "linear"):
        return x
    if name == "softmax":
        return f"jax.nn.softmax({x}, axis={axis})"
    if name == "log_softmax":
        return f"jax.nn.log_softmax({x}, axis={axis})"
    if name == "prelu":
        return f"{prelu}({x})"
    return SIMPLE_ACTIVATIONS[name].format(x=x)


def fused_activation(e: EmitContext, x: str, refs: Refs, layout: Layout) -> str:
    """The node's `activation=` applied to `x` (an output in `layout`)."""
    name = e.config.get("activation")
    rank = len(e.out_shape)
    axis = e.jax_axis(-1, rank, layout) if rank >= 1 else -1
    axis = -1 if axis == rank else axis  # the last axis reads best as -1
    return activation_expr(name, x, axis=axis, prelu=refs.extras.get("activation", ""))


def prelu_extras(e: EmitContext) -> dict[str, str]:
    """The module of a fused PReLU (one learned slope, the canonical `<layer>.activation.weight`)."""
    return {"activation": "nnx.PReLU(0.25)"} if e.config.get("activation") == "prelu" else {}


def prelu_slots(e: EmitContext) -> dict[str, WeightSlot]:
    if e.config.get("activation") == "prelu":
        return {"activation.weight": WeightSlot(("negative_slope",), "same", "activation")}
    return {}


def tup(values: tuple[int, ...] | list[int]) -> str:
    return lit(tuple(values))
