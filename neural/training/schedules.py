"""Learning-rate schedules: `lr(step)` for optimizer step `step` (0 for the first update).

The optimizer asks `schedule.lr(k)` before its k-th update (k counts from 0), which is where a
PyTorch scheduler stands after k calls of `scheduler.step()`; ReduceOnPlateau instead changes its
rate in `on_epoch_end(metric)` and ignores the step.

| schedule | lr(step), with s = step - warmup_steps |
|---|---|
| constant (a number) | lr |
| ExponentialDecay | lr * decay_rate ** (s / decay_steps), the exponent floored with `staircase` |
| StepDecay | lr * gamma ** (s // step_size) (torch StepLR) |
| CosineDecay | lr * ((1 - alpha) * (1 + cos(pi * min(s, decay_steps) / decay_steps)) / 2 + alpha) |
| OneCycle | torch OneCycleLR, cosine annealing, two phases (three_phase=False) |
| ReduceOnPlateau | torch ReduceLROnPlateau on the monitored value, once per epoch |

Warm-up (ExponentialDecay, StepDecay, CosineDecay): for step < warmup_steps the rate rises linearly
from 0, `lr * step / warmup_steps` (so the very first update uses 0, as Keras' `warmup_target`
and Hugging Face's warm-up schedules do); from step = warmup_steps on, the decay runs with its step
counted from the end of the warm-up, so its shape and `decay_steps` do not depend on the warm-up.
CosineDecay holds `alpha * lr` after `decay_steps` (Keras), where torch's CosineAnnealingLR would
rise again. OneCycle cycles only the learning rate (not momentum or beta_1), and holds its final
rate `max_lr / div_factor / final_div_factor` from step total_steps - 1 on.

Every schedule has a JSON-able `state_dict()`; only ReduceOnPlateau's holds more than its name
(current rate, best value, bad epochs), the others are functions of the step alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from neural.errors import InvalidValueError, NameResolutionError
from neural.ir import Component
from neural.training.metrics import resolve_mode


class Schedule:
    """Base class: a constant rate."""

    name = "constant"
    monitor: str | None = None

    def __init__(self, learning_rate: float) -> None:
        self.initial_learning_rate = float(learning_rate)

    def lr(self, step: int) -> float:
        return self.initial_learning_rate

    def on_epoch_end(self, metric: float) -> None:
        """Called once per epoch with the monitored value (only ReduceOnPlateau uses it)."""

    def state_dict(self) -> dict[str, Any]:
        return {"name": self.name}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state.get("name") != self.name:
            raise InvalidValueError(f"cannot resume a {self.name} schedule from the state of {state.get('name')!r}")


class _Warmup(Schedule):
    """Linear warm-up from 0 over `warmup_steps`, then `decayed(step - warmup_steps)`."""

    def __init__(self, learning_rate: float, warmup_steps: int = 0) -> None:
        super().__init__(learning_rate)
        self.warmup_steps = int(warmup_steps)

    def lr(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.initial_learning_rate * step / self.warmup_steps
        return self.decayed(step - self.warmup_steps)

    def decayed(self, step: int) -> float:
        raise NotImplementedError


class ExponentialDecay(_Warmup):
    name = "ExponentialDecay"

    def __init__(
        self, learning_rate: float, decay_steps: int, decay_rate: float, staircase: bool = False, warmup_steps: int = 0
    ) -> None:
        super().__init__(learning_rate, warmup_steps)
        self.decay_steps, self.decay_rate, self.staircase = int(decay_steps), float(decay_rate), bool(staircase)

    def decayed(self, step: int) -> float:
        exponent = step / self.decay_steps
        if self.staircase:
            exponent = math.floor(exponent)
        return self.initial_learning_rate * self.decay_rate**exponent


class StepDecay(_Warmup):
    name = "StepDecay"

    def __init__(self, learning_rate: float, step_size: int, gamma: float = 0.1, warmup_steps: int = 0) -> None:
        super().__init__(learning_rate, warmup_steps)
        self.step_size, self.gamma = int(step_size), float(gamma)

    def decayed(self, step: int) -> float:
        return self.initial_learning_rate * self.gamma ** (step // self.step_size)


class CosineDecay(_Warmup):
    name = "CosineDecay"

    def __init__(self, learning_rate: float, decay_steps: int, alpha: float = 0.0, warmup_steps: int = 0) -> None:
        super().__init__(learning_rate, warmup_steps)
        self.decay_steps, self.alpha = int(decay_steps), float(alpha)

    def decayed(self, step: int) -> float:
        progress = min(step, self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return self.initial_learning_rate * ((1.0 - self.alpha) * cosine + self.alpha)


class OneCycle(Schedule):
    """torch.optim.lr_scheduler.OneCycleLR(anneal_strategy="cos", three_phase=False), learning rate only."""

    name = "OneCycle"

    def __init__(
        self,
        max_learning_rate: float,
        total_steps: int,
        pct_start: float = 0.3,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
    ) -> None:
        self.max_lr = float(max_learning_rate)
        super().__init__(self.max_lr / div_factor)
        self.total_steps = int(total_steps)
        self.min_lr = self.initial_learning_rate / final_div_factor
        self.warm_end = float(pct_start * self.total_steps) - 1
        self.end = float(self.total_steps - 1)

    def lr(self, step: int) -> float:
        if step >= self.end:
            return self.min_lr
        if step <= self.warm_end:
            if self.warm_end <= 0:
                return self.max_lr  # a one-step rise (torch divides 0 by 0 here)
            return _cosine(self.initial_learning_rate, self.max_lr, step / self.warm_end)
        return _cosine(self.max_lr, self.min_lr, (step - self.warm_end) / (self.end - self.warm_end))


def _cosine(start: float, end: float, pct: float) -> float:
    """torch's _annealing_cos: from `start` (pct 0) to `end` (pct 1)."""
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


