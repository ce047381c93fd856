"""Activations and other pieces shared by TensorFlow emitters."""

from __future__ import annotations

from neural.targets.tensorflow.emit import Binding, Code, EmitContext, Layout, Piece

# activation names whose Keras string means exactly the language's function
KERAS_ACTIVATIONS = frozenset(
    {
        "relu",
        "relu6",
        "elu",
        "selu",
        "gelu",
        "silu",
        "mish",
        "sigmoid",
        "hard_sigmoid",
        "tanh",
        "softplus",
        "softsign",
        "exponential",
    }
)


def activation_value(name: str | None) -> tuple[object, tuple[str, ...]]:
    """An element-wise activation as a Keras `activation=` value (None: linear) and the helpers it needs.
    Not for softmax, log_softmax and prelu (see `activation_pieces`)."""
    if name in (None, "linear"):
        return None, ()
    if name == "leaky_relu":
        return Code("leaky_relu"), ("leaky_relu",)
    assert name in KERAS_ACTIVATIONS, name
    return name, ()


def prelu_piece(rank: int, role: str = "activation", init: float = 0.25) -> Piece:
    """A PReLU with one slope shared by every position of a rank-`rank` sample."""
    return Piece(
        "layers.PReLU",
        kwargs={
            "alpha_initializer": Code(f"keras.initializers.Constant({init!r})"),
            "shared_axes": list(range(1, rank + 1)),
        },
        role=role,
    )


def softmax_piece(name: str, axis: int, role: str = "activation") -> Piece:
    """Softmax or log-softmax over `axis` of the batched tensor as a layer."""
    if name == "softmax":
        return Piece("layers.Softmax", kwargs={"axis": axis}, role=role)
    return Piece("layers.Activation", (Code(f"lambda x: ops.log_softmax(x, axis={axis})"),), role=role)


class Fused:
    """The node's `activation=` argument: either a Keras `activation=` value for the main layer, or a
    separate piece after it (prelu's learned slope, a softmax over an axis that is not Keras' last)."""

    def __init__(self, e: EmitContext, layout: Layout, rank: int | None = None) -> None:
        name = e.config.get("activation") or "linear"
        rank = len(e.out_shape) if rank is None else rank
        self.kwargs: dict[str, object] = {}
        self.pieces: tuple[Piece, ...] = ()
        self.helpers: tuple[str, ...] = ()
        self.weights: tuple[Binding, ...] = ()
        if name in ("softmax", "log_softmax"):
            axis = e.keras_axis(-1, rank, layout)
            if axis == rank:
                self.kwargs["activation"] = name
            else:
                self.pieces = (softmax_piece(name, axis),)
        elif name == "prelu":
            self.pieces = (prelu_piece(rank),)
            self.weights = (Binding("activation.weight", "alpha", (("reshape", (1,) * rank),), role="activation"),)
        else:
            value, self.helpers = activation_value(name)
            if value is not None:
                self.kwargs["activation"] = value
