"""What an emitter returns for one layer, and the registry of emitters by layer kind.

An emitter turns one analysed node into PyTorch code: an optional constructor expression (the
layer becomes `self.<name> = <module>`), a function that writes the forward expression from the
input expressions, and the data layout it needs. Layouts: "torch" (channels-first feature maps),
"lang" (the .neural file's layout) or "any" (element-wise layers keep whatever they get); the code
generator inserts the permutes between them. Every literal is written with `repr()`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from neural.targets.common.emit import EmitContextBase, EmitterRegistry, call, lit

__all__ = ["call", "lit"]

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
class EmitContext(EmitContextBase[Layout]):
    """What an emitter may read (see `EmitContextBase`), and torch's axes."""

    def torch_axis(self, lang_axis: int, rank: int, layout: Layout) -> int:
        """A language axis (of the non-batch dims, negatives from the end) as a dim of the batched torch
        tensor in `layout`."""
        axis = lang_axis % rank
        if layout == "torch" and self.ctx.channels_last and rank >= 2:
            axis = 0 if axis == rank - 1 else axis + 1
        return axis + 1


Emitter = Callable[[EmitContext], LayerCode]
REGISTRY: EmitterRegistry[Emitter] = EmitterRegistry("PyTorch", "neural.targets.pytorch.emitters.catalogue")
emitter, unsupported, require_emitter = REGISTRY.emitter, REGISTRY.unsupported, REGISTRY.require
get_emitter, support_status = REGISTRY.get, REGISTRY.status
_EMITTERS, _UNSUPPORTED, _ensure_loaded = REGISTRY.emitters, REGISTRY.reasons, REGISTRY.ensure_loaded


def single(fn: Callable[[str], str]) -> Callable[[Sequence[str], str], str]:
    """A forward for one-input layers written as a function of that input."""
    return lambda inputs, module: fn(inputs[0])


def via_module(inputs: Sequence[str], module: str) -> str:
    return f"{module}({', '.join(inputs)})"
