"""Activations and other pieces shared by PyTorch emitters."""

from __future__ import annotations

from neural.targets.pytorch.emit import EmitContext, Layout, lit

SIMPLE_ACTIVATIONS = {
    "relu": "F.relu({x})",
    "relu6": "F.relu6({x})",
    "elu": "F.elu({x})",
    "selu": "F.selu({x})",
    "gelu": "F.gelu({x})",
    "silu": "F.silu({x})",
    "mish": "F.mish({x})",
    "sigmoid": "torch.sigmoid({x})",
    "hard_sigmoid": "F.hardsigmoid({x})",
    "tanh": "torch.tanh({x})",
    "softplus": "F.softplus({x})",
    "softsign": "F.softsign({x})",
    "exponential": "torch.exp({x})",
    "leaky_relu": "F.leaky_relu({x}, 0.01)",
}


def activation_expr(name: str | None, x: str, *, dim: int = -1, module: str = "") -> str:
    """The expression applying activation `name` to `x` (softmax along torch dim `dim`; prelu
    through the `activation` submodule of `module`)."""
    if name in (None, "linear"):
        return x
    if name == "softmax":
        return f"torch.softmax({x}, dim={dim})"
    if name == "log_softmax":
        return f"torch.log_softmax({x}, dim={dim})"
    if name == "prelu":
        return f"{module}.activation({x})"
    return SIMPLE_ACTIVATIONS[name].format(x=x)


def fused_activation(e: EmitContext, x: str, module: str, layout: Layout) -> str:
    """The node's `activation=` applied to `x` (an output in `layout`)."""
    name = e.config.get("activation")
    rank = len(e.out_shape)
    dim = e.torch_axis(-1, rank, layout) if rank >= 1 else -1
    return activation_expr(name, x, dim=dim, module=module)


def prelu_init(e: EmitContext) -> tuple[str, ...]:
    """Extra constructor line for a fused PReLU slope (kept as `<layer>.activation.weight`)."""
    if e.config.get("activation") == "prelu":
        return ("{module}.activation = nn.PReLU()  # learned slope of the fused activation",)
    return ()


def tup(values: tuple[int, ...] | list[int]) -> str:
    """An int tuple literal, collapsed to one int when all entries agree (as torch accepts)."""
    items = tuple(values)
    if items and all(v == items[0] for v in items):
        return lit(items[0])
    return lit(items)
