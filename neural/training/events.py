"""What the training loop reports while it runs. The CLI renders it; the library never prints."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class Reporter(Protocol):
    def start(self, info: Mapping[str, Any]) -> None: ...

    def epoch_start(self, epoch: int, epochs: int, steps: int) -> None: ...

    def batch_end(self, step: int, steps: int, samples: int, logs: Mapping[str, float]) -> None: ...

    def epoch_end(self, epoch: int, epochs: int, row: Mapping[str, Any]) -> None: ...

    def message(self, text: str) -> None: ...

    def finish(self, final: Mapping[str, Any]) -> None: ...


class SilentReporter:
    """Reports nothing (library use, tests, `--quiet`)."""

    def start(self, info: Mapping[str, Any]) -> None:
        pass

    def epoch_start(self, epoch: int, epochs: int, steps: int) -> None:
        pass

    def batch_end(self, step: int, steps: int, samples: int, logs: Mapping[str, float]) -> None:
        pass

    def epoch_end(self, epoch: int, epochs: int, row: Mapping[str, Any]) -> None:
        pass

    def message(self, text: str) -> None:
        pass

    def finish(self, final: Mapping[str, Any]) -> None:
        pass


class RecordingReporter(SilentReporter):
    """Keeps every event (for tests)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def start(self, info: Mapping[str, Any]) -> None:
        self.events.append(("start", dict(info)))

    def epoch_end(self, epoch: int, epochs: int, row: Mapping[str, Any]) -> None:
        self.events.append(("epoch", dict(row)))

    def message(self, text: str) -> None:
        self.events.append(("message", text))

    def finish(self, final: Mapping[str, Any]) -> None:
        self.events.append(("finish", dict(final)))
