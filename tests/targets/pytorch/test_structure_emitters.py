"""PyTorch emitters of structural layers (TimeDistributed, SqueezeExcitation): the modules and code they write.
Their numbers are the conformance suite's (tests/conformance)."""

from __future__ import annotations

import pytest
import torch
from torch_helpers import snippet_network

from neural.errors import BackendError
from neural.targets.pytorch import emit
from neural.targets.pytorch.codegen import generate
from neural.targets.pytorch.load import import_network


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