class ReduceOnPlateau(Schedule):
    """torch ReduceLROnPlateau: threshold 1e-4 relative, no cooldown, changes smaller than 1e-8 ignored."""

    name = "ReduceOnPlateau"
    threshold = 1e-4
    eps = 1e-8

    def __init__(
        self,
        learning_rate: float,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        min_lr: float = 0.0,
        mode: str = "auto",
    ) -> None:
        super().__init__(learning_rate)
        self.monitor, self.factor, self.patience, self.min_lr = monitor, float(factor), int(patience), float(min_lr)
        self.mode = resolve_mode(monitor, mode)
        self.current = self.initial_learning_rate
        self.best = math.inf if self.mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.last_epoch = 0

    def lr(self, step: int) -> float:
        return self.current

    def is_better(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best * (1.0 - self.threshold)
        return value > self.best * (1.0 + self.threshold)

    def on_epoch_end(self, metric: float) -> None:
        value = float(metric)
        self.last_epoch += 1
        if self.is_better(value):
            self.best, self.num_bad_epochs = value, 0
        else:
            self.num_bad_epochs += 1
        if self.num_bad_epochs > self.patience:
            reduced = max(self.current * self.factor, self.min_lr)
            if self.current - reduced > self.eps:
                self.current = reduced
            self.num_bad_epochs = 0

    def state_dict(self) -> dict[str, Any]:
        best = self.best if math.isfinite(self.best) else None
        return {
            "name": self.name,
            "lr": self.current,
            "best": best,
            "num_bad_epochs": self.num_bad_epochs,
            "last_epoch": self.last_epoch,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.current = float(state["lr"])
        best = state.get("best")
        self.best = float(best) if best is not None else (math.inf if self.mode == "min" else -math.inf)
        self.num_bad_epochs = int(state["num_bad_epochs"])
        self.last_epoch = int(state["last_epoch"])


def build_schedule(value: Component | Schedule | float | int) -> Schedule:
    """A schedule from an optimizer's `learning_rate`: a number (constant) or a schedule Component."""
    if isinstance(value, Schedule):
        return value
    if not isinstance(value, Component):
        return Schedule(float(value))
    c = value.config
    if value.name == "ExponentialDecay":
        return ExponentialDecay(c.initial_learning_rate, c.decay_steps, c.decay_rate, c.staircase, c.warmup_steps)
    if value.name == "StepDecay":
        return StepDecay(c.initial_learning_rate, c.step_size, c.gamma, c.warmup_steps)
    if value.name == "CosineDecay":
        return CosineDecay(c.initial_learning_rate, c.decay_steps, c.alpha, c.warmup_steps)
    if value.name == "OneCycle":
        return OneCycle(c.max_learning_rate, c.total_steps, c.pct_start, c.div_factor, c.final_div_factor)
    if value.name == "ReduceOnPlateau":
        return ReduceOnPlateau(c.initial_learning_rate, c.monitor, c.factor, c.patience, c.min_lr, c.mode)
    raise NameResolutionError(f"the NumPy runtime has no learning-rate schedule `{value.name}`")
