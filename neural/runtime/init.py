"""Weight initialization, as PyTorch initializes the equivalent modules.

| weights | rule |
|---|---|
| Dense / convolution `weight` (and `*.weight` of sub-layers) | U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = size(1) * kernel volume |
| their `bias` | U(-1/sqrt(fan_in), 1/sqrt(fan_in)) of the matching weight |
| normalization `weight` / `bias`, `norm*.weight` / `norm*.bias` | ones / zeros |
| `running_mean` / `running_var` | zeros / ones |
| Embedding `weight` | N(0, 1) |
| learned positional encoding `weight` | N(0, 0.02) |
| recurrent weights and biases | U(-1/sqrt(units), 1/sqrt(units)) |
| attention `q_proj` / `k_proj` / `v_proj` weights | Xavier uniform; their biases and `out_proj.bias` zero |
| PReLU slopes | the layer's `init` (0.25) |
| Attention `scale`, `concat_score_weight` | ones |
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from neural.layers.base import Weight
from neural.layers.registry import get_spec
from neural.shapes.engine import NodeShape

RECURRENT_KINDS = frozenset({"SimpleRNN", "LSTM", "GRU", "Bidirectional", "ConvLSTM2D"})
ATTENTION_PREFIXES = ("q_proj", "k_proj", "v_proj")


def fan_in(shape: tuple[int, ...]) -> int:
    """torch.nn.init's fan_in: size(1) times the receptive field (1 for a vector)."""
    if len(shape) < 2:
        return shape[0]
    return shape[1] * math.prod(shape[2:])


def _uniform(rng: np.random.Generator, shape: tuple[int, ...], bound: float) -> np.ndarray:
    return rng.uniform(-bound, bound, size=shape)


def _recurrent_units(layer: NodeShape) -> int:
    cfg = layer.node.config
    if layer.node.kind == "Bidirectional":
        return int(cfg.layer.config.units)
    units = cfg.get("units") or cfg.get("filters")
    assert units is not None, f"{layer.node.kind} has no units"
    return int(units)


def initial_value(layer: NodeShape, name: str, weight: Weight, rng: np.random.Generator) -> np.ndarray:
    """The starting value of one weight of a layer (float64; the model casts it)."""
    kind = layer.node.kind
    family = get_spec(kind).family
    prefix, _, leaf = name.rpartition(".")
    shape = weight.shape
    if leaf == "running_var":
        return np.ones(shape)
    if leaf == "running_mean":
        return np.zeros(shape)
    if family == "normalization" or prefix.startswith("norm"):
        return np.ones(shape) if leaf == "weight" else np.zeros(shape)
    if kind in RECURRENT_KINDS:
        return _uniform(rng, shape, 1.0 / math.sqrt(_recurrent_units(layer)))
    if kind == "Embedding":
        return rng.standard_normal(shape)
    if kind == "PositionalEncoding":
        return rng.normal(0.0, 0.02, size=shape)
    if kind == "PReLU" or name == "activation.weight":
        return np.full(shape, float(layer.node.config.get("init", 0.25)))
    if leaf in ("scale", "concat_score_weight"):
        return np.ones(shape)
    if prefix.split(".")[-1] in ATTENTION_PREFIXES:
        if leaf == "bias":
            return np.zeros(shape)
        return _uniform(rng, shape, math.sqrt(6.0 / (shape[0] + shape[1])))
    if prefix.endswith("out_proj") and leaf == "bias":
        return np.zeros(shape)
    if leaf == "bias":
        sibling = layer.weights.get(f"{prefix}.weight" if prefix else "weight")
        bound = 1.0 / math.sqrt(fan_in(sibling.shape)) if sibling is not None else 1.0 / math.sqrt(shape[0])
        return _uniform(rng, shape, bound)
    return _uniform(rng, shape, 1.0 / math.sqrt(fan_in(shape)))


def initialize(layer: NodeShape, rng: np.random.Generator, dtype: np.dtype | type) -> Mapping[str, np.ndarray]:
    """Every weight (and state buffer) of one layer, by local name."""
    return {name: initial_value(layer, name, w, rng).astype(dtype) for name, w in layer.weights.items()}
