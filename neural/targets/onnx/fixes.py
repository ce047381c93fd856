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


ADAPTIVE_OPSET = 9


def _adaptive(pool: str) -> Any:
    """aten::adaptive_{avg,max}_pool{1,2,3}d as a global pooling, or a `pool` whose kernel and stride are
    input size // output size. torch's symbolic needs the input sizes from the exporter's shape
    inference, which loses them after some ops (a padding: "input size not accessible"); the sizes the
    tracer recorded are used then (the ONNX rules refuse adaptive pooling over sizes left open)."""

    def symbolic(g: Any, self: Any, output_size: Any) -> Any:
        if not _constant_list(output_size):
            raise RuntimeError("adaptive pooling needs a constant output size for ONNX export")
        outputs = [int(v) for v in symbolic_helper._maybe_get_const(output_size, "is")]
        if all(out == 1 for out in outputs):
            pooled = g.op(f"Global{pool}", self)
        else:
            sizes = _spatial_sizes(g, self, len(outputs))
            if sizes is None or any(size % out for size, out in zip(sizes, outputs)):
                raise RuntimeError(
                    f"adaptive pooling to {outputs} needs input sizes that the output sizes divide, got {sizes}"
                )
            kernel = [size // out for size, out in zip(sizes, outputs)]
            pooled = g.op(pool, self, kernel_shape_i=kernel, strides_i=kernel)
        return pooled if pool == "AveragePool" else (pooled, None)  # max pooling: (values, no indices)

    return symbolic


def _spatial_sizes(g: Any, value: Any, rank: int) -> list[int] | None:
    """The last `rank` sizes of `value`: the exporter's, or else the traced ones (None: unknown)."""
    for candidate in (value, g.original_node.inputsAt(0)):
        sizes = candidate.type().varyingSizes() if candidate.type().dim() is not None else None
        if sizes is not None and all(size is not None for size in sizes[-rank:]):
            return [int(size) for size in sizes[-rank:]]
    return None


def _constant_list(value: Any) -> bool:
    """Whether a list argument is known at export time (a constant, or a list of constants)."""
    if symbolic_helper._is_constant(value):
        return True
    node = value.node()
    return bool(node.kind() == "prim::ListConstruct" and all(symbolic_helper._is_constant(v) for v in node.inputs()))


def _ints(g: Any, values: list[int]) -> Any:
    return g.op("Constant", value_t=torch.tensor(values, dtype=torch.int64))


OVERRIDES: tuple[tuple[str, Any, int], ...] = (
    ("aten::movedim", _movedim, MOVEDIM_OPSET),
    ("aten::unflatten", _unflatten, UNFLATTEN_OPSET),
    *((f"aten::adaptive_avg_pool{n}d", _adaptive("AveragePool"), ADAPTIVE_OPSET) for n in (1, 2, 3)),
    *((f"aten::adaptive_max_pool{n}d", _adaptive("MaxPool"), ADAPTIVE_OPSET) for n in (1, 2, 3)),
)


@contextmanager
def _no_log(verbose: bool) -> Iterator[None]:
    yield


@contextmanager
def _quiet_exporter() -> Iterator[None]:
    """torch's `setup_onnx_logging` tests the function `_jit_is_onnx_log_enabled` instead of calling it, so every
    export turns the exporter's debug log on for good, and a failed export prints its whole TorchScript
    graph to stdout. The log stays off during our exports (errors are reported as BackendErrors)."""
    try:
        from torch.onnx._internal.torchscript_exporter import utils as exporter_utils
    except ImportError:  # another torch layout: nothing to patch
        yield
        return
    original = getattr(exporter_utils, "setup_onnx_logging", None)
    enabled = bool(torch._C._jit_is_onnx_log_enabled())
    if original is not None:
        exporter_utils.setup_onnx_logging = _no_log
    torch._C._jit_set_onnx_log_enabled(False)
    try:
        yield
    finally:
        if original is not None:
            exporter_utils.setup_onnx_logging = original
        torch._C._jit_set_onnx_log_enabled(enabled)


@contextmanager
def exporter_fixes() -> Iterator[None]:
    """Symbolic overrides and a quiet exporter for the duration of one export."""
    for name, symbolic, opset in OVERRIDES:
        torch.onnx.register_custom_op_symbolic(name, symbolic, opset)
    try:
        with _quiet_exporter():
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
        if node.op_type != "Conv":
            continue
        attrs = {a.name: a for a in node.attribute}
        mode = attrs["auto_pad"].s.decode() if "auto_pad" in attrs else "NOTSET"
        if mode not in ("SAME_UPPER", "SAME_LOWER"):
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
