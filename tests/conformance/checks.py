"""What the conformance suite checks of one network on one backend.

The model builds; its output shapes are the shape engine's; its trainable parameters (and state) are the
DSL's counts; its outputs agree with the NumPy runtime's for the same weights and input, and for trainable
backends one training step moves the weights the same way. The numbers are neural.compare.compare's own
(the code behind `neural compare`): the check watches the adapter compare() makes, to read the model it
built and the outputs it computed, and can compare parts of the output (the branches of a group of catalog
cases, tests/conformance/groups.py) each against its own scale.

The NumPy runtime, the reference, is checked for what can be checked of it: counts, shapes, finite outputs
that agree between float32 and float64, and a training step that moves the weights.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import numpy as np

import neural.compare
from neural.compare import NumpyReference, compare, deterministic_step, random_inputs, random_targets
from neural.errors import NeuralError
from neural.layers.base import Shape
from neural.runtime.gradcheck import max_relative_error
from neural.shapes.engine import ShapedNetwork

BACKENDS = ("numpy", "pytorch", "tensorflow", "jax", "onnx")
TRAINABLE = ("pytorch", "tensorflow", "jax")
TOLERANCE = 1e-4
OPEN = 6  # the size compare() gives to dimensions the program leaves open


@dataclass(frozen=True)
class Segment:
    """A part of a single flat output (per sample): one branch of a group, compared on its own scale."""

    name: str
    start: int
    size: int


@dataclass
class Findings:
    """What disagreed: about the whole network, and about named segments of its output."""

    problems: list[str] = field(default_factory=list)
    by_segment: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems and not any(self.by_segment.values())


@dataclass
class Watched:
    models: list[Any] = field(default_factory=list)
    forwards: list[tuple[list[np.ndarray], Mapping[str, np.ndarray], Mapping[str, np.ndarray]]] = field(
        default_factory=list
    )


@contextmanager
def watching() -> Iterator[Watched]:
    """Record what the adapters compare() makes build and compute (forward outputs, with their weights and
    inputs; the models built from canonical weights), leaving what they do unchanged."""
    seen = Watched()
    real = neural.compare.adapter_for

    def adapter_for(name: str, shaped: ShapedNetwork) -> Any:
        adapter = real(name, shaped)
        forward, build = adapter.forward, getattr(adapter, "model", None)

        def recorded_forward(weights: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
            outputs = forward(weights, inputs)
            seen.forwards.append((outputs, weights, inputs))
            return outputs

        def recorded_model(weights: Mapping[str, np.ndarray]) -> Any:
            model = build(weights)  # type: ignore[misc]
            seen.models.append(model)
            return model

        adapter.forward = recorded_forward
        if build is not None:
            adapter.model = recorded_model
        return adapter

    with mock.patch.object(neural.compare, "adapter_for", adapter_for):
        yield seen


def _size(value: Any) -> int:
    return int(np.prod(tuple(value.shape)))


def counts(backend: str, model: Any) -> tuple[int, int]:
    """(trainable parameters, state values) of a backend's model."""
    if backend == "pytorch":
        saved = model.state_dict()  # non-persistent buffers (a fixed sinusoid table) are not state
        buffers = [b for n, b in model.named_buffers() if n in saved and not n.endswith("num_batches_tracked")]
        return sum(p.numel() for p in model.parameters()), sum(b.numel() for b in buffers)
    if backend == "tensorflow":
        state = [v for v in model.non_trainable_variables if "seed_generator" not in v.path]
        return sum(_size(v) for v in model.trainable_variables), sum(_size(v) for v in state)
    if backend == "jax":
        from flax import nnx

        def total(kind: type) -> int:
            return sum(_size(v.get_value()) for _, v in nnx.to_flat_state(nnx.state(model, kind)))

        return total(nnx.Param), total(nnx.BatchStat)
    raise ValueError(f"no model counts for {backend}")


def expected_shapes(shaped: ShapedNetwork, concrete: Sequence[Shape] | None) -> list[tuple[int | None, ...]]:
    """The predicted output shapes; an open size (None) matches any size unless `concrete` gives them."""
    return [tuple(s) for s in (concrete if concrete is not None else shaped.output_shapes)]


def _shape_problem(got: Sequence[tuple[int, ...]], expected: Sequence[tuple[int | None, ...]]) -> str | None:
    fits = len(got) == len(expected) and all(
        len(g) == len(e) and all(d is None or d == n for n, d in zip(g, e)) for g, e in zip(got, expected)
    )
    return None if fits else f"output shapes {list(got)}, predicted {list(expected)}"


