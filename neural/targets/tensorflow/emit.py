"""What an emitter returns for one layer, and the registry of TensorFlow/Keras emitters by layer kind.

An emitter turns one analysed node into Keras layers: a chain of `Piece`s (each one Keras layer, the
main one named after the node, helpers such as a padding layer named `<node>_<role>`), applied in order
to the node's input (a list of inputs for merge layers), or a `call` that writes the expression applying
them to several inputs. It also says which data layout the layers need, "keras" (channels last, what
TensorFlow's CPU kernels take), "lang" (the .neural file's layout) or "any" (the layer adapts to what
arrives), and where each canonical weight lives (`Binding`). Every literal is written with `repr()`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from neural.layers.base import Shape
from neural.targets.common.emit import Code, EmitContextBase, EmitterRegistry, lit

__all__ = ["Code", "lit"]

Layout = Literal["keras", "lang", "any"]

# canonical -> Keras variable: ("transpose", permutation) or ("reshape", shape), applied in order
Op = tuple[str, tuple[int, ...]]


def call(func: str, *args: object, **kwargs: object) -> str:
    """`func(arg, ..., key=value)`, every value written by `lit`."""
    parts = [lit(a) for a in args] + [f"{k}={lit(v)}" for k, v in kwargs.items()]
    return f"{func}({', '.join(parts)})"


@dataclass(frozen=True)
class Piece:
    """One Keras layer: `func(*args, **kwargs, name=...)`. `role` "" is the node's main layer (named after
    the node); other roles are helpers named `<node>_<role>`."""

    func: str
    args: tuple[object, ...] = ()
    kwargs: Mapping[str, object] = field(default_factory=dict)
    role: str = ""

    def expr(self, name: str) -> str:
        return call(self.func, *self.args, **self.kwargs, name=name)


@dataclass(frozen=True)
class Binding:
    """Where canonical weight `<node>.<weight>` lives: attribute path `attr` of the piece with `role`;
    `ops` turn the canonical (PyTorch) array into the Keras variable's layout."""

    weight: str
    attr: str
    ops: tuple[Op, ...] = ()
    role: str = ""


# (input expressions, piece constructor expressions) -> output expression
CallWriter = Callable[[Sequence[str], Sequence[str]], str]


@dataclass(frozen=True)
class LayerCode:
    """Generated code for one node.

    `pieces` are applied in order to the node's input (a list for several inputs) unless `call` writes the
    expression itself. `needs`: the layout inputs of rank >= 2 must arrive in; `produces`: the layout of
    the outputs ("any" = that of the first input). `helpers`: definitions from library.py the code uses.
    `weights`: a binding for every canonical weight of the node.
    """

    pieces: tuple[Piece, ...]
    call: CallWriter | None = None
    needs: Layout = "any"
    produces: Layout = "any"
    helpers: tuple[str, ...] = ()
    weights: tuple[Binding, ...] = ()


@dataclass(frozen=True)
class EmitContext(EmitContextBase[Layout]):
    """What an emitter may read (see `EmitContextBase`), and Keras' axes."""

    @property
    def moved(self) -> bool:
        """Whether feature maps arrive moved to channels-last (a channels-first network in the keras layout)."""
        return self.layout == "keras" and not self.ctx.channels_last

    def spatial(self, shape: Shape | None = None) -> tuple[int | None, ...]:
        spatial, _ = self.ctx.split(shape if shape is not None else self.in_shape)
        return tuple(spatial)

    def keras_axis(self, lang_axis: int, rank: int, layout: Layout | None = None) -> int:
        """A language axis (of the non-batch dims, negatives from the end) as an axis of the batched Keras
        tensor in `layout` (default: the first input's)."""
        axis = lang_axis % rank
        if (layout or self.layout) == "keras" and not self.ctx.channels_last and rank >= 2:
            axis = rank - 1 if axis == 0 else axis - 1
        return axis + 1


Emitter = Callable[[EmitContext], LayerCode]
REGISTRY: EmitterRegistry[Emitter] = EmitterRegistry("TensorFlow", "neural.targets.tensorflow.emitters.catalogue")
emitter, unsupported, require_emitter = REGISTRY.emitter, REGISTRY.unsupported, REGISTRY.require
get_emitter, support_status = REGISTRY.get, REGISTRY.status
_EMITTERS, _UNSUPPORTED, _ensure_loaded = REGISTRY.emitters, REGISTRY.reasons, REGISTRY.ensure_loaded


def single(piece: Piece, **options: Any) -> LayerCode:
    """A node that is one Keras layer applied to its input."""
    return LayerCode(pieces=(piece,), **options)


def transpose(rank: int) -> Op:
    """The canonical -> Keras op of a dense or convolution weight: (out, in, *k) -> (*k, in, out)."""
    return ("transpose", (*range(2, rank), 1, 0))
