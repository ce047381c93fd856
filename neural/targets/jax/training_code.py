"""The training part of a generated JAX module: the train block as literals, then runner.py; and the
weight conversions of weights.py."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from neural.shapes.engine import ShapedNetwork
from neural.targets.pytorch.training_code import constants

MARKER = "# ---- generated modules include everything below this line ----"


def _tail(file: str) -> str:
    text = Path(__file__).with_name(file).read_text(encoding="utf-8")
    return text[text.index(MARKER) + len(MARKER) :].strip("\n")


@lru_cache(maxsize=1)
def runner_source() -> str:
    return _tail("runner.py")


@lru_cache(maxsize=1)
def weights_source() -> str:
    return _tail("weights.py")


def weights_section() -> str:
    return "\n".join(["# ---- canonical weights (Neural's checkpoint format) ----", "", "", weights_source()])


def training_section(shaped: ShapedNetwork) -> str:
    lines = [line for line in constants(shaped) if not line.startswith("EXECUTION")]
    return (
        "\n".join(["# ---- training (the train block of the .neural file) ----", "", *lines, "", "", runner_source()])
        + "\n"
    )
