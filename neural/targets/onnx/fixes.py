"""Work-arounds for defects of torch's TorchScript-based ONNX exporter and of onnxruntime.

Each fix is narrow, documented, and checked by the verification every export runs (onnxruntime
against PyTorch): a fix that did not hold would be an export error, not a wrong model.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import onnx
import torch
from torch.onnx import symbolic_helper

MOVEDIM_OPSET = 9  # the opset torch registers aten::movedim at; a custom one overrides it for every later opset


@symbolic_helper.parse_args("v", "t", "t")
def _movedim(g: Any, self: Any, source: torch.Tensor, destination: torch.Tensor) -> Any:
    """aten::movedim as one Transpose. torch's own symbolic writes a negative source axis into `perm`
    unchanged (`movedim(-1, 1)` on rank 4 gives perm [0, -1, 1, 2]), which ONNX forbids and which
    corrupts the exporter's own shape inference downstream (wrong channel counts for later ops)."""
    rank = self.type().dim()
    if rank is None:
        raise RuntimeError("movedim needs a tensor of known rank for ONNX export")
    sources = [int(s) % rank for s in source.view(-1).tolist()]
    destinations = [int(d) % rank for d in destination.view(-1).tolist()]
    perm: list[int | None] = [None] * rank
    for s, d in zip(sources, destinations):
        perm[d] = s
    rest = iter(axis for axis in range(rank) if axis not in sources)
    order = [p if p is not None else next(rest) for p in perm]
    if order == list(range(rank)):
        return self
    return g.op("Transpose", self, perm_i=order)


UNFLATTEN_OPSET = 13


@symbolic_helper.parse_args("v", "i", "v")
def _unflatten(g: Any, self: Any, dim: int, sizes: Any) -> Any:
    """aten::unflatten as Reshape(x, shape[:dim] ++ sizes ++ shape[dim+1:]) with `dim` resolved here. torch's
    own symbolic computes `dim` in the graph (Add, Mod), after which the exporter's shape inference keeps
    the traced sizes of the result: a later `x.shape[0]` of it became the constant traced batch size
    (TimeDistributed after TimeDistributed then ran only with the traced batch)."""
    rank = self.type().dim()
    if rank is None:
        raise RuntimeError("unflatten needs a tensor of known rank for ONNX export")
    dim = dim % rank
    shape = g.op("Shape", self)
    parts = []
    if dim > 0:
        parts.append(g.op("Slice", shape, _ints(g, [0]), _ints(g, [dim])))
    parts.append(sizes)
    if dim + 1 < rank:
        parts.append(g.op("Slice", shape, _ints(g, [dim + 1]), _ints(g, [rank])))
    return g.op("Reshape", self, g.op("Concat", *parts, axis_i=0))


def _ints(g: Any, values: list[int]) -> Any:
    return g.op("Constant", value_t=torch.tensor(values, dtype=torch.int64))


OVERRIDES = (("aten::movedim", _movedim, MOVEDIM_OPSET), ("aten::unflatten", _unflatten, UNFLATTEN_OPSET))


@contextmanager
def exporter_fixes() -> Iterator[None]:
    """Symbolic overrides in force for the duration of one export."""
    for name, symbolic, opset in OVERRIDES:
        torch.onnx.register_custom_op_symbolic(name, symbolic, opset)
    try:
        yield
    finally:
        for name, _, opset in OVERRIDES:
            torch.onnx.unregister_custom_op_symbolic(name, opset)


def explicit_same_padding(proto: onnx.ModelProto) -> None:
    """Conv nodes with `auto_pad=SAME_UPPER/SAME_LOWER` (torch's `padding="same"`, stride 1) get explicit
    pads: onnxruntime rejects dilated convolutions with automatic padding. With stride 1 the total
    padding of an axis is `dilation * (kernel - 1)` whatever the input size, so open sizes stay open."""
    initializers = {init.name: init for init in proto.graph.initializer}
    for node in proto.graph.node:
        if node.op_type not in ("Conv", "ConvTranspose"):
            continue
        attrs = {a.name: a for a in node.attribute}
        mode = attrs["auto_pad"].s.decode() if "auto_pad" in attrs else "NOTSET"
        if mode not in ("SAME_UPPER", "SAME_LOWER") or node.op_type != "Conv":
            continue
        if "kernel_shape" in attrs:
            kernel = list(attrs["kernel_shape"].ints)
        elif len(node.input) > 1 and node.input[1] in initializers:
            kernel = list(initializers[node.input[1]].dims[2:])
        else:
            continue  # left to onnxruntime; verification reports it if it cannot run
        strides = list(attrs["strides"].ints) if "strides" in attrs else [1] * len(kernel)
        if any(s != 1 for s in strides):
            continue
        dilations = list(attrs["dilations"].ints) if "dilations" in attrs else [1] * len(kernel)
        totals = [d * (k - 1) for k, d in zip(kernel, dilations)]
        small = [t // 2 for t in totals]
        large = [t - t // 2 for t in totals]
        pads = small + large if mode == "SAME_UPPER" else large + small
        node.attribute.remove(attrs["auto_pad"])
        if "pads" in attrs:
            node.attribute.remove(attrs["pads"])
        node.attribute.append(onnx.helper.make_attribute("pads", pads))
