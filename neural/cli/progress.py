"""Training progress on the terminal: a Rich bar per epoch, one line per epoch, a final table."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

SHOWN = ("loss", "accuracy", "val_loss", "val_accuracy")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


class ConsoleReporter:
    """Rich progress when stdout is a terminal; plain lines otherwise (logs, CI)."""

    def __init__(self, console: Console | None = None, *, live: bool | None = None) -> None:
        self.console = console or Console()
        self.live = sys.stdout.isatty() if live is None else live
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.started = 0.0

    def start(self, info: Mapping[str, Any]) -> None:
        parts = ", ".join(f"{k} {v}" for k, v in info.items())
        self.console.print(f"training: {parts}")

    def epoch_start(self, epoch: int, epochs: int, steps: int) -> None:
        self.started = time.perf_counter()
        if not self.live:
            return
        self.progress = Progress(
            TextColumn(f"epoch {epoch}/{epochs}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[logs]}"),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self.progress.start()
        self.task = self.progress.add_task("train", total=steps, logs="")

    def batch_end(self, step: int, steps: int, samples: int, logs: Mapping[str, float]) -> None:
        if self.progress is None or self.task is None:
            return
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        text = "  ".join(f"{k} {v:.4f}" for k, v in logs.items()) + f"  {samples / elapsed:,.0f} samples/s"
        self.progress.update(self.task, completed=step, logs=text)

    def epoch_end(self, epoch: int, epochs: int, row: Mapping[str, Any]) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
        values = "  ".join(f"{k} {_fmt(row[k])}" for k in row if k not in ("epoch", "time", "samples_per_second", "lr"))
        speed = row.get("samples_per_second")
        tail = f"  ({row.get('time', 0):.1f}s, {speed:,.0f} samples/s)" if speed else ""
        self.console.print(f"epoch {epoch}/{epochs}  {values}{tail}")

    def message(self, text: str) -> None:
        self.console.print(text)

    def finish(self, final: Mapping[str, Any]) -> None:
        table = Table(title="result", title_justify="left")
        table.add_column("metric")
        table.add_column("value", justify="right")
        for key, value in final.items():
            table.add_row(key, _fmt(value))
        self.console.print(table)
