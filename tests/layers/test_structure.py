"""Structure family: TimeDistributed (an inner layer applied per step) and SqueezeExcitation.

Expected numbers are computed by hand; PyTorch (and Keras for TimeDistributed) confirm the output
shape and the trainable-parameter count.
"""

from __future__ import annotations

import pytest

from neural.errors import InvalidValueError, ShapeError
from neural.layers.base import Shape, Weight
from neural.layers.registry import lookup
from neural.testing import layer_info


def needs(*kinds: str) -> None:
    """Skip when a kind from another layer family is not registered."""
    for kind in kinds:
        if lookup(kind) is None:
            pytest.skip(f"{kind} is not registered (another layer family)")


# --- TimeDistributed ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "shape", "out", "params", "macs"),
    [
        # Dense(10) on each of 6 steps of 5 features: 5*10 + 10 params, 6 * 5 * 10 MACs
        ("TimeDistributed(Dense(10))", (6, 5), (6, 10), 60, 6 * 50),
        # the inner layer sees (4, 5): Dense acts on the last axis of each step
        ('TimeDistributed(Dense(3, "relu", use_bias=false))', (6, 4, 5), (6, 4, 3), 15, 6 * 4 * 5 * 3),
        ("TimeDistributed(Flatten)", (6, 4, 5), (6, 20), 0, 0),
        ("TimeDistributed(Dropout(0.5))", (6, 4, 5), (6, 4, 5), 0, 0),
        # nesting: Dense(2) on (3, 4) steps of (5, 4)
        ("TimeDistributed(TimeDistributed(Dense(2)))", (3, 5, 4), (3, 5, 2), 10, 3 * 5 * 4 * 2),
    ],
)
def test_time_distributed_variants(layer: str, shape: Shape, out: Shape, params: int, macs: int) -> None:
    info = layer_info(layer, shape)
    assert info.output_shapes == (out,)
    assert info.params == params
    assert info.macs == macs


def test_time_distributed_uses_the_inner_weight_names() -> None:
    info = layer_info("TimeDistributed(Dense(10))", (6, 5))
    assert dict(info.weights) == {"weight": Weight((10, 5)), "bias": Weight((10,))}


def test_time_distributed_unknown_steps() -> None:
    info = layer_info("TimeDistributed(Dense(10))", (None, None, 5))
    assert info.output_shapes == ((None, 10),)
    assert info.params == 60
    assert info.macs is None


@pytest.mark.parametrize(
    ("layer", "shape", "layout", "out", "params", "macs"),
    [
        # 32x32x3 -> same padding, stride 2 -> 16x16x16; 16*3*3*3 + 16 params; per step 16*16*16*27 MACs
        ('TimeDistributed(Conv2D(16, 3, strides=2, padding="same"))', (5, 32, 32, 3), "channels_last", (5, 16, 16, 16), 448, 5 * 16 * 16 * 16 * 27),
        # channels_first steps (3, 32, 32): valid 3x3 -> (16, 30, 30)
        ("TimeDistributed(Conv2D(16, 3))", (5, 3, 32, 32), "channels_first", (5, 16, 30, 30), 448, 5 * 16 * 30 * 30 * 27),
        ("TimeDistributed(MaxPooling2D(2))", (5, 8, 8, 3), "channels_last", (5, 4, 4, 3), 0, 0),
    ],
)  # fmt: skip
def test_time_distributed_conv(layer: str, shape: Shape, layout: str, out: Shape, params: int, macs: int) -> None:
    needs("Conv2D", "MaxPooling2D")
    info = layer_info(layer, shape, layout=layout)
    assert info.output_shapes == (out,)
    assert info.params == params
    assert info.macs == macs


def test_time_distributed_recurrent_inner() -> None:
    needs("LSTM")
    info = layer_info("TimeDistributed(LSTM(16))", (5, 7, 3))
    assert info.output_shapes == ((5, 16),)
    assert info.params == 4 * 16 * (3 + 16) + 2 * 4 * 16  # torch LSTM: weight_ih, weight_hh, two biases


def test_time_distributed_dense_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    linear = torch.nn.Linear(5, 10)
    y = linear(torch.randn(2, 6, 5))  # applied to every step
    info = layer_info("TimeDistributed(Dense(10))", (6, 5))
    assert info.output_shapes == (tuple(y.shape[1:]),)
    assert info.params == sum(p.numel() for p in linear.parameters())


