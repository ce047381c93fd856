"""What the targets' emitters share: the registry of emitters by layer kind, the context an emitter reads,
and how literals are written into generated code.

Layouts: every target names the layout its framework's kernels take ("torch", "keras", "flax"), "lang"
(the .neural file's layout) and "any" (the layer keeps whatever it gets); a target's `Layout` is the
Literal of its three names, the type parameter `L` here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

from neural.errors import BackendError
from neural.layers.base import LayerContext, Shape
from neural.shapes.engine import NodeShape
from neural.source import Span

L = TypeVar("L", bound=str)  # a target's Layout
E = TypeVar("E")  # a target's Emitter

# The two layouts every target's Layout has (typed Any: each target's Literal includes them).
LANG: Final[Any] = "lang"
ANY: Final[Any] = "any"


class Code(str):
    """Python code (an expression such as a function name) where a literal would otherwise be written."""

    __slots__ = ()


def lit(value: object) -> str:
    """A Python literal for generated code (never raw DSL text); `Code` is written as it is."""
    if isinstance(value, Code):
        return str(value)
    if isinstance(value, (list, tuple)):
        items = ", ".join(lit(v) for v in value)
        if isinstance(value, list):
            return f"[{items}]"
        return f"({items},)" if len(value) == 1 else f"({items})"
    return repr(value)


def call(func: str, *args: object, **kwargs: object) -> str:
    """`func(arg, ..., key=value)` with literals written by `lit`; strings in `args` are code."""
    parts = [a if isinstance(a, str) else lit(a) for a in args]
    parts += [f"{k}={lit(v)}" for k, v in kwargs.items()]
    return f"{func}({', '.join(parts)})"


@dataclass(frozen=True)
class EmitContextBase(Generic[L]):
    """What an emitter may read: the node with its shapes, the network layout, and the layouts its inputs
    will arrive in (after conversion to what the emitter needs)."""

    layer: NodeShape
    ctx: LayerContext
    input_layouts: tuple[L, ...] = ()

    @property
    def config(self) -> Any:
        return self.layer.node.config

    @property
    def node(self) -> Any:
        return self.layer.node

    @property
    def in_shape(self) -> Shape:
        return self.layer.input_shapes[0]

    @property
    def out_shape(self) -> Shape:
        return self.layer.output_shapes[0]

    @property
    def layout(self) -> L:
        """The layout the first input arrives in."""
        layout: L = self.input_layouts[0] if self.input_layouts else LANG
        return layout

    def channels(self, shape: Shape | None = None) -> int:
        """The channel count of a feature map in the network's layout."""
        _, channels = self.ctx.split(shape if shape is not None else self.in_shape)
        if channels is None:
            raise BackendError(f"{self.node.kind} needs a known channel count", self.node.span)
        return channels


class EmitterRegistry(Generic[E]):
    """One target's emitters by layer kind, and its reasons for the kinds it cannot express. The emitter
    modules register themselves when `catalogue` (the module importing them all) is first needed."""

    def __init__(self, backend: str, catalogue: str) -> None:
        self.backend = backend
        self.catalogue = catalogue
        self.emitters: dict[str, E] = {}
        self.reasons: dict[str, str] = {}
        self.loaded = False

    def emitter(self, *kinds: str) -> Callable[[E], E]:
        """Decorator: the emitter of one or more layer kinds."""

        def register(fn: E) -> E:
            for kind in kinds:
                if kind in self.emitters:
                    raise TypeError(f"two {self.backend} emitters for {kind}")
                self.emitters[kind] = fn
            return fn

        return register

    def unsupported(self, kind: str, reason: str) -> None:
        """Declare that the target cannot express `kind` (a compile error, never a dropped layer)."""
        self.reasons[kind] = reason

    def ensure_loaded(self) -> None:
        if not self.loaded:
            self.loaded = True
            importlib.import_module(self.catalogue)

    def get(self, kind: str) -> E | None:
        self.ensure_loaded()
        return self.emitters.get(kind)

    def status(self, kind: str) -> tuple[bool, str]:
        """(supported, reason when not)."""
        self.ensure_loaded()
        if kind in self.emitters:
            return True, ""
        return False, self.reasons.get(kind, f"no {self.backend} emitter yet")

    def require(self, kind: str, span: Span | None = None, *, where: str = "") -> E:
        """The emitter of `kind`, or an error saying why the target cannot generate it (`where`: e.g.
        " inside TimeDistributed")."""
        emit = self.get(kind)
        if emit is None:
            _, reason = self.status(kind)
            raise BackendError(f"the {self.backend} backend cannot generate {kind}{where}: {reason}", span)
        return emit
