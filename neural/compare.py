"""`neural compare`: the same weights and inputs through several backends, against the NumPy runtime.

Weights are initialized once (by the NumPy runtime) and loaded into every backend under their
canonical names. Each backend runs the same random input in evaluation mode, then one training
step on the same batch; the report gives the largest difference of outputs and of the updated
weights, relative to the largest magnitude of the reference.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from neural.errors import NeuralError
from neural.layers.nested import NestedLayer
from neural.layers.registry import get_spec
from neural.runtime.gradcheck import max_relative_error
from neural.runtime.model import Model
from neural.runtime.tensor import Tensor, no_grad
from neural.shapes.engine import ShapedNetwork
from neural.training.losses import build_loss
from neural.training.optimizers import build_optimizer

STOCHASTIC_FAMILIES = frozenset({"regularization"})
ADAPTERS = {
    "pytorch": "neural.targets.pytorch.adapter",
    "jax": "neural.targets.jax.adapter",
    "tensorflow": "neural.targets.tensorflow.adapter",
    "onnx": "neural.targets.onnx.adapter",
}


class Adapter(Protocol):
    name: str

    def forward(self, weights: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]: ...

    def train_step(
        self, weights: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray], targets: np.ndarray, training: bool
    ) -> dict[str, np.ndarray]: ...


@dataclass
class Comparison:
    backend: str
    forward: float
    step: float | None
    tolerance: float
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.forward <= self.tolerance and (self.step is None or self.step <= self.tolerance)


def random_inputs(
    shaped: ShapedNetwork, batch: int, rng: np.random.Generator, unknown: int = 6
) -> dict[str, np.ndarray]:
    """Random inputs for every network input (token ids below the reading Embedding's vocabulary)."""
    found: dict[str, np.ndarray] = {}
    vocab = _vocabularies(shaped)
    for spec in shaped.network.inputs:
        shape = (batch, *(d if d is not None else unknown for d in spec.shape))
        if spec.dtype == "int64":
            found[spec.name] = rng.integers(0, vocab.get(spec.name, 10), size=shape)
        else:
            found[spec.name] = rng.standard_normal(shape).astype(np.float32)
    return found


def _vocabularies(shaped: ShapedNetwork) -> dict[str, int]:
    found: dict[str, int] = {}
    for layer in shaped.layers:
        if layer.node.kind == "Embedding":
            for ref in layer.node.inputs:
                found[ref.node] = min(found.get(ref.node, 10**9), int(layer.node.config.input_dim))
    return found


def random_targets(shaped: ShapedNetwork, outputs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Targets that fit the loss: class ids for sparse cross-entropy, one-hot or 0/1 or values otherwise."""
    loss = shaped.network.loss.name if shaped.network.loss else "mean_squared_error"
    if loss == "sparse_categorical_crossentropy":
        return rng.integers(0, outputs.shape[-1], size=outputs.shape[:-1])
    if loss == "categorical_crossentropy":
        return np.eye(outputs.shape[-1], dtype=np.float32)[rng.integers(0, outputs.shape[-1], size=outputs.shape[:-1])]
    if loss == "binary_crossentropy":
        return rng.integers(0, 2, size=outputs.shape).astype(np.float32)
    return rng.standard_normal(outputs.shape).astype(np.float32)


def deterministic_step(shaped: ShapedNetwork) -> bool:
    """Train-mode steps are compared only without random layers (dropout masks differ by backend)."""
    return not any(_random_layer(layer.node.kind, layer.node.config) for layer in shaped.layers)


def _random_layer(kind: str, cfg: Any) -> bool:
    """A random layer, or one with dropout, or one wrapping such a layer (TimeDistributed(Dropout(0.5)))."""
    if get_spec(kind).family in STOCHASTIC_FAMILIES or float(cfg.get("dropout", 0) or 0) > 0:
        return True
    inner = cfg.get("layer")
    return isinstance(inner, NestedLayer) and _random_layer(inner.kind, inner.config)


class NumpyReference:
    name = "numpy"

    def __init__(self, shaped: ShapedNetwork, seed: int, dtype: Any = np.float32) -> None:
        self.shaped = shaped
        self.model = Model(shaped, seed=seed, dtype=dtype)

    def initial_weights(self) -> dict[str, np.ndarray]:
        return self.model.state_dict()

    def forward(self, weights: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        self.model.load_state_dict(weights)
        with no_grad():
            out = self.model(dict(inputs), training=False)
        return [o.data for o in (out if isinstance(out, tuple) else (out,))]

    def train_step(
        self, weights: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray], targets: np.ndarray, training: bool
    ) -> dict[str, np.ndarray]:
        net = self.shaped.network
        assert net.loss is not None and net.optimizer is not None
        self.model.load_state_dict(weights)
        self.model.zero_grad()
        pred = self.model(dict(inputs), training=training)
        assert isinstance(pred, Tensor)
        build_loss(net.loss)(pred, targets).backward()
        build_optimizer(net.optimizer, self.model.params).step()
        return self.model.state_dict()


def adapter_for(name: str, shaped: ShapedNetwork) -> Adapter:
    module_name = ADAPTERS.get(name)
    if module_name is None:
        raise NeuralError(f"unknown backend `{name}` for compare; known: numpy, {', '.join(ADAPTERS)}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise NeuralError(f"the {name} backend is not available here: {exc}") from None
    adapter: Adapter = module.Adapter(shaped)
    return adapter


def step_error(stepped: Mapping[str, np.ndarray], expected: Mapping[str, np.ndarray]) -> float:
    """The largest difference of the updated weights, each tensor relative to its own largest magnitude but
    never to less than 1e-2 of the model's largest: a tensor that stays at zero (a key projection's bias
    gets no gradient) holds only rounding noise, which must not count as a relative error of order 1."""
    floor = 1e-2 * max((float(np.max(np.abs(v))) for v in expected.values() if v.size), default=0.0)
    worst = 0.0
    for name, reference in expected.items():
        ours = np.asarray(stepped[name], dtype=np.float64)
        if ours.shape != reference.shape:
            raise AssertionError(f"{name}: shapes differ: {ours.shape} vs {reference.shape}")
        if reference.size:
            scale = max(float(np.max(np.abs(reference))), floor, 1e-12)
            worst = max(worst, float(np.max(np.abs(ours - reference))) / scale)
    return worst


def compare(
    shaped: ShapedNetwork, backends: Sequence[str], *, tolerance: float = 1e-4, seed: int = 0, batch: int = 2
) -> list[Comparison]:
    rng = np.random.default_rng(seed)
    reference = NumpyReference(shaped, seed)
    weights = reference.initial_weights()
    inputs = random_inputs(shaped, batch, rng)
    expected = reference.forward(weights, inputs)
    trainable = (
        shaped.network.loss is not None
        and shaped.network.optimizer is not None
        and len(expected) == 1
        and shaped.params > 0
    )
    training = deterministic_step(shaped)
    targets = random_targets(shaped, expected[0], rng) if trainable else None
    # Steps of deep networks amplify float32 rounding (batch norm over a tiny batch, Adam's first step is
    # about sign(gradient)); backends that run in float64 are compared with a float64 step.
    weights64 = {k: v.astype(np.float64) for k, v in weights.items()}
    inputs64 = {k: v.astype(np.float64) if v.dtype.kind == "f" else v for k, v in inputs.items()}
    references: dict[bool, dict[str, np.ndarray]] = {}

    def expected_step(float64: bool) -> dict[str, np.ndarray]:
        assert targets is not None
        if float64 not in references:
            ref = NumpyReference(shaped, seed, np.float64) if float64 else reference
            references[float64] = ref.train_step(
                weights64 if float64 else weights, inputs64 if float64 else inputs, targets, training
            )
        return references[float64]

    results = []
    for name in backends:
        if name == "numpy":
            continue
        adapter = adapter_for(name, shaped)
        outputs = adapter.forward(weights, inputs)
        forward = max(max_relative_error(o, e) for o, e in zip(outputs, expected))
        step = None
        note = "" if training else "step compared in evaluation mode (the network has random layers)"
        if getattr(adapter, "inference_only", False):
            note = "inference backend: no training step"
        elif targets is not None:
            float64 = bool(getattr(adapter, "supports_float64", False))
            stepped = adapter.train_step(
                weights64 if float64 else weights, inputs64 if float64 else inputs, targets, training
            )
            step = step_error(stepped, expected_step(float64))
        elif not trainable:
            note = "no training step (no loss, optimizer or parameters, or several outputs)"
        results.append(Comparison(name, forward, step, tolerance, note))
    return results


def parse_backends(text: str, known: Sequence[str] = ("numpy", "pytorch", "jax", "tensorflow", "onnx")) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if names == ["all"]:
        return list(known)
    return names


def report_rows(results: Sequence[Comparison]) -> list[dict[str, Any]]:
    return [{"backend": r.backend, "forward": r.forward, "step": r.step, "ok": r.ok, "note": r.note} for r in results]
