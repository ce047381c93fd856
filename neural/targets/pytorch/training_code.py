"""The training part of a generated PyTorch module: the train block as literals, the common training code
(common/runner.py), then runner.py."""

from __future__ import annotations

from pathlib import Path

from neural.shapes.engine import ShapedNetwork
from neural.targets.common import training_code
from neural.targets.common.training_code import constants, metric_name, plain

__all__ = ["constants", "metric_name", "plain", "training_section"]

RUNNER = Path(__file__).with_name("runner.py")


def training_section(shaped: ShapedNetwork) -> str:
    return training_code.training_section(shaped, RUNNER)
