"""Learning-rate schedules against torch.optim.lr_scheduler, warm-up by hand, state for resume."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from training_helpers import component

from neural.errors import InvalidValueError
from neural.training.schedules import ReduceOnPlateau, Schedule, build_schedule

RTOL = 1e-10


def torch_rates(torch: Any, lr: float, make: Callable[[Any], Any], steps: int) -> list[float]:
    """The rate a torch scheduler gives at steps 0..steps-1 (scheduler.step() after each)."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    scheduler = make(optimizer)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def our_rates(schedule: Schedule, steps: int, start: int = 0) -> list[float]:
    return [schedule.lr(k) for k in range(start, start + steps)]


def test_a_number_is_a_constant_rate() -> None:
    schedule = build_schedule(0.01)
    assert our_rates(schedule, 3) == [0.01, 0.01, 0.01]
    assert json.loads(json.dumps(schedule.state_dict())) == {"name": "constant"}


def test_exponential_decay_matches_exponential_lr(torch: Any) -> None:
    schedule = build_schedule(component("ExponentialDecay", 0.1, decay_steps=4, decay_rate=0.5))
    expected = torch_rates(torch, 0.1, lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.5 ** (1 / 4)), 20)
    np.testing.assert_allclose(our_rates(schedule, 20), expected, rtol=RTOL)


def test_staircase_exponential_decay_matches_step_lr(torch: Any) -> None:
    schedule = build_schedule(component("ExponentialDecay", 0.1, 4, 0.5, staircase=True))
    expected = torch_rates(torch, 0.1, lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=4, gamma=0.5), 20)
    np.testing.assert_allclose(our_rates(schedule, 20), expected, rtol=RTOL)


def test_step_decay_matches_step_lr(torch: Any) -> None:
    schedule = build_schedule(component("StepLR", 0.2, step_size=3, gamma=0.3))
    expected = torch_rates(torch, 0.2, lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.3), 15)
    np.testing.assert_allclose(our_rates(schedule, 15), expected, rtol=RTOL)


@pytest.mark.parametrize("alpha", [0.0, 0.1])
def test_cosine_decay_matches_cosine_annealing(torch: Any, alpha: float) -> None:
    schedule = build_schedule(component("CosineDecay", 0.1, decay_steps=12, alpha=alpha))
    expected = torch_rates(
        torch, 0.1, lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=12, eta_min=0.1 * alpha), 13
    )
    np.testing.assert_allclose(our_rates(schedule, 13), expected, rtol=RTOL, atol=1e-15)
    assert our_rates(schedule, 3, start=13) == pytest.approx([0.1 * alpha] * 3)  # held, not rising again


def test_warm_up_rises_linearly_then_decays_from_its_end(torch: Any) -> None:
    schedule = build_schedule(component("CosineDecay", 0.1, decay_steps=10, warmup_steps=4))
    assert our_rates(schedule, 5) == pytest.approx([0.0, 0.025, 0.05, 0.075, 0.1])
    expected = torch_rates(torch, 0.1, lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10), 11)
    np.testing.assert_allclose(our_rates(schedule, 11, start=4), expected, rtol=RTOL, atol=1e-15)


@pytest.mark.parametrize("name", ["ExponentialDecay", "StepDecay"])
def test_warm_up_for_every_decay(name: str) -> None:
    schedule = build_schedule(component(name, 0.4, 2, 0.5, warmup_steps=2))
    assert our_rates(schedule, 5) == pytest.approx(
        [0.0, 0.2, 0.4, 0.4 * (0.5**0.5 if name == "ExponentialDecay" else 1.0), 0.2]
    )


