"""Analysed network -> verified ONNX model, through the PyTorch backend's exporter.

The steps: generate and import the PyTorch module (neural/targets/pytorch/load.py), load canonical
weights (fresh ones from the NumPy runtime's initialization, so that every backend starts equal,
or a trained run's), export with torch's TorchScript-based exporter (`dynamo=False`: the dynamo
exporter needs onnxscript, which is not a dependency), with the network's input names, named
outputs and a dynamic batch axis (and dynamic axes wherever the .neural file leaves a size open),
then check the model with `onnx.checker` (full shape inference) and run it in onnxruntime on
random inputs of other batch sizes than the traced one, against the PyTorch model.

Anything that goes wrong on the way (an operator the exporter cannot write, a model the checker
rejects, outputs that disagree) is a `BackendError` naming the first layer at fault and its
position: the network is cut after each layer (every value nobody reads yet becomes an output)
and the shortest failing prefix is found by bisection. A model is never written unverified
unless verification is turned off explicitly.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

from neural import __version__
from neural.compare import random_inputs
from neural.errors import BackendError, NeuralError, NeuralErrors, raise_collected
from neural.ir import TensorRef
from neural.layers.base import LayerContext
from neural.runtime.gradcheck import max_relative_error
from neural.shapes.engine import ShapedNetwork, infer
from neural.targets.onnx.fixes import explicit_same_padding, exporter_fixes
from neural.targets.onnx.support import onnx_problem
from neural.targets.pytorch.adapter import load_canonical
from neural.targets.pytorch.emit import support_status
from neural.targets.pytorch.load import import_network

OPSET = 17
MIN_OPSET = 17
MAX_OPSET = 20  # the highest opset torch's TorchScript-based exporter writes
TOLERANCE = 1e-5
TRACE_BATCH = 2
TRACE_UNKNOWN = 6  # size given to dimensions the .neural file leaves open, when tracing
VERIFY_SIZES = ((1, 5), (3, 7))  # (batch, open dimensions) of the verification runs: not the traced sizes
BATCH_AXIS = "batch"
PROTOBUF_LIMIT = 2**31 - 2**24  # a model file is one protobuf message (2 GiB at most), with room for the graph


@dataclass(frozen=True)
class ExportedModel:
    """A checked (and, unless turned off, verified) ONNX model of one network.

    `difference`: the largest difference between onnxruntime's and PyTorch's outputs over the
    verification runs, relative to the largest magnitude of PyTorch's outputs (None: not verified).
    """

    proto: onnx.ModelProto
    data: bytes = field(repr=False)
    network: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    opset: int
    difference: float | None
    weights: str

    def to_bytes(self) -> bytes:
        """The serialized model (as checked and verified)."""
        return self.data

    def save(self, path: str | Path) -> None:
        from neural.training.checkpoint import atomic_write_bytes

        atomic_write_bytes(Path(path), self.to_bytes())

    def describe(self) -> str:
        """One line for the CLI: network, opset, inputs and outputs with their ONNX shapes."""
        inputs = ", ".join(f"{v.name}{_dims(v)}" for v in self.proto.graph.input)
        outputs = ", ".join(f"{v.name}{_dims(v)}" for v in self.proto.graph.output)
        return f"{self.network}, opset {self.opset}, inputs {inputs}, outputs {outputs}"


def _dims(value: onnx.ValueInfoProto) -> str:
    dims = value.type.tensor_type.shape.dim
    return "[" + ", ".join(d.dim_param or str(d.dim_value) for d in dims) + "]"


# --- names and axes ---
def output_names(shaped: ShapedNetwork) -> tuple[str, ...]:
    """The names of the network's outputs: those of the `outputs:` entry, else `output` (one output) or
    `output_0`, `output_1`, ... ; never an input's name."""
    net = shaped.network
    count = len(net.outputs)
    if net.output_names and len(net.output_names) == count:
        names = list(net.output_names)
    else:
        names = ["output"] if count == 1 else [f"output_{i}" for i in range(count)]
    taken = {spec.name for spec in net.inputs}
    unique: list[str] = []
    for name in names:
        candidate = name
        while candidate in taken:
            candidate = f"{candidate}_out"
        taken.add(candidate)
        unique.append(candidate)
    return tuple(unique)


