"""The run directory: source, settings, per-epoch metrics, checkpoints and the final model."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neural.training.checkpoint import atomic_write_text

SOURCE = "source.neural"
SETTINGS = "run.json"
HISTORY = "metrics.jsonl"
FINAL = "metrics.json"
CHECKPOINT = "checkpoint.safetensors"
MODEL = "model.safetensors"


def default_run_dir(network: str, root: Path = Path("runs")) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = root / f"{network}-{stamp}"
    suffix = 1
    while path.exists():
        suffix += 1
        path = root / f"{network}-{stamp}-{suffix}"
    return path


def _clean(value: Any) -> Any:
    """JSON cannot hold NaN/inf: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


@dataclass
class RunDir:
    path: Path

    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def checkpoint(self) -> Path:
        return self.file(CHECKPOINT)

    @property
    def model(self) -> Path:
        return self.file(MODEL)

    def create(self, source_text: str, settings: Mapping[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.file(SOURCE), source_text)
        atomic_write_text(self.file(SETTINGS), json.dumps(_clean(dict(settings)), indent=2) + "\n")

    def settings(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.file(SETTINGS).read_text(encoding="utf-8"))
        return data

    def source(self) -> str:
        return self.file(SOURCE).read_text(encoding="utf-8")

    def write_history(self, history: list[dict[str, Any]]) -> None:
        """metrics.jsonl (one line per epoch) and metrics.json (the last epoch), both atomically."""
        lines = "".join(json.dumps(_clean(row)) + "\n" for row in history)
        atomic_write_text(self.file(HISTORY), lines)
        if history:
            atomic_write_text(self.file(FINAL), json.dumps(_clean(history[-1]), indent=2) + "\n")

    def write_final(self, metrics: Mapping[str, Any]) -> None:
        atomic_write_text(self.file(FINAL), json.dumps(_clean(dict(metrics)), indent=2) + "\n")

    def history(self) -> list[dict[str, Any]]:
        path = self.file(HISTORY)
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
