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
    """aten::adaptive_{avg,max}_pool{1,2,3}d: a global pooling, a `pool` with kernel = stride = input size //
    output size where the sizes divide, else per axis one reduction per output cell over torch's window
    [floor(i * n / m), ceil((i + 1) * n / m)) (both poolings are separable over axes). torch's symbolic
    knows only the dividing case, and only with sizes from the exporter's shape inference, which loses
    them after some ops (a padding: "input size not accessible"); the sizes the tracer recorded are
    used then (the ONNX rules refuse adaptive pooling over sizes left open)."""

    def symbolic(g: Any, self: Any, output_size: Any) -> Any:
        given = _int_list(output_size)
        if all(out == 1 for out in given):
            return _pooled(pool, g.op(f"Global{pool}", self))
        sizes = _spatial_sizes(g, self, len(given))
        if sizes is None:
            raise RuntimeError(f"adaptive pooling to {given} needs the input sizes")
        # an output size None keeps the input size (the module reads it from the input)
        outputs = [out if out is not None else size for out, size in zip(given, sizes)]
        if not any(size % out for size, out in zip(sizes, outputs)):
            kernel = [size // out for size, out in zip(sizes, outputs)]
            return _pooled(pool, g.op(pool, self, kernel_shape_i=kernel, strides_i=kernel))
        pooled = self
        reduce = "ReduceMean" if pool == "AveragePool" else "ReduceMax"
        for axis, (size, out) in enumerate(zip(sizes, outputs), start=self.type().dim() - len(sizes)):
            if size != out:
                pooled = _adaptive_axis(g, pooled, axis, size, out, reduce)
        return _pooled(pool, pooled)

    return symbolic


def _pooled(pool: str, value: Any) -> Any:
    return value if pool == "AveragePool" else (value, None)  # max pooling: (values, no indices)


def _adaptive_axis(g: Any, x: Any, axis: int, size: int, out: int, reduce: str) -> Any:
    cells = []
    for i in range(out):
        start, end = i * size // out, -(-(i + 1) * size // out)
        window = g.op("Slice", x, _ints(g, [start]), _ints(g, [end]), _ints(g, [axis]))
        if g.opset >= 18:  # the axes of a reduction became an input in opset 18
            cells.append(g.op(reduce, window, _ints(g, [axis]), keepdims_i=1))
        else:
            cells.append(g.op(reduce, window, axes_i=[axis], keepdims_i=1))
    return g.op("Concat", *cells, axis_i=axis)


def _spatial_sizes(g: Any, value: Any, rank: int) -> list[int] | None:
    """The last `rank` sizes of `value`: the exporter's, or else the traced ones (None: unknown)."""
    for candidate in (value, g.original_node.inputsAt(0)):
        sizes = candidate.type().varyingSizes() if candidate.type().dim() is not None else None
        if sizes is not None and all(size is not None for size in sizes[-rank:]):
            return [int(size) for size in sizes[-rank:]]
    return None


def _int_list(value: Any) -> list[int | None]:
    """A list-of-ints argument: a constant, or a list whose items are constants (None for an item computed
    in the graph, e.g. a size read from a tensor)."""
    if symbolic_helper._is_constant(value):
        return [int(v) for v in symbolic_helper._maybe_get_const(value, "is")]
    node = value.node()
    if node.kind() != "prim::ListConstruct":
        raise RuntimeError("adaptive pooling needs its output size at export time")
    return [
        int(symbolic_helper._maybe_get_const(v, "i")) if symbolic_helper._is_constant(v) else None
        for v in node.inputs()
    ]


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