def dynamic_axes(shaped: ShapedNetwork, outputs: Sequence[str]) -> dict[str, dict[int, str]]:
    """The batch axis of every input and output, and each axis the .neural file leaves open."""
    axes: dict[str, dict[int, str]] = {}
    for spec in shaped.network.inputs:
        axes[spec.name] = {
            0: BATCH_AXIS,
            **{i + 1: f"{spec.name}_{i + 1}" for i, d in enumerate(spec.shape) if d is None},
        }
    for name, shape in zip(outputs, shaped.output_shapes):
        axes[name] = {0: BATCH_AXIS, **{i + 1: f"{name}_{i + 1}" for i, d in enumerate(shape) if d is None}}
    return axes


# --- weights and the PyTorch model ---
def fresh_weights(shaped: ShapedNetwork, seed: int = 0) -> dict[str, np.ndarray]:
    """The NumPy runtime's initialization (canonical names): every backend starts from these."""
    from neural.runtime.model import Model

    return Model(shaped, seed=seed).state_dict()


def torch_model(shaped: ShapedNetwork, weights: Mapping[str, np.ndarray]) -> torch.nn.Module:
    """The generated PyTorch model of `shaped` with `weights` loaded, in evaluation mode."""
    module: Any = import_network(shaped)
    model: torch.nn.Module = module.build_model()
    try:
        load_canonical(model, weights)
    except RuntimeError as exc:  # a tensor of the wrong shape
        raise BackendError(f"the weights do not fit network {shaped.network.name}: {_first_line(exc)}") from None
    return model.eval()


def example_inputs(shaped: ShapedNetwork, batch: int, unknown: int, seed: int) -> dict[str, np.ndarray]:
    """Random inputs (token ids within the vocabulary of the Embedding that reads them)."""
    return random_inputs(shaped, batch, np.random.default_rng(seed), unknown=unknown)


def _as_tensors(shaped: ShapedNetwork, inputs: Mapping[str, np.ndarray]) -> tuple[torch.Tensor, ...]:
    return tuple(torch.as_tensor(np.asarray(inputs[spec.name])) for spec in shaped.network.inputs)