def _segment_problems(
    outputs: Sequence[np.ndarray], expected: Sequence[np.ndarray], segments: Sequence[Segment], tolerance: float
) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    ours, reference = outputs[0].reshape(outputs[0].shape[0], -1), expected[0].reshape(expected[0].shape[0], -1)
    for segment in segments:
        part = slice(segment.start, segment.start + segment.size)
        error = max_relative_error(ours[:, part], reference[:, part])
        found[segment.name] = [] if error <= tolerance else [f"outputs differ from the NumPy runtime's by {error:.3g}"]
    return found


def check(
    backend: str,
    shaped: ShapedNetwork,
    *,
    segments: Sequence[Segment] = (),
    concrete_shapes: Sequence[Shape] | None = None,
    tolerance: float = TOLERANCE,
) -> Findings:
    """Run `shaped` on `backend` against the NumPy runtime. A BackendError (a refusal) propagates."""
    if backend == "numpy":
        return check_numpy(shaped, concrete_shapes=concrete_shapes, tolerance=tolerance)
    findings = Findings()
    with watching() as seen:
        [result] = compare(shaped, [backend], tolerance=tolerance)
    outputs, weights, inputs = seen.forwards[0]
    problem = _shape_problem([tuple(o.shape[1:]) for o in outputs], expected_shapes(shaped, concrete_shapes))
    if problem:
        findings.problems.append(problem)
    if seen.models:
        params, state = counts(backend, seen.models[0])
        if (params, state) != (shaped.params, shaped.state):
            findings.problems.append(
                f"{params} trainable parameters and {state} state values, the DSL counts {shaped.params} and {shaped.state}"
            )
    elif backend != "onnx":
        findings.problems.append(f"the {backend} adapter built no model to count parameters of")
    if backend in TRAINABLE and _trainable(shaped) and result.step is None:
        findings.problems.append("no training step was compared")
    if result.step is not None and result.step > tolerance:
        findings.problems.append(
            f"after one training step the weights differ from the NumPy runtime's by {result.step:.3g}"
        )
    if segments and not problem:
        expected = NumpyReference(shaped, 0).forward(weights, inputs)
        findings.by_segment = _segment_problems(outputs, expected, segments, tolerance)
    elif result.forward > tolerance:
        findings.problems.append(f"outputs differ from the NumPy runtime's by {result.forward:.3g}")
    return findings


def _trainable(shaped: ShapedNetwork) -> bool:
    net = shaped.network
    return net.loss is not None and net.optimizer is not None and len(shaped.output_shapes) == 1 and shaped.params > 0


def check_numpy(
    shaped: ShapedNetwork, *, concrete_shapes: Sequence[Shape] | None = None, tolerance: float = TOLERANCE
) -> Findings:
    """The reference itself: counts and shapes, finite outputs equal in float32 and float64, a step that moves."""
    findings = Findings()
    reference = NumpyReference(shaped, 0)
    model = reference.model
    params = sum(p.data.size for p in model.parameters())
    state = sum(s.size for s in model.state.values())
    if (params, state) != (shaped.params, shaped.state):
        findings.problems.append(
            f"{params} parameters and {state} state values, the DSL counts {shaped.params} and {shaped.state}"
        )
    rng = np.random.default_rng(0)
    inputs = random_inputs(shaped, 2, rng)
    weights = reference.initial_weights()
    outputs = reference.forward(weights, inputs)
    problem = _shape_problem([tuple(o.shape[1:]) for o in outputs], expected_shapes(shaped, concrete_shapes))
    if problem:
        findings.problems.append(problem)
    if not all(np.isfinite(o).all() for o in outputs):
        findings.problems.append("outputs are not finite")
    wide = NumpyReference(shaped, 0, np.float64)
    outputs64 = wide.forward({k: v.astype(np.float64) for k, v in weights.items()}, inputs)
    error = max(max_relative_error(o, e) for o, e in zip(outputs, outputs64))
    if error > tolerance:
        findings.problems.append(f"float32 and float64 outputs differ by {error:.3g}")
    if _trainable(shaped):
        targets = random_targets(shaped, outputs[0], rng)
        stepped = reference.train_step(weights, inputs, targets, deterministic_step(shaped))
        if not all(np.isfinite(v).all() for v in stepped.values()):
            findings.problems.append("weights are not finite after a training step")
        elif all(np.array_equal(stepped[k], weights[k]) for k in model.params):
            findings.problems.append("a training step moved no weight")
    return findings


def refusal(error: NeuralError) -> list[NeuralError]:
    """The errors of a refusal: a BackendError (or several) positioned at a layer; empty if it is not one."""
    errors = list(getattr(error, "errors", None) or (error,))
    from neural.errors import BackendError

    if all(isinstance(e, BackendError) and e.span is not None for e in errors):
        return errors
    return []
