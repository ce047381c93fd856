"""The bookkeeping every target's model writer does over a network's tensors, whatever it writes.

A writer walks the layers in order. Each tensor of the network is a `Value` of the generated code: the
expression (a variable) that holds it, the layout it is in and its rank (of one sample). For each layer
the writer asks the emitter which layout the inputs must be in (`negotiate`), converts them (the
framework's own business), writes the layer and binds its outputs to variables: `x` for a plain chain,
the layer's name otherwise, `<name>_<i>` for several outputs (`_<name>_<i>` when nothing reads one).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from neural.errors import BackendError, NeuralError, raise_collected
from neural.ir import InputSpec, Network, TensorRef
from neural.layers.base import LayerContext, fmt_shape
from neural.shapes.engine import NodeShape, ShapedNetwork
from neural.targets.common import codegen
from neural.targets.common.emit import ANY, LANG, L


@dataclass
class Value(Generic[L]):
    """A tensor in the generated code: the expression that holds it, its layout and its rank (one sample,
    without the batch axis)."""

    expr: str
    layout: L
    rank: int


class Negotiated(Protocol):
    """What `negotiate` reads of an emitter's code: the layout its inputs need and the one it produces."""

    @property
    def needs(self) -> str: ...

    @property
    def produces(self) -> str: ...


C = TypeVar("C", bound=Negotiated)


def count_uses(net: Network) -> dict[TensorRef, int]:
    """How often each tensor is read, by layers and as an output of the network."""
    counts: dict[TensorRef, int] = {}
    for node in net.nodes:
        for ref in node.inputs:
            counts[ref] = counts.get(ref, 0) + 1
    for ref in net.outputs:
        counts[ref] = counts.get(ref, 0) + 1
    return counts


def shape_comment(layer: NodeShape) -> str:
    """The output shapes of a layer, batch axis included, for the comment of its line."""
    return ", ".join(fmt_shape((None, *s)) for s in layer.output_shapes)


class GraphWriter(Generic[L]):
    """The values of one analysed network's tensors while a target writes its model. `reserved`: the names
    the generated code uses itself, which layer and input variables must not take."""

    reserved: tuple[Collection[str], ...] = ()

    def __init__(self, shaped: ShapedNetwork) -> None:
        self.shaped = shaped
        self.net = shaped.network
        self.ctx = LayerContext(self.net.layout)
        self.values: dict[TensorRef, Value[L]] = {}
        self.uses = count_uses(self.net)

    # --- names ---
    def variable(self, name: str) -> str:
        """The variable of the layer or input called `name` (checked; `name_` where the name is reserved)."""
        return codegen.local_name(name, *self.reserved)

    def summary(self) -> str:
        return codegen.summary(self.shaped)

    # --- values ---
    def bind_inputs(self) -> list[tuple[str, InputSpec]]:
        """The variable of every input of the network (values in the language's layout), in order."""
        found = []
        for spec in self.net.inputs:
            var = self.variable(spec.name)
            self.values[TensorRef(spec.name, 0)] = Value(var, LANG, len(spec.shape))
            found.append((var, spec))
        return found

    def negotiate(
        self, layer: NodeShape, emit: Callable[[tuple[L, ...]], C]
    ) -> tuple[C, list[Value[L]], tuple[L, ...], L]:
        """The layer's code for the layouts its inputs will arrive in: those it needs ("any": as they are,
        unless feature maps arrive in different layouts, then the language's), its input values, those
        layouts, and the layout of its outputs. `emit(layouts)` writes the code for inputs in `layouts`."""
        inputs = [self.values[ref] for ref in layer.node.inputs]
        arrived = tuple(v.layout for v in inputs)
        probe = emit(arrived)
        needs: Any = probe.needs
        if needs == ANY and len({v.layout for v in inputs if v.rank >= 2}) > 1:
            needs = LANG
        layouts: tuple[L, ...] = tuple((needs if needs != ANY else v.layout) if v.rank >= 2 else LANG for v in inputs)
        code = emit(layouts) if layouts != arrived else probe
        produces: Any = code.produces
        produced: L = produces if produces != ANY else (layouts[0] if layouts else LANG)
        return code, inputs, layouts, produced

    def flows_straight(self, layer: NodeShape) -> bool:
        """Use the running variable `x` when the only reader is the next layer (a plain chain)."""
        ref = TensorRef(layer.node.name, 0)
        if self.uses.get(ref, 0) != 1 or ref in self.net.outputs or len(layer.output_shapes) != 1:
            return False
        nodes = self.net.nodes
        index = next(i for i, n in enumerate(nodes) if n.name == layer.node.name)
        # `x` holds at most one value at a time, read once and right away by the next layer
        return index + 1 < len(nodes) and nodes[index + 1].inputs[:1] == (ref,)

    def node_variable(self, layer: NodeShape) -> str:
        """The variable of a single-output layer: `x` for a plain chain, else the layer's name."""
        return "x" if self.flows_straight(layer) else self.variable(layer.node.name)

    def output_variables(self, layer: NodeShape) -> list[str]:
        """The variables of the layer's outputs; with several, the ones nothing reads are named `_...` (ruff's
        unused-unpacked-variable rule)."""
        name = layer.node.name
        if len(layer.output_shapes) == 1:
            return [self.node_variable(layer)]
        base = self.variable(name)
        return [
            f"{base}_{i}" if self.uses.get(TensorRef(name, i)) else f"_{base}_{i}"
            for i in range(len(layer.output_shapes))
        ]

    def bind(self, layer: NodeShape, names: Sequence[str], layout: L) -> None:
        """The layer's outputs are held by `names`, feature maps in `layout` (anything of rank < 2 in the
        language's layout)."""
        for i, (var, shape) in enumerate(zip(names, layer.output_shapes)):
            self.values[TensorRef(layer.node.name, i)] = Value(var, layout if len(shape) >= 2 else LANG, len(shape))

    # --- layers ---
    def emit_layer(self, layer: NodeShape) -> None:
        raise NotImplementedError

    def emit_layers(self) -> None:
        """`emit_layer` for every layer, in order; the errors of all of them raised together."""
        errors: list[NeuralError] = []
        for layer in self.shaped.layers:
            if any(ref not in self.values for ref in layer.node.inputs):
                continue  # reads a layer that could not be generated (already reported)
            try:
                self.emit_layer(layer)
            except BackendError as exc:
                errors.append(exc.with_span(layer.node.span))
        raise_collected(errors)