def torch_outputs(model: torch.nn.Module, shaped: ShapedNetwork, inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    with torch.no_grad():
        out = model(*_as_tensors(shaped, inputs))
    return [o.numpy() for o in (out if isinstance(out, tuple) else (out,))]


# --- the export ---
def check_exportable(shaped: ShapedNetwork) -> None:
    """Positioned errors for every layer the export cannot express (all of them, before any work)."""
    errors: list[NeuralError] = []
    ctx = LayerContext(shaped.network.layout)
    for layer in shaped.layers:
        node = layer.node
        supported, reason = support_status(node.kind)
        if not supported:
            errors.append(
                BackendError(
                    f"cannot export layer `{node.name}` ({node.kind}) to ONNX: the PyTorch backend, through which "
                    f"ONNX is exported, cannot generate it: {reason}",
                    node.span,
                )
            )
            continue
        problem = onnx_problem(node.kind, node.config, layer.input_shapes, ctx)
        if problem:
            errors.append(
                BackendError(f"cannot export layer `{node.name}` ({node.kind}) to ONNX: {problem}", node.span)
            )
    raise_collected(errors)


def export_network(
    shaped: ShapedNetwork,
    weights: Mapping[str, np.ndarray] | None = None,
    *,
    opset: int = OPSET,
    verify: bool = True,
    tolerance: float = TOLERANCE,
    seed: int = 0,
    weights_source: str | None = None,
) -> ExportedModel:
    """Export `shaped` with `weights` (default: fresh ones from `seed`), check it, and (with `verify`)
    compare onnxruntime with PyTorch on random inputs; raise a positioned `BackendError` on failure."""
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise NeuralError(f"ONNX opset {opset} is not available: choose {MIN_OPSET} to {MAX_OPSET}")
    check_exportable(shaped)
    if 4 * (shaped.params + shaped.state) > PROTOBUF_LIMIT:
        raise NeuralError(
            f"network {shaped.network.name} has {shaped.params + shaped.state:,} weights: more than one ONNX file holds "
            "(2 GiB); models with external weight files are not exported yet"
        )
    if weights is None:
        weights = fresh_weights(shaped, seed)
        weights_source = weights_source or f"fresh (NumPy runtime initialization, seed {seed})"
    source = weights_source or "given"

    def attempt(
        part: ShapedNetwork, part_weights: Mapping[str, np.ndarray]
    ) -> tuple[onnx.ModelProto, bytes, float | None]:
        model = torch_model(part, part_weights)
        proto = _export(model, part, opset, seed)
        _describe(proto, part, source)
        data = proto.SerializeToString()  # once: the checker, onnxruntime and the file read these bytes
        _check(data)
        difference = _verify(data, model, part, tolerance, seed) if verify else None
        return proto, data, difference

    try:
        proto, data, difference = attempt(shaped, weights)
    except _Failure as failure:
        raise _localized(shaped, weights, attempt, failure) from None
    return ExportedModel(
        proto=proto,
        data=data,
        network=shaped.network.name,
        inputs=tuple(spec.name for spec in shaped.network.inputs),
        outputs=output_names(shaped),
        opset=opset,
        difference=difference,
        weights=source,
    )


class _Failure(Exception):
    """One step of the export failed (the message says which and why)."""


def _first_line(exc: BaseException) -> str:
    """The first line of an error, without the exporter's pointers to its graph and issue tracker."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    for tail in (" [Caused by", " Please feel free to request support"):
        line = line.split(tail)[0]
    return line.strip()


def _export(model: torch.nn.Module, shaped: ShapedNetwork, opset: int, seed: int) -> onnx.ModelProto:
    outputs = output_names(shaped)
    inputs = [spec.name for spec in shaped.network.inputs]
    args = _as_tensors(shaped, example_inputs(shaped, TRACE_BATCH, TRACE_UNKNOWN, seed))
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings():
            # the TorchScript-based exporter announces its deprecation; tracer warnings about sizes
            # turned into constants are caught by verifying at other sizes than the traced ones
            warnings.simplefilter("ignore")
            with exporter_fixes():
                torch.onnx.export(
                    model,
                    args,
                    buffer,  # type: ignore[arg-type]  # torch accepts a file object
                    dynamo=False,
                    opset_version=opset,
                    input_names=inputs,
                    output_names=list(outputs),
                    dynamic_axes=dynamic_axes(shaped, outputs),  # type: ignore[arg-type]
                    do_constant_folding=True,
                    training=torch.onnx.TrainingMode.EVAL,
                )
    except Exception as exc:
        raise _Failure(f"the exporter failed: {_first_line(exc)}") from exc
    proto = onnx.load_from_string(buffer.getvalue())
    explicit_same_padding(proto)
    return proto


def _check(data: bytes) -> None:
    try:
        onnx.checker.check_model(data, full_check=True)
    except Exception as exc:
        raise _Failure(f"onnx.checker rejects the model: {_first_line(exc)}") from exc


def _verify(data: bytes, model: torch.nn.Module, shaped: ShapedNetwork, tolerance: float, seed: int) -> float:
    """The largest relative difference between onnxruntime and PyTorch over the verification runs."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4  # failures are reported as errors of the export
    try:
        session = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise _Failure(f"onnxruntime cannot load the model: {_first_line(exc)}") from exc
    worst = 0.0
    for run, (batch, unknown) in enumerate(VERIFY_SIZES):
        inputs = example_inputs(shaped, batch, unknown, seed + 1 + run)
        expected = torch_outputs(model, shaped, inputs)
        open_dims = _has_open_dims(shaped)
        what = f"batch {batch}" + (f", open dimensions {unknown}" if open_dims else "")
        what += f" (traced with batch {TRACE_BATCH}" + (f", open dimensions {TRACE_UNKNOWN})" if open_dims else ")")
        try:
            got = session.run(None, {name: np.asarray(value) for name, value in inputs.items()})
        except Exception as exc:
            raise _Failure(f"onnxruntime fails on inputs of {what}: {_first_line(exc)}") from exc
        for name, ours, reference in zip(output_names(shaped), got, expected):
            if np.shape(ours) != reference.shape:
                raise _Failure(
                    f"onnxruntime gives output `{name}` the shape {np.shape(ours)} for {what}, PyTorch {reference.shape}"
                )
            difference = max_relative_error(ours, reference)
            if not difference <= tolerance:
                raise _Failure(
                    f"onnxruntime's output `{name}` differs from PyTorch's by {difference:.2e} (relative) for {what}; "
                    f"tolerance {tolerance:.0e}"
                )
            worst = max(worst, difference)
    return worst


def _has_open_dims(shaped: ShapedNetwork) -> bool:
    return any(d is None for spec in shaped.network.inputs for d in spec.shape)


def _describe(proto: onnx.ModelProto, shaped: ShapedNetwork, weights: str) -> None:
    """Producer, graph name and metadata: what a reader of the file needs to feed it."""
    net = shaped.network
    proto.producer_name = "neural"
    proto.producer_version = __version__
    proto.graph.name = net.name
    proto.doc_string = f"Network {net.name} exported by Neural {__version__} through its PyTorch backend."
    inputs = "; ".join(
        f"{spec.name}: {spec.dtype} (batch, {', '.join(str(d) for d in spec.shape)})" for spec in net.inputs
    )
    metadata = {
        "neural.network": net.name,
        "neural.layout": net.layout,
        "neural.inputs": inputs,
        "neural.weights": weights,
        "neural.trainable_parameters": str(shaped.params),
    }
    del proto.metadata_props[:]
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value


# --- finding the layer at fault ---
Attempt = Callable[[ShapedNetwork, Mapping[str, np.ndarray]], Any]


def prefix_network(shaped: ShapedNetwork, count: int) -> ShapedNetwork:
    """The network cut after its first `count` layers: every value no kept layer reads is an output."""
    net = shaped.network
    nodes = net.nodes[:count]
    read = {ref for node in nodes for ref in node.inputs}
    outputs: list[TensorRef] = []
    for layer in shaped.layers[:count]:
        for index in range(len(layer.output_shapes)):
            ref = TensorRef(layer.node.name, index)
            if ref not in read or ref in net.outputs:
                outputs.append(ref)
    cut = replace(net, nodes=nodes, outputs=tuple(outputs), output_names=())
    return infer(cut)


def _prefix_weights(weights: Mapping[str, np.ndarray], part: ShapedNetwork) -> dict[str, np.ndarray]:
    kept = {layer.node.name for layer in part.layers}
    return {name: value for name, value in weights.items() if name.split(".", 1)[0] in kept}


def _localized(
    shaped: ShapedNetwork, weights: Mapping[str, np.ndarray], attempt: Attempt, failure: _Failure
) -> BackendError:
    """The error for `failure`, positioned at the first layer whose prefix network fails (bisection)."""
    layers = shaped.layers
    low, high = 0, len(layers)  # the prefix of `high` layers fails; that of `low` is known to pass
    message = str(failure)
    while high - low > 1:
        middle = (low + high) // 2
        try:
            part = prefix_network(shaped, middle)
            attempt(part, _prefix_weights(weights, part))
        except _Failure as smaller:
            high, message = middle, str(smaller)
        except (NeuralError, NeuralErrors):
            return BackendError(f"cannot export network {shaped.network.name} to ONNX: {failure}")
        else:
            low = middle
    if not layers:
        return BackendError(f"cannot export network {shaped.network.name} to ONNX: {failure}")
    node = layers[high - 1].node
    return BackendError(
        f"cannot export layer `{node.name}` ({node.kind}) to ONNX: {message}",
        node.span,
        notes=(f"the network up to the layer before `{node.name}` exports correctly",) if high > 1 else (),
    )


# --- from files and runs (what `neural export` calls) ---
def weight_shapes(shaped: ShapedNetwork) -> dict[str, tuple[int, ...]]:
    """Canonical weight names and shapes of a network."""
    return {f"{layer.node.name}.{name}": tuple(w.shape) for layer in shaped.layers for name, w in layer.weights.items()}


def export_file(
    path: str | None,
    *,
    network: str | None = None,
    run: str | Path | None = None,
    opset: int = OPSET,
    seed: int = 0,
    verify: bool = True,
) -> ExportedModel:
    """Export a network of the .neural file at `path` with fresh weights, or the network of training run
    `run` with its trained weights (`path`, when given, must define that same network)."""
    from neural.api import analyse, load

    if run is None:
        if path is None:
            raise NeuralError("give a .neural file to export, or a training run with --run")
        return export_network(analyse(load(path).network(network)), opset=opset, seed=seed, verify=verify)
    from neural.training.session import open_run

    loaded = open_run(run)
    shaped = loaded.shaped
    if network is not None and network != shaped.network.name:
        raise NeuralError(f"run {run} trained network {shaped.network.name}, not {network}")
    if path is not None:
        program = load(path)
        names = [net.name for net in program.networks]
        wanted = network or (shaped.network.name if shaped.network.name in names else None)
        ours = analyse(program.network(wanted))
        if weight_shapes(ours) != weight_shapes(shaped) or ours.network.name != shaped.network.name:
            raise NeuralError(
                f"network {ours.network.name} of {path} is not the network run {run} trained ({shaped.network.name}): "
                "its layers or weights differ",
                hint="export the run alone (`neural export --run RUN_DIR -o model.onnx`) to use the network it saved",
            )
    return export_network(
        shaped, loaded.weights, opset=opset, seed=seed, verify=verify, weights_source=f"training run {Path(run).name}"
    )
