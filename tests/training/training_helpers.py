"""Build validated `Component`s (losses, optimizers, schedules, metrics, callbacks) as the resolver does."""

from __future__ import annotations

from typing import Any

from neural.config.args import bind
from neural.config.training import (
    CALLBACK_TABLE,
    LOSS_TABLE,
    METRIC_TABLE,
    OPTIMIZER_TABLE,
    SCHEDULE_TABLE,
    ComponentSpec,
    find_component,
)
from neural.ir import Component
from neural.source import Span

SPAN = Span(None, 1, 1, 1, 1)
TABLES = (LOSS_TABLE, OPTIMIZER_TABLE, SCHEDULE_TABLE, METRIC_TABLE, CALLBACK_TABLE)


def component(name: str, *args: Any, **kwargs: Any) -> Component:
    """`component("Adam", learning_rate=component("CosineDecay", 1e-3, 100))` -> a bound Component.

    Names are looked up among losses first, then optimizers, schedules, metrics and callbacks
    (use `metric()` for a metric whose name is also a loss, such as "mae").
    """
    spec = next(s for s in (find_component(t, name) for t in TABLES) if s is not None)
    return _bind(spec, args, kwargs)


def metric(name: str, *args: Any, **kwargs: Any) -> Component:
    """A metric Component (names such as "mae" also name losses)."""
    spec = find_component(METRIC_TABLE, name)
    assert spec is not None, name
    return _bind(spec, args, kwargs)


def _bind(spec: ComponentSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Component:
    schedule = kwargs.pop("learning_rate", None)
    if isinstance(schedule, Component):
        config = bind(
            spec.name, spec.schema, [(a, SPAN) for a in args], [(k, v, SPAN) for k, v in kwargs.items()], SPAN
        )
        return Component(spec.name, config.replace(learning_rate=schedule), SPAN)
    if schedule is not None:
        kwargs["learning_rate"] = schedule
    config = bind(spec.name, spec.schema, [(a, SPAN) for a in args], [(k, v, SPAN) for k, v in kwargs.items()], SPAN)
    return Component(spec.name, config, SPAN)