def test_time_distributed_conv_matches_torch() -> None:
    needs("Conv2D")
    torch = pytest.importorskip("torch")
    conv = torch.nn.Conv2d(3, 8, 3, stride=2, padding=1)
    x = torch.randn(2, 5, 3, 12, 12)
    y = conv(x.flatten(0, 1)).unflatten(0, (2, 5))
    info = layer_info("TimeDistributed(Conv2D(8, 3, strides=2, padding=1))", (5, 3, 12, 12), layout="channels_first")
    assert info.output_shapes == (tuple(y.shape[1:]),)
    assert info.params == sum(p.numel() for p in conv.parameters())


@pytest.mark.tensorflow
def test_time_distributed_matches_keras() -> None:
    keras = pytest.importorskip("keras")
    layer = keras.layers.TimeDistributed(keras.layers.Dense(10))
    out = layer(keras.Input((6, 4, 5)))
    info = layer_info("TimeDistributed(Dense(10))", (6, 4, 5))
    assert info.output_shapes == (tuple(out.shape[1:]),)
    assert info.params == layer.count_params()


@pytest.mark.parametrize(
    ("layer", "shape", "error", "fragment"),
    [
        ("TimeDistributed(Dense(5))", (4,), ShapeError, "rank at least 2 (steps, ...)"),
        (
            "TimeDistributed(Dense(5))",
            (4, None),
            ShapeError,
            "TimeDistributed applies Dense to each step of shape (None,)",
        ),
        ("TimeDistributed(Add)", (4, 3), InvalidValueError, "expects a single-input layer"),
        ("TimeDistributed(Output(3))", (4, 3), InvalidValueError, "expects a single-input layer"),
        ("TimeDistributed(Embedding(10, 3))", (4, 3), InvalidValueError, "expects a single-input layer"),
        (
            "TimeDistributed(Dense(-3))",
            (4, 3),
            InvalidValueError,
            "`Dense` argument `units` expects a positive integer",
        ),
        ("TimeDistributed(5)", (4, 3), InvalidValueError, "expects a single-input layer"),
        ("TimeDistributed()", (4, 3), InvalidValueError, "needs the argument `layer`"),
    ],
)
def test_time_distributed_errors(layer: str, shape: Shape, error: type[Exception], fragment: str) -> None:
    with pytest.raises(error) as info:
        layer_info(layer, shape)
    assert fragment in str(info.value)


def test_time_distributed_suggests_a_near_name() -> None:
    with pytest.raises(InvalidValueError) as info:
        layer_info("TimeDistributed(Dens(3))", (4, 3))
    assert info.value.hint == "did you mean `Dense`?"


def test_time_distributed_inner_shape_error_names_the_step() -> None:
    needs("Conv2D")
    with pytest.raises(ShapeError) as info:
        layer_info("TimeDistributed(Conv2D(3, 5))", (4, 3, 3, 1))
    assert "TimeDistributed applies Conv2D to each step of shape (3, 3, 1)" in str(info.value)


def test_time_distributed_rejects_several_outputs() -> None:
    needs("LSTM")
    with pytest.raises(InvalidValueError) as info:
        layer_info("TimeDistributed(LSTM(4, return_state=true))", (4, 5, 3))
    assert "wraps a layer with one output" in str(info.value)


# --- SqueezeExcitation -------------------------------------------------------------------------


def se_params(c: int, s: int) -> int:
    """fc1: s x c + s; fc2: c x s + c."""
    return 2 * c * s + s + c


@pytest.mark.parametrize(
    ("layer", "shape", "layout", "squeeze", "params"),
    [
        ("SqueezeExcitation()", (8, 8, 64), "channels_last", 16, se_params(64, 16)),  # 64 * 0.25
        ("SqueezeExcitation(8)", (8, 8, 64), "channels_last", 8, se_params(64, 8)),
        ("SE(ratio=0.5)", (7, 7, 32), "channels_last", 16, se_params(32, 16)),
        ("SEBlock(se_ratio=0.1)", (7, 7, 30), "channels_last", 3, se_params(30, 3)),  # int(3.0000000000000004)
        ("SqueezeExcitation()", (3, 4, 4), "channels_first", 1, se_params(3, 1)),  # max(1, int(0.75))
        ("SqueezeExcitation(squeeze_channels=4)", (16, 5, 5), "channels_first", 4, se_params(16, 4)),
        (
            'SqueezeExcitation(2, gate="hard_sigmoid", activation="silu")',
            (None, None, 6),
            "channels_last",
            2,
            se_params(6, 2),
        ),
    ],
)
def test_se_variants(layer: str, shape: Shape, layout: str, squeeze: int, params: int) -> None:
    info = layer_info(layer, shape, layout=layout)
    assert info.output_shapes == (shape if shape[0] is not None else shape[1:],)
    assert info.params == params
    channels = info.input_shapes[0][-1 if layout == "channels_last" else 0]
    assert info.macs == 2 * channels * squeeze  # the two 1x1 convolutions on the pooled vector


