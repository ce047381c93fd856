"""Plain-data views of analysed networks: the JSON of `neural summary` and `neural check --format json`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from neural.config.args import Config
from neural.config.values import CallValue, SymbolValue, describe
from neural.ir import Component, HpoParam, Network, Node
from neural.layers.base import Shape
from neural.layers.nested import NestedLayer
from neural.shapes.engine import NodeShape, ShapedNetwork

BYTES_PER_WEIGHT = 4  # float32


def jsonable(value: Any) -> Any:
    """Config values as JSON data: tuples become lists, components become {"name", "config"}."""
    if isinstance(value, (Config, dict)):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, Component):
        return {"name": value.name, "config": jsonable(value.config)}
    if isinstance(value, NestedLayer):
        return {"kind": value.kind, "config": jsonable(value.config)}
    if isinstance(value, (tuple, list)):
        return [jsonable(v) for v in value]
    if isinstance(value, (SymbolValue, CallValue)):
        return describe(value)
    return value


def batched(shape: Shape) -> list[int | None]:
    """A shape with the batch axis in front, as JSON (`None` for unknown sizes)."""
    return [None, *shape]


def output_shape_json(shaped: ShapedNetwork) -> Any:
    """One list, or an object keyed by output name when the network has several outputs."""
    shapes = shaped.output_shapes
    if len(shapes) == 1:
        return batched(shapes[0])
    names = shaped.network.output_names or tuple(str(ref) for ref in shaped.network.outputs)
    return {name: batched(s) for name, s in zip(names, shapes)}


def layer_json(layer: NodeShape) -> dict[str, Any]:
    out = layer.output_shapes
    return {
        "name": layer.node.name,
        "kind": layer.node.kind,
        "output_shape": batched(out[0]) if len(out) == 1 else [batched(s) for s in out],
        "params": layer.params,
        "non_trainable": layer.state,
        "macs": layer.macs,
    }


def summary_json(shaped: ShapedNetwork) -> dict[str, Any]:
    """What `neural summary --format json` prints for one network."""
    net = shaped.network
    return {
        "network": net.name,
        "inputs": {spec.name: {"shape": batched(spec.shape), "dtype": spec.dtype} for spec in net.inputs},
        "params": shaped.params,
        "non_trainable": shaped.state,
        "macs": shaped.macs,
        "flops": None if shaped.macs is None else 2 * shaped.macs,
        "output_shape": output_shape_json(shaped),
        "weight_memory_bytes": (shaped.params + shaped.state) * BYTES_PER_WEIGHT,
        "layers": [layer_json(layer) for layer in shaped.layers],
        "hyperparameters": hpo_json(net.hpo, net.hpo_values),
    }


def hpo_json(params: tuple[HpoParam, ...], values: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "name": p.label,
            "space": p.space.describe(),
            "value": jsonable(values.get(p.key, p.space.default())),
            "line": p.span.line if p.span else None,
            "column": p.span.column if p.span else None,
        }
        for p in params
    ]


def node_json(node: Node, layer: NodeShape | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": node.name,
        "kind": node.kind,
        "config": jsonable(node.config),
        "inputs": [str(ref) for ref in node.inputs],
        "scope": list(node.scope),
        "device": node.device,
        "span": node.span.to_json() if node.span else None,
    }
    if layer is not None:
        data["input_shapes"] = [batched(s) for s in layer.input_shapes]
        data["output_shapes"] = [batched(s) for s in layer.output_shapes]
        data["weights"] = {k: {"shape": list(w.shape), "trainable": w.trainable} for k, w in layer.weights.items()}
        data["params"] = layer.params
        data["non_trainable"] = layer.state
        data["macs"] = layer.macs
    return data


def network_json(shaped: ShapedNetwork) -> dict[str, Any]:
    """The resolved IR of a network with every shape: what `neural check --format json` prints."""
    net: Network = shaped.network
    layers = {layer.node.name: layer for layer in shaped.layers}
    return {
        "name": net.name,
        "layout": net.layout,
        "inputs": [{"name": i.name, "shape": batched(i.shape), "dtype": i.dtype} for i in net.inputs],
        "outputs": [str(ref) for ref in net.outputs],
        "output_shape": output_shape_json(shaped),
        "nodes": [node_json(node, layers.get(node.name)) for node in net.nodes],
        "loss": jsonable(net.loss) if net.loss else None,
        "optimizer": jsonable(net.optimizer) if net.optimizer else None,
        "metrics": [jsonable(m) for m in net.metrics],
        "train": jsonable(net.train),
        "execution": jsonable(net.execution),
        "hyperparameters": hpo_json(net.hpo, net.hpo_values),
        "params": shaped.params,
        "non_trainable": shaped.state,
        "macs": shaped.macs,
    }


def human_count(n: int | None) -> str:
    """61706 -> '61,706'; None -> '?'."""
    return "?" if n is None else f"{n:,}"


def human_macs(n: int | None) -> str:
    if n is None:
        return "?"
    for unit, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return str(n)


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{size:.1f} PiB"


def fmt_batched(shape: Shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in (None, *shape)) + ")"
