"""Early stopping on a monitored epoch value (Keras' EarlyStopping semantics).

After each epoch the training loop calls `on_epoch_end(epoch, logs, weights)` with that epoch's
values (`loss`, `val_loss`, `accuracy`, `val_accuracy`, ...). A value improves on the best so far
when it is lower by more than `min_delta` (mode min) or higher by more than `min_delta` (mode max);
mode `auto` is min for losses and errors (a name containing loss, error, mae or mse) and max for
everything else. Each epoch without improvement adds one to `wait`; an improvement resets it.
Training stops when `wait` reaches `patience` (patience 0 stops at the first epoch that does not
improve). A NaN value never improves.

With `restore_best_weights` a copy of the weights of the best epoch is kept (taken from the
`weights` callable only when the value improves) and `restore(model)` puts them back; the loop
calls it when training ends early. `state_dict()` returns JSON-able scalars and the best weights as
arrays, so a resumed run stops where the uninterrupted one would have.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from neural.errors import InvalidValueError
from neural.ir import Component
from neural.runtime.tensor import Array
from neural.training.metrics import resolve_mode

WeightsFn = Callable[[], Mapping[str, Array]]


class EarlyStopping:
    """Stop when `monitor` has not improved for `patience` epochs."""

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = True,
    ) -> None:
        self.monitor, self.patience, self.min_delta = monitor, int(patience), abs(float(min_delta))
        self.mode = resolve_mode(monitor, mode)
        self.restore_best_weights = bool(restore_best_weights)
        self.reset()

    def reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.wait = 0
        self.stopped_epoch: int | None = None
        self.best_weights: dict[str, Array] | None = None

    @property
    def should_stop(self) -> bool:
        return self.stopped_epoch is not None

    def improves(self, value: float) -> bool:
        """Whether `value` beats the best so far by more than min_delta."""
        if math.isnan(value):
            return False
        if self.mode == "min":
            return value + self.min_delta < self.best
        return value - self.min_delta > self.best

    def value(self, logs: Mapping[str, Any]) -> float:
        if self.monitor not in logs:
            known = ", ".join(sorted(logs)) or "none"
            hint = " (validation values need validation_split > 0)" if self.monitor.startswith("val_") else ""
            raise InvalidValueError(
                f"EarlyStopping monitors `{self.monitor}`, which this run does not compute{hint}; available: {known}"
            )
        return float(logs[self.monitor])

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any], weights: WeightsFn | None = None) -> bool:
        """Record epoch `epoch`'s values; True when training should stop now."""
        current = self.value(logs)
        if self.improves(current):
            self.best, self.best_epoch, self.wait = current, epoch, 0
            if self.restore_best_weights and weights is not None:
                self.best_weights = {k: np.array(v, copy=True) for k, v in weights().items()}
            return False
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
        return self.should_stop

    def restore(self, model: Any) -> bool:
        """Load the best epoch's weights into `model` (anything with `load_state_dict`); False when none kept."""
        if not self.restore_best_weights or self.best_weights is None:
            return False
        model.load_state_dict(self.best_weights)
        return True

    # --- checkpoints ---
    def state_dict(self) -> tuple[dict[str, Any], dict[str, Array]]:
        """(JSON-able scalars, best weights by name); an infinite best is written as null."""
        scalars = {
            "monitor": self.monitor,
            "mode": self.mode,
            "best": self.best if math.isfinite(self.best) else None,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "stopped_epoch": self.stopped_epoch,
        }
        return scalars, {k: v.copy() for k, v in (self.best_weights or {}).items()}

    def load_state_dict(self, scalars: Mapping[str, Any], arrays: Mapping[str, Array] | None = None) -> None:
        if scalars.get("monitor") != self.monitor or scalars.get("mode") != self.mode:
            raise InvalidValueError(
                f"cannot resume EarlyStopping({self.monitor!r}, mode {self.mode}) from the state of "
                f"EarlyStopping({scalars.get('monitor')!r}, mode {scalars.get('mode')})"
            )
        self.reset()
        best = scalars.get("best")
        if best is not None:
            self.best = float(best)
        self.best_epoch, self.wait, self.stopped_epoch = (
            scalars.get("best_epoch"),
            int(scalars.get("wait", 0)),
            scalars.get("stopped_epoch"),
        )
        self.best_weights = {k: np.array(v, copy=True) for k, v in arrays.items()} if arrays else None


def build_early_stopping(value: Component | bool | None) -> EarlyStopping | None:
    """From the train block's `early_stopping` (an EarlyStopping Component, true for defaults, or none)."""
    if value is None or value is False:
        return None
    if value is True:
        return EarlyStopping()
    c = value.config
    return EarlyStopping(c.monitor, c.patience, c.min_delta, c.mode, c.restore_best_weights)
