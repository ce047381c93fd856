"""The training part of a generated JAX module: the train block as literals, the common training code
(common/runner.py), then runner.py; and the weight conversions of weights.py."""

from __future__ import annotations

from pathlib import Path

from neural.shapes.engine import ShapedNetwork
from neural.targets.common import training_code
from neural.targets.common.training_code import included_source

RUNNER = Path(__file__).with_name("runner.py")
WEIGHTS = Path(__file__).with_name("weights.py")


def weights_section() -> str:
    return "\n".join(["# ---- canonical weights (Neural's checkpoint format) ----", "", "", included_source(WEIGHTS)])


def training_section(shaped: ShapedNetwork) -> str:
    # the JAX script runs on every local device; it has no use for the execution block
    return training_code.training_section(shaped, RUNNER, execution=False)