@pytest.mark.parametrize(
    ("shape", "layout", "ones"),
    [
        ((10, 8), "channels_last", (1,)),
        ((6, 6, 8), "channels_last", (1, 1)),
        ((8, 2, 3, 4), "channels_first", (1, 1, 1)),
    ],
)
def test_se_weight_layouts_follow_the_spatial_rank(shape: Shape, layout: str, ones: tuple[int, ...]) -> None:
    info = layer_info("SqueezeExcitation(2)", shape, layout=layout)
    assert dict(info.weights) == {
        "fc1.weight": Weight((2, 8, *ones)),
        "fc1.bias": Weight((2,)),
        "fc2.weight": Weight((8, 2, *ones)),
        "fc2.bias": Weight((8,)),
    }


def test_se_prelu_activation_adds_its_slope() -> None:
    assert layer_info('SqueezeExcitation(2, activation="prelu")', (4, 4, 8)).params == se_params(8, 2) + 1


@pytest.mark.parametrize(
    ("spatial", "channels", "squeeze"),
    [((8, 8), 64, 16), ((9,), 12, 3), ((3, 4, 5), 6, 2), ((7, 7), 3, 1)],
)
def test_se_matches_torch(spatial: tuple[int, ...], channels: int, squeeze: int) -> None:
    torch = pytest.importorskip("torch")
    conv = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}[len(spatial)]
    dims = tuple(range(2, 2 + len(spatial)))

    class SE(torch.nn.Module):  # torchvision.ops.SqueezeExcitation, written out
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = conv(channels, squeeze, 1)
            self.fc2 = conv(squeeze, channels, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            scale = x.mean(dim=dims, keepdim=True)
            scale = torch.sigmoid(self.fc2(torch.relu(self.fc1(scale))))
            return x * scale

    module = SE()
    y = module(torch.randn(2, channels, *spatial))
    info = layer_info(f"SqueezeExcitation({squeeze})", (channels, *spatial), layout="channels_first")
    assert info.output_shapes == (tuple(y.shape[1:]),)
    assert info.params == sum(p.numel() for p in module.parameters())
    assert {name: w.shape for name, w in info.weights.items()} == {
        n: tuple(p.shape) for n, p in module.named_parameters()
    }
    # default ratio gives the same squeeze where channels // 4 == squeeze
    if channels // 4 == squeeze:
        assert layer_info("SqueezeExcitation()", (channels, *spatial), layout="channels_first").params == info.params


@pytest.mark.parametrize("name", ["SE", "SEBlock"])
def test_se_aliases(name: str) -> None:
    assert lookup(name) is lookup("SqueezeExcitation")


@pytest.mark.parametrize(
    ("layer", "shape", "layout", "error", "fragment"),
    [
        ("SqueezeExcitation()", (64,), "channels_last", ShapeError, "rank 2, 3 or 4"),
        ("SqueezeExcitation()", (2, 2, 2, 2, 8), "channels_last", ShapeError, "rank 2, 3 or 4"),
        (
            "SqueezeExcitation()",
            (4, 4, None),
            "channels_last",
            ShapeError,
            "known number of channels (height, width, channels)",
        ),
        (
            "SqueezeExcitation()",
            (None, None, 4, 4),
            "channels_first",
            ShapeError,
            "known number of channels (channels, height, width)",
        ),
        (
            "SqueezeExcitation(ratio=0)",
            (4, 4, 8),
            "channels_last",
            InvalidValueError,
            "`ratio` expects a number in (0, 1]",
        ),
        (
            "SqueezeExcitation(ratio=1.5)",
            (4, 4, 8),
            "channels_last",
            InvalidValueError,
            "`ratio` expects a number in (0, 1]",
        ),
        (
            "SqueezeExcitation(0)",
            (4, 4, 8),
            "channels_last",
            InvalidValueError,
            "`squeeze_channels` expects a positive integer",
        ),
        ('SqueezeExcitation(gate="tanh")', (4, 4, 8), "channels_last", InvalidValueError, '"sigmoid", "hard_sigmoid"'),
    ],
)
def test_se_errors(layer: str, shape: Shape, layout: str, error: type[Exception], fragment: str) -> None:
    with pytest.raises(error) as info:
        layer_info(layer, shape, layout=layout)
    assert fragment in str(info.value)


def test_specs_document_themselves() -> None:
    for kind in ("TimeDistributed", "SqueezeExcitation"):
        spec = lookup(kind)
        assert spec is not None and spec.family == "structure"
        assert spec.doc and spec.shape_rule
        assert all(arg.doc for arg in spec.schema)
