"""What an emitter returns for one layer, and the registry of emitters by layer kind.

An emitter turns one analysed node into PyTorch code: an optional constructor expression (the
layer becomes `self.<name> = <module>`), a function that writes the forward expression from the
input expressions, and the data layout it needs. Layouts: "torch" (channels-first feature maps),
"lang" (the .neural file's layout) or "any" (element-wise layers keep whatever they get); the code
generator inserts the permutes between them. Every literal is written with `repr()`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from neural.errors import BackendError
from neural.layers.base import LayerContext, Shape
from neural.shapes.engine import NodeShape

Layout = Literal["torch", "lang", "any"]


@dataclass(frozen=True)
class LayerCode:
    """Generated code for one node.

    `module`: constructor expression or None for stateless layers. `forward(inputs, module_ref)`:
    the output expression (a tuple expression for several outputs). `needs`: the layout its inputs
    must be in; `produces`: the layout of its output ("any" = the layout of its first input).
    `helpers`: names of support definitions (functions, classes) the code uses. `init_after`: more
    constructor lines, `{module}` standing for the layer's attribute (e.g. a fused PReLU slope).
    """

    forward: Callable[[Sequence[str], str], str]
    module: str | None = None
    needs: Layout = "any"
    produces: Layout = "any"
    helpers: tuple[str, ...] = ()
    comment: str = ""
    init_after: tuple[str, ...] = ()


@dataclass(frozen=True)
class EmitContext:
    """What an emitter may read: the node with its shapes, the network layout, and the layouts its
    inputs will arrive in (after conversion to `needs`)."""

    layer: NodeShape
    ctx: LayerContext
    input_layouts: tuple[Layout, ...] = field(default=())

    @property
    def config(self):  # type: ignore[no-untyped-def]
        return self.layer.node.config

    @property
    def node(self):  # type: ignore[no-untyped-def]
        return self.layer.node

    @property
    def in_shape(self) -> Shape:
        return self.layer.input_shapes[0]

    @property
    def out_shape(self) -> Shape:
        return self.layer.output_shapes[0]

    def channels(self, shape: Shape | None = None) -> int:
        """The channel count of a feature map in the network's layout."""
        _, channels = self.ctx.split(shape if shape is not None else self.in_shape)
        if channels is None:
            raise BackendError(f"{self.node.kind} needs a known channel count", self.node.span)
        return channels

    def torch_axis(self, lang_axis: int, rank: int, layout: Layout) -> int:
        """A language axis (of the non-batch dims, negatives from the end) as a dim of the batched torch
        tensor in `layout`."""
        axis = lang_axis % rank
        if layout == "torch" and self.ctx.channels_last and rank >= 2:
            axis = 0 if axis == rank - 1 else axis + 1
        return axis + 1


Emitter = Callable[[EmitContext], LayerCode]
_EMITTERS: dict[str, Emitter] = {}
_UNSUPPORTED: dict[str, str] = {}
_LOADED: list[bool] = []


def emitter(*kinds: str) -> Callable[[Emitter], Emitter]:
    def register(fn: Emitter) -> Emitter:
        for kind in kinds:
            if kind in _EMITTERS:
                raise TypeError(f"two PyTorch emitters for {kind}")
            _EMITTERS[kind] = fn
        return fn

    return register


def unsupported(kind: str, reason: str) -> None:
    """Declare that the PyTorch target cannot express `kind` (a compile error, never a dropped layer)."""
    _UNSUPPORTED[kind] = reason


def _ensure_loaded() -> None:
    if not _LOADED:
        _LOADED.append(True)
        import neural.targets.pytorch.emitters.catalogue  # noqa: F401


def get_emitter(kind: str) -> Emitter | None:
    _ensure_loaded()
    return _EMITTERS.get(kind)


def support_status(kind: str) -> tuple[bool, str]:
    """(supported, reason when not)."""
    _ensure_loaded()
    if kind in _EMITTERS:
        return True, ""
    return False, _UNSUPPORTED.get(kind, "no PyTorch emitter yet")


def lit(value: object) -> str:
    """A Python literal for generated code (never raw DSL text)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return repr(value)
    return repr(value)


def call(func: str, *args: object, **kwargs: object) -> str:
    """`func(arg, ..., key=value)` with literals written by `lit`; strings in `args` are code."""
    parts = [a if isinstance(a, str) else lit(a) for a in args]
    parts += [f"{k}={lit(v)}" for k, v in kwargs.items()]
    return f"{func}({', '.join(parts)})"


def single(fn: Callable[[str], str]) -> Callable[[Sequence[str], str], str]:
    """A forward for one-input layers written as a function of that input."""
    return lambda inputs, module: fn(inputs[0])


def via_module(inputs: Sequence[str], module: str) -> str:
    return f"{module}({', '.join(inputs)})"
