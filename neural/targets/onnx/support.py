"""Which layers the ONNX export cannot express, beyond what the PyTorch backend cannot generate.

The export goes through the PyTorch backend, so every kind it generates is a candidate. The layer
kinds and argument variants that torch's exporter or onnxruntime cannot handle are declared here
with a reason, so that exporting a network that uses one is a positioned error before any work.
Failures this table does not foresee are still positioned errors (export.py finds the layer by
exporting the network cut after each layer), never a silently different model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from neural.layers.base import LayerContext, Shape
from neural.layers.nested import NestedLayer


@dataclass(frozen=True)
class LayerUse:
    """A layer (or the layer a wrapper holds) with the shapes it receives."""

    kind: str
    config: Mapping[str, Any]
    input_shapes: tuple[Shape, ...]
    ctx: LayerContext

    @property
    def spatial(self) -> Shape:
        """The spatial sizes of the first input (a feature map in the network's layout)."""
        spatial, _ = self.ctx.split(self.input_shapes[0])
        return spatial


Rule = Callable[[LayerUse], str | None]
_RULES: dict[str, list[Rule]] = {}


def rule(*kinds: str) -> Callable[[Rule], Rule]:
    """Register `fn(use) -> reason or None` for layer kinds."""

    def register(fn: Rule) -> Rule:
        for kind in kinds:
            _RULES.setdefault(kind, []).append(fn)
        return fn

    return register


def onnx_problem(kind: str, config: Mapping[str, Any], input_shapes: Sequence[Shape], ctx: LayerContext) -> str | None:
    """Why a layer of `kind` with `config` on `input_shapes` cannot be exported to ONNX, or None."""
    use = LayerUse(kind, config, tuple(input_shapes), ctx)
    for check in _RULES.get(kind, ()):
        reason = check(use)
        if reason:
            return reason
    inner = config.get("layer")
    if isinstance(inner, NestedLayer):
        shapes = tuple(s[1:] for s in input_shapes) if kind == "TimeDistributed" else tuple(input_shapes)
        reason = onnx_problem(inner.kind, inner.config, shapes, ctx)
        if reason:
            return f"its {inner.kind}: {reason}"
    return None


CONV_KINDS = [f"{k}{n}D" for k in ("Conv", "SeparableConv", "DepthwiseConv") for n in (1, 2, 3)]
POOL_KINDS = [f"{k}Pooling{n}D" for k in ("Max", "Average") for n in (1, 2, 3)]
TRANSPOSED_KINDS = [f"Conv{n}DTranspose" for n in (1, 2, 3)]
ADAPTIVE_KINDS = [f"Adaptive{k}Pooling{n}D" for k in ("Max", "Average") for n in (1, 2, 3)]


@rule(*CONV_KINDS, *POOL_KINDS)
def _same_padding_on_open_sizes(use: LayerUse) -> str | None:
    strides = use.config.get("strides") or ()
    if use.config.get("padding") != "same" or not any(s > 1 for s in strides):
        return None
    if any(size is None for size in use.spatial):
        return (
            'padding="same" with strides > 1 on a size left open (None): the padding depends on the size, which '
            "the exported graph would fix at the size used for tracing; give the size in the input shape"
        )
    return None


@rule(*TRANSPOSED_KINDS)
def _large_output_padding(use: LayerUse) -> str | None:
    strides = use.config.get("strides") or ()
    padding = use.config.get("output_padding") or ()
    if any(p >= s for p, s in zip(padding, strides)):
        return (
            f"output_padding {tuple(padding)} is not smaller than strides {tuple(strides)}: onnxruntime's ConvTranspose "
            "rejects it (it derives the input size back from the output size)"
        )
    return None


@rule(*ADAPTIVE_KINDS)
def _adaptive_pooling_on_open_sizes(use: LayerUse) -> str | None:
    outputs = tuple(use.config.get("output_size") or ())
    if outputs and all(out == 1 for out in outputs):
        return None  # global pooling
    if any(size is None for size in use.spatial):
        return (
            "adaptive pooling over a size left open (None): ONNX has no adaptive pooling, and the export writes "
            "its windows for the input size; give the size in the input shape"
        )
    return None


@rule("InstanceNormalization")
def _instance_norm_running_stats(use: LayerUse) -> str | None:
    if use.config.get("track_running_stats"):
        return "track_running_stats=true: torch's exporter cannot write instance normalization with running statistics for a dynamic batch size"
    return None


@rule("InstanceNormalization")
def _instance_norm_open_channels(use: LayerUse) -> str | None:
    _, channels = use.ctx.split(use.input_shapes[0])
    if channels is None:
        return "a channel count left open (None): torch's exporter cannot write instance normalization without it; give it in the input shape"
    return None


@rule("SimpleRNN", "LSTM", "GRU")
def _python_loop_on_open_length(use: LayerUse) -> str | None:
    from neural.targets.pytorch.emitters.recurrent import native

    if native(use.kind, use.config) or use.input_shapes[0][0] is not None:  # type: ignore[arg-type]
        return None
    names = [str(use.config.get(key)) for key in ("activation", "recurrent_activation") if use.config.get(key)]
    return _OPEN_LOOP.format(what=f"{use.kind} with activations {'/'.join(names)} runs")


@rule("ConvLSTM2D")
def _conv_lstm_open_length(use: LayerUse) -> str | None:
    if use.input_shapes[0][0] is not None:
        return None
    return _OPEN_LOOP.format(what="ConvLSTM2D runs")


_OPEN_LOOP = (
    "{what} as a loop over the time steps in the PyTorch module, which the exporter unrolls for the traced "
    "number of steps, and the sequence length is left open (None); give the length in the input shape"
)
