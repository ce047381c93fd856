"""PyTorch emitters of structural layers (TimeDistributed, SqueezeExcitation): exact against the NumPy runtime."""

from __future__ import annotations

import pytest
import torch
from torch_helpers import check_layer, snippet_network

from neural.errors import BackendError
from neural.targets.pytorch import emit
from neural.targets.pytorch.codegen import generate
from neural.targets.pytorch.load import import_network

TIME_DISTRIBUTED_CASES = [
    ("TimeDistributed(Dense(3))", [(4, 5)], "channels_last"),
    ('TimeDistributed(Dense(3, "prelu"))', [(4, 5)], "channels_last"),  # fused activation with a weight
    ('TimeDistributed(Dense(3, "softmax"))', [(4, 2, 5)], "channels_last"),
    ("TimeDistributed(Dense(3))", [(None, None, 5)], "channels_last"),  # unknown number of steps
    ("TimeDistributed(Conv2D(4, 3))", [(3, 6, 6, 2)], "channels_last"),  # inner layer needs channels first
    ('TimeDistributed(Conv2D(4, 3, strides=2, padding="same"))', [(3, 7, 7, 2)], "channels_last"),
    ("TimeDistributed(Conv2D(4, 3))", [(3, 2, 6, 6)], "channels_first"),
    ("TimeDistributed(Conv1D(4, 3))\nTimeDistributed(Flatten())\nDense(2)", [(3, 6, 2)], "channels_last"),
    ("TimeDistributed(MaxPooling2D(2))\nTimeDistributed(Flatten())\nDense(2)", [(3, 4, 4, 2)], "channels_last"),
    ("TimeDistributed(BatchNormalization())\nDense(2)", [(3, 4, 4, 2)], "channels_last"),  # running stats as state
    ("TimeDistributed(LayerNormalization())", [(4, 5)], "channels_last"),
    ("TimeDistributed(Flatten())\nDense(2)", [(3, 2, 4)], "channels_last"),
    ("TimeDistributed(Dropout(0.5))\nDense(2)", [(3, 4)], "channels_last"),
    ("TimeDistributed(TimeDistributed(Dense(3)))", [(2, 3, 4)], "channels_last"),
    ('TimeDistributed(FeedForward(8, "gelu"))', [(2, 3, 4)], "channels_last"),
    ("TimeDistributed(SqueezeExcitation(2))", [(3, 4, 4, 6)], "channels_last"),
    ("TimeDistributed(LSTM(3))", [(2, 4, 5)], "channels_last"),
    ("TimeDistributed(GlobalAveragePooling2D())\nDense(2)", [(3, 4, 4, 2)], "channels_last"),
]

SQUEEZE_EXCITATION_CASES = [
    ("SqueezeExcitation()", [(5, 5, 8)], "channels_last"),
    ("SqueezeExcitation(3)", [(5, 5, 8)], "channels_last"),
    ("SqueezeExcitation(3)", [(8, 5, 5)], "channels_first"),
    ("SqueezeExcitation(ratio=0.5)", [(6, 8)], "channels_last"),  # 1 spatial dim
    ("SqueezeExcitation(ratio=0.5)", [(8, 6)], "channels_first"),
    ("SqueezeExcitation(2)", [(3, 4, 4, 6)], "channels_last"),  # 3 spatial dims
    ("SqueezeExcitation(2)", [(6, 3, 4, 4)], "channels_first"),
    ('SqueezeExcitation(4, activation="silu", gate="hard_sigmoid")', [(5, 5, 8)], "channels_last"),
    ('SqueezeExcitation(4, activation="prelu")', [(5, 5, 8)], "channels_last"),
    ('SqueezeExcitation(4, activation="softmax")', [(5, 5, 8)], "channels_first"),
    ('SqueezeExcitation(4, activation="exponential", gate="hard_sigmoid")', [(5, 5, 8)], "channels_last"),
    ("SqueezeExcitation(4, activation=none)", [(5, 5, 8)], "channels_last"),
    ("Conv2D(8, 3)\nSqueezeExcitation(2)\nConv2D(4, 1)", [(6, 6, 3)], "channels_last"),  # stays channels first inside
]

CASES = TIME_DISTRIBUTED_CASES + SQUEEZE_EXCITATION_CASES


@pytest.mark.parametrize(
    ("layers", "shapes", "layout"), CASES, ids=[f"{c[0].replace(chr(10), ' | ')} {c[2]}" for c in CASES]
)
def test_emitter_matches_numpy_runtime(layers: str, shapes: list[tuple[int | None, ...]], layout: str) -> None:
    check_layer(layers, *shapes, layout=layout)


def test_time_distributed_weights_are_the_inner_layers() -> None:
    module = import_network(
        snippet_network("TimeDistributed(Conv2D(4, 3))\nTimeDistributed(BatchNormalization())", (3, 6, 6, 2))
    )
    model = module.build_model()
    assert isinstance(model.time_distributed_1, torch.nn.Conv2d)
    assert sorted(model.state_dict()) == [
        "time_distributed_1.bias",
        "time_distributed_1.weight",
        "time_distributed_2.bias",
        "time_distributed_2.num_batches_tracked",
        "time_distributed_2.running_mean",
        "time_distributed_2.running_var",
        "time_distributed_2.weight",
    ]


def test_time_distributed_code() -> None:
    code = generate(snippet_network("TimeDistributed(Conv2D(4, 3))", (3, 6, 6, 2)))
    assert "self.time_distributed_1 = nn.Conv2d(2, 4, 3)" in code
    assert ".flatten(0, 1).movedim(-1, 1)" in code
    assert ".movedim(1, -1).unflatten(0, input.shape[:2])" in code


def test_squeeze_excitation_code() -> None:
    code = generate(snippet_network('SqueezeExcitation(4, activation="silu", gate="hard_sigmoid")', (5, 5, 8)))
    assert "SqueezeExcitation(8, 4, nn.SiLU(), nn.Hardsigmoid())" in code
    code = generate(snippet_network("SqueezeExcitation(2)", (6, 8)))
    assert "SqueezeExcitation(8, 2, nn.ReLU(), nn.Sigmoid(), dims=1)" in code


def test_time_distributed_of_an_unsupported_kind_is_a_positioned_error(monkeypatch: pytest.MonkeyPatch) -> None:
    emit.get_emitter("Dense")  # load the registry before hiding an entry
    monkeypatch.delitem(emit._EMITTERS, "Dense")
    with pytest.raises(BackendError, match="cannot generate Dense inside TimeDistributed") as info:
        generate(snippet_network("TimeDistributed(Dense(3))", (4, 5)))
    assert info.value.span is not None
