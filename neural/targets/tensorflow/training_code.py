"""The training part of a generated Keras module: the train block as literals (as for PyTorch), then runner.py."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from neural.shapes.engine import ShapedNetwork
from neural.targets.pytorch.training_code import constants

MARKER = "# ---- generated modules include everything below this line ----"


@lru_cache(maxsize=1)
def runner_source() -> str:
    text = Path(__file__).with_name("runner.py").read_text(encoding="utf-8")
    return text[text.index(MARKER) + len(MARKER) :].lstrip("\n")


def training_section(shaped: ShapedNetwork) -> str:
    return "\n".join(
        ["# ---- training (the train block of the .neural file) ----", "", *constants(shaped), "", "", runner_source()]
    )