@pytest.mark.parametrize(
    ("total", "pct_start", "div", "final_div"),
    [(100, 0.3, 25.0, 1e4), (17, 0.25, 10.0, 100.0), (10, 0.5, 25.0, 1e4), (5, 0.1, 25.0, 1e4)],
)
def test_one_cycle_matches_one_cycle_lr(torch: Any, total: int, pct_start: float, div: float, final_div: float) -> None:
    schedule = build_schedule(
        component("OneCycleLR", 0.5, total, pct_start=pct_start, div_factor=div, final_div_factor=final_div)
    )
    make = lambda o: torch.optim.lr_scheduler.OneCycleLR(  # noqa: E731
        o,
        max_lr=0.5,
        total_steps=total,
        pct_start=pct_start,
        div_factor=div,
        final_div_factor=final_div,
        cycle_momentum=False,
    )
    np.testing.assert_allclose(our_rates(schedule, total), torch_rates(torch, 0.5, make, total), rtol=RTOL)
    assert schedule.lr(total + 3) == pytest.approx(0.5 / div / final_div)


PLATEAU_VALUES = [1.0, 0.9, 0.9, 0.95, 0.91, 0.8, 0.80001, 0.8, 0.85, 0.9, 0.7] + [0.7] * 14


@pytest.mark.parametrize(
    ("kwargs", "torch_kwargs"),
    [
        ({}, {"mode": "min", "factor": 0.1, "patience": 10}),
        ({"factor": 0.5, "patience": 1}, {"mode": "min", "factor": 0.5, "patience": 1}),
        ({"factor": 0.5, "patience": 0, "min_lr": 0.02}, {"mode": "min", "factor": 0.5, "patience": 0, "min_lr": 0.02}),
        ({"monitor": "val_accuracy", "factor": 0.5, "patience": 2}, {"mode": "max", "factor": 0.5, "patience": 2}),
        ({"mode": "max", "patience": 1}, {"mode": "max", "patience": 1}),
    ],
)
def test_reduce_on_plateau_matches_torch(torch: Any, kwargs: dict[str, Any], torch_kwargs: dict[str, Any]) -> None:
    schedule = build_schedule(component("ReduceOnPlateau", 0.1, **kwargs))
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, threshold=1e-4, threshold_mode="rel", **torch_kwargs
    )
    for value in PLATEAU_VALUES:
        schedule.on_epoch_end(value)
        scheduler.step(value)
        assert schedule.lr(123) == pytest.approx(optimizer.param_groups[0]["lr"], rel=RTOL)


def test_reduce_on_plateau_mode_follows_the_monitor() -> None:
    assert ReduceOnPlateau(0.1, monitor="val_loss").mode == "min"
    assert ReduceOnPlateau(0.1, monitor="val_accuracy").mode == "max"
    assert build_schedule(component("ReduceOnPlateau", 0.1)).monitor == "val_loss"


def test_reduce_on_plateau_state_resumes_exactly() -> None:
    spec = component("ReduceOnPlateau", 0.1, factor=0.5, patience=1)
    straight = build_schedule(spec)
    rates = []
    for value in PLATEAU_VALUES:
        straight.on_epoch_end(value)
        rates.append(straight.lr(0))
    first = build_schedule(spec)
    for value in PLATEAU_VALUES[:6]:
        first.on_epoch_end(value)
    state = json.loads(json.dumps(first.state_dict(), allow_nan=False))
    resumed = build_schedule(spec)
    resumed.load_state_dict(state)
    for value, rate in zip(PLATEAU_VALUES[6:], rates[6:]):
        resumed.on_epoch_end(value)
        assert resumed.lr(0) == rate


def test_fresh_plateau_state_is_strict_json() -> None:
    state = build_schedule(component("ReduceOnPlateau", 0.1)).state_dict()
    assert json.loads(json.dumps(state, allow_nan=False))["best"] is None


def test_state_of_another_schedule_is_refused() -> None:
    with pytest.raises(InvalidValueError, match="CosineDecay schedule"):
        build_schedule(component("CosineDecay", 0.1, 10)).load_state_dict({"name": "StepDecay"})


def test_schedules_are_pure_functions_of_the_step() -> None:
    schedule = build_schedule(component("CosineDecay", 0.1, 10, warmup_steps=2))
    assert schedule.lr(7) == schedule.lr(7)
    assert math.isclose(schedule.lr(2), 0.1)
