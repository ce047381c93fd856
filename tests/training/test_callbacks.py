"""Early stopping: modes, patience, min_delta, best-weights restore and state for resume."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from training_helpers import component

from neural.errors import InvalidValueError
from neural.training.callbacks import EarlyStopping, build_early_stopping


def run(stopper: EarlyStopping, values: list[float], key: str = "val_loss") -> int | None:
    """Feed one value per epoch; the epoch at which training stops (None: it never does)."""
    for epoch, value in enumerate(values):
        if stopper.on_epoch_end(epoch, {key: value, "loss": 0.0}):
            return epoch
    return None


class FakeModel:
    """Weights that change every epoch, and a load_state_dict that records what it got."""

    def __init__(self) -> None:
        self.weights = {"dense.weight": np.zeros((2, 2))}
        self.loaded: dict[str, np.ndarray] | None = None

    def state_dict(self) -> dict[str, np.ndarray]:
        return self.weights

    def load_state_dict(self, values: dict[str, np.ndarray]) -> None:
        self.loaded = values


def test_stops_after_patience_epochs_without_improvement() -> None:
    assert run(EarlyStopping(patience=2), [1.0, 0.8, 0.9, 0.85, 0.7]) == 3
    assert run(EarlyStopping(patience=2), [1.0, 0.8, 0.9, 0.7, 0.75, 0.6]) is None
    assert run(EarlyStopping(patience=0), [1.0, 0.9, 0.95]) == 2


def test_mode_auto_is_min_for_losses_and_max_for_accuracy() -> None:
    assert EarlyStopping("val_loss").mode == "min"
    assert EarlyStopping("loss").mode == "min"
    assert EarlyStopping("val_accuracy").mode == "max"
    assert run(EarlyStopping("val_accuracy", patience=1), [0.5, 0.6, 0.55], key="val_accuracy") == 2
    assert run(EarlyStopping("val_accuracy", patience=1, mode="min"), [0.5, 0.6], key="val_accuracy") == 1


def test_min_delta_requires_a_large_enough_improvement() -> None:
    stopper = EarlyStopping(patience=1, min_delta=0.1)
    assert run(stopper, [1.0, 0.95, 0.85]) == 1
    assert stopper.best == 1.0 and stopper.best_epoch == 0
    maximize = EarlyStopping("val_accuracy", patience=2, min_delta=0.05)
    assert run(maximize, [0.5, 0.56, 0.6, 0.61], key="val_accuracy") == 3
    assert maximize.best == 0.56


def test_nan_never_improves() -> None:
    stopper = EarlyStopping(patience=1)
    assert run(stopper, [1.0, float("nan")]) == 1
    assert stopper.best == 1.0


def test_best_weights_are_copied_and_restored() -> None:
    model = FakeModel()
    stopper = EarlyStopping(patience=1)
    for epoch, value in enumerate([1.0, 0.5, 0.7]):
        model.weights["dense.weight"] += 1.0  # in place: the stopper must have kept a copy
        stopper.on_epoch_end(epoch, {"val_loss": value}, model.state_dict)
    assert stopper.should_stop and stopper.best_epoch == 1
    assert stopper.restore(model)
    assert model.loaded is not None
    np.testing.assert_array_equal(model.loaded["dense.weight"], np.full((2, 2), 2.0))


def test_no_restore_when_disabled() -> None:
    model = FakeModel()
    stopper = EarlyStopping(patience=0, restore_best_weights=False)
    stopper.on_epoch_end(0, {"val_loss": 1.0}, model.state_dict)
    assert stopper.best_weights is None and not stopper.restore(model) and model.loaded is None


def test_state_round_trip_stops_where_the_uninterrupted_run_does() -> None:
    values = [1.0, 0.8, 0.9, 0.7, 0.75, 0.72, 0.71, 0.9]
    straight = EarlyStopping(patience=3)
    expected = run(straight, values)
    first = EarlyStopping(patience=3)
    model = FakeModel()
    for epoch, value in enumerate(values[:5]):
        first.on_epoch_end(epoch, {"val_loss": value}, model.state_dict)
    scalars, arrays = first.state_dict()
    scalars = json.loads(json.dumps(scalars, allow_nan=False))
    resumed = EarlyStopping(patience=3)
    resumed.load_state_dict(scalars, arrays)
    assert set(arrays) == {"dense.weight"} and resumed.best_weights is not None
    stopped = next((e for e, v in enumerate(values) if e >= 5 and resumed.on_epoch_end(e, {"val_loss": v})), None)
    assert stopped == expected == 6


def test_fresh_state_is_strict_json_and_other_monitors_are_refused() -> None:
    scalars, arrays = EarlyStopping().state_dict()
    assert json.loads(json.dumps(scalars, allow_nan=False))["best"] is None and arrays == {}
    with pytest.raises(InvalidValueError, match="cannot resume"):
        EarlyStopping("val_accuracy").load_state_dict(scalars, arrays)


def test_missing_monitor_names_what_is_available() -> None:
    with pytest.raises(InvalidValueError, match=r"`val_loss`.*validation_split.*accuracy, loss"):
        EarlyStopping().on_epoch_end(0, {"loss": 1.0, "accuracy": 0.5})


@pytest.mark.parametrize("value", [None, False])
def test_builder_without_early_stopping(value: Any) -> None:
    assert build_early_stopping(value) is None


def test_builder_from_the_language() -> None:
    default = build_early_stopping(True)
    assert default is not None and (default.monitor, default.patience, default.restore_best_weights) == (
        "val_loss",
        5,
        True,
    )
    built = build_early_stopping(
        component("EarlyStopping", "val_accuracy", 3, min_delta=0.01, restore_best_weights=False)
    )
    assert built is not None
    assert (built.monitor, built.patience, built.min_delta, built.mode, built.restore_best_weights) == (
        "val_accuracy",
        3,
        0.01,
        "max",
        False,
    )
