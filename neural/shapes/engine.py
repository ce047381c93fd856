"""The shape engine: output shapes, parameters, state and MACs of every node, without tensors.

Runs each node's spec rules in topological order. A shape error names the layer, what it received
and what it needs, and carries the layer's span; independent branches are still checked so that
several errors are reported together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from neural.errors import NeuralError, ShapeError, raise_collected
from neural.ir import Network, Node, TensorRef
from neural.layers.base import LayerContext, Shape, Weight, fmt_shape
from neural.layers.registry import get_spec

# Layers whose output keeps the integer dtype of integer inputs (token ids).
DTYPE_PRESERVING = frozenset({"Identity", "Reshape", "Flatten", "Permute", "RepeatVector", "Cropping1D"})


@dataclass(frozen=True)
class NodeShape:
    """What the shape engine knows about one node."""

    node: Node
    input_shapes: tuple[Shape, ...]
    output_shapes: tuple[Shape, ...]
    weights: Mapping[str, Weight]
    macs: int | None

    @property
    def params(self) -> int:
        """Trainable parameters (as torch's `sum(p.numel() for p in parameters())`)."""
        return sum(w.size for w in self.weights.values() if w.trainable)

    @property
    def state(self) -> int:
        """Non-trainable state (batch-norm running statistics and other buffers)."""
        return sum(w.size for w in self.weights.values() if not w.trainable)

    @property
    def output_shape(self) -> Shape:
        return self.output_shapes[0]


@dataclass(frozen=True)
class ShapedNetwork:
    """A network with every shape and count known; what every target consumes."""

    network: Network
    layers: tuple[NodeShape, ...]
    tensors: Mapping[str, tuple[Shape, ...]] = field(repr=False)
    dtypes: Mapping[str, str] = field(repr=False)

    @property
    def params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def state(self) -> int:
        return sum(layer.state for layer in self.layers)

    @property
    def macs(self) -> int | None:
        total = 0
        for layer in self.layers:
            if layer.macs is None:
                return None
            total += layer.macs
        return total

    @property
    def output_shapes(self) -> tuple[Shape, ...]:
        return tuple(self.shape_of(ref) for ref in self.network.outputs)

    def shape_of(self, ref: TensorRef) -> Shape:
        return self.tensors[ref.node][ref.index]

    def layer(self, name: str) -> NodeShape:
        for layer in self.layers:
            if layer.node.name == name:
                return layer
        raise KeyError(name)


def infer(network: Network) -> ShapedNetwork:
    """Compute every node's shapes and counts; raise `ShapeError`(s) with spans on mismatch."""
    ctx = LayerContext(network.layout)
    tensors: dict[str, tuple[Shape, ...]] = {spec.name: (spec.shape,) for spec in network.inputs}
    dtypes: dict[str, str] = {spec.name: spec.dtype for spec in network.inputs}
    kinds: dict[str, str] = {spec.name: "input" for spec in network.inputs}
    layers: list[NodeShape] = []
    errors: list[NeuralError] = []
    for node in network.nodes:
        if any(ref.node not in tensors for ref in node.inputs):
            continue  # depends on a node that failed
        try:
            layers.append(_infer_node(node, ctx, tensors, dtypes, kinds))
        except ShapeError as exc:
            errors.append(exc.with_span(node.span))
    raise_collected(errors)
    return ShapedNetwork(network, tuple(layers), tensors, dtypes)


def _infer_node(
    node: Node, ctx: LayerContext, tensors: dict[str, tuple[Shape, ...]], dtypes: dict[str, str], kinds: dict[str, str]
) -> NodeShape:
    spec = get_spec(node.kind)
    inputs = tuple(tensors[ref.node][ref.index] for ref in node.inputs)
    _check_dtypes(node, spec.integer_input, dtypes, kinds)
    try:
        result = spec.output_shape(node.config, inputs, ctx)
        outputs: tuple[Shape, ...] = result if result and isinstance(result[0], tuple) else (result,)  # type: ignore[assignment]
        weights = spec.weights(node.config, inputs, ctx)
        macs = spec.macs(node.config, inputs, outputs, ctx)
    except ShapeError as exc:
        origins = [
            f"input {i + 1} {fmt_shape(s)} comes from {_origin(ref, kinds)}"
            for i, (ref, s) in enumerate(zip(node.inputs, inputs))
        ]
        exc.notes = (*exc.notes, *origins)
        raise
    tensors[node.name] = outputs
    kinds[node.name] = node.kind
    integer_in = all(dtypes.get(ref.node) == "int64" for ref in node.inputs)
    dtypes[node.name] = "int64" if node.kind in DTYPE_PRESERVING and integer_in else "float32"
    return NodeShape(node, inputs, outputs, weights, macs)


def _origin(ref: TensorRef, kinds: Mapping[str, str]) -> str:
    kind = kinds.get(ref.node, "?")
    return f"network input `{ref.node}`" if kind == "input" else f"`{ref}` ({kind})"


def _check_dtypes(node: Node, integer_input: bool, dtypes: Mapping[str, str], kinds: Mapping[str, str]) -> None:
    for ref in node.inputs:
        dtype = dtypes.get(ref.node, "float32")
        if integer_input and dtype != "int64":
            raise ShapeError(
                f"{node.kind} expects integer ids, received float values from {_origin(ref, kinds)}",
                hint="an Embedding reads token ids directly from a network input",
            )
        if not integer_input and dtype == "int64" and node.kind not in DTYPE_PRESERVING:
            raise ShapeError(
                f"{node.kind} expects float values, received the integer ids of {_origin(ref, kinds)}",
                hint="that input also feeds an Embedding, so it holds token ids; embed it first",
            )
