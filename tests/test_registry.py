"""Walk the layer registry: every kind is declared once and every backend either implements it or
says explicitly why not."""

from __future__ import annotations

import pytest

from neural.layers.registry import all_specs, lookup
from neural.runtime.kernels import supported_kinds

SPECS = list(all_specs())
KINDS = [s.kind for s in SPECS]

CATALOGUE = [
    "Dense",
    "Output",
    "Activation",
    "Flatten",
    "Reshape",
    "Permute",
    "RepeatVector",
    "Embedding",
    "Identity",
    "Conv1D",
    "Conv2D",
    "Conv3D",
    "Conv1DTranspose",
    "Conv2DTranspose",
    "Conv3DTranspose",
    "SeparableConv1D",
    "SeparableConv2D",
    "DepthwiseConv1D",
    "DepthwiseConv2D",
    "MaxPooling1D",
    "MaxPooling2D",
    "MaxPooling3D",
    "AveragePooling1D",
    "AveragePooling2D",
    "AveragePooling3D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GlobalMaxPooling3D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAveragePooling3D",
    "AdaptiveMaxPooling1D",
    "AdaptiveMaxPooling2D",
    "AdaptiveMaxPooling3D",
    "AdaptiveAveragePooling1D",
    "AdaptiveAveragePooling2D",
    "AdaptiveAveragePooling3D",
    "UpSampling1D",
    "UpSampling2D",
    "UpSampling3D",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "ZeroPadding3D",
    "Cropping1D",
    "Cropping2D",
    "Cropping3D",
    "BatchNormalization",
    "LayerNormalization",
    "InstanceNormalization",
    "GroupNormalization",
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "SimpleRNN",
    "LSTM",
    "GRU",
    "Bidirectional",
    "ConvLSTM2D",
    "MultiHeadAttention",
    "Attention",
    "PositionalEncoding",
    "TransformerEncoder",
    "TransformerDecoder",
    "FeedForward",
    "Add",
    "Subtract",
    "Multiply",
    "Average",
    "Maximum",
    "Minimum",
    "Concatenate",
    "Dot",
    "TimeDistributed",
    "SqueezeExcitation",
    "ReLU",
    "LeakyReLU",
    "PReLU",
    "ELU",
    "SELU",
    "GELU",
    "SiLU",
    "Mish",
    "Sigmoid",
    "HardSigmoid",
    "Tanh",
    "Softmax",
    "LogSoftmax",
    "Softplus",
    "Softsign",
    "Exponential",
]
CELLS = ("SimpleRNNCell", "LSTMCell", "GRUCell", "Swish")


def test_the_issue_catalogue_is_registered() -> None:
    missing = [k for k in (*CATALOGUE, *CELLS) if lookup(k) is None]
    assert not missing


@pytest.mark.parametrize("spec", SPECS, ids=KINDS)
def test_every_spec_is_complete(spec: object) -> None:
    assert spec.kind and spec.family and spec.doc  # type: ignore[attr-defined]
    assert spec.shape_rule, f"{spec.kind} has no shape rule in words"  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_has_a_numpy_kernel(kind: str) -> None:
    assert kind in supported_kinds()


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_is_generated_for_pytorch_or_explicitly_unsupported(kind: str) -> None:
    from neural.targets.pytorch import emit

    emit._ensure_loaded()
    assert kind in emit._EMITTERS or kind in emit._UNSUPPORTED, f"PyTorch: {kind} has neither an emitter nor a reason"
