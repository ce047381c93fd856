"""Checks every JAX emitter test uses: the generated module builds, has exactly the DSL's parameter and
state counts and output shapes, and computes what the NumPy runtime computes (forward and one training
step) for the same weights."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from neural.api import analyse, loads
from neural.compare import compare
from neural.layers.base import Shape
from neural.shapes.engine import ShapedNetwork
from neural.targets.jax.load import import_network
from neural.testing import network_source

TOLERANCE = 1e-4


def channels_first(shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
    """The same feature map channels first; a leading None (a sample shape with an unknown length) stays."""
    if shape[0] is None:
        return (None, *channels_first(shape[1:]))
    return (shape[-1], *shape[:-1])


def snippet_network(
    layers: str, *shapes: Shape, layout: str = "channels_last", loss: str | None = '"mse"'
) -> ShapedNetwork:
    """A network of `layers` on inputs of the given shapes, with a loss and SGD with momentum for the step check."""
    text = network_source(layers, *shapes, layout=layout)
    if loss is not None:
        text = text.rstrip().rstrip("}") + f"  loss: {loss}\n  optimizer: SGD(learning_rate=0.1, momentum=0.9)\n}}\n"
    return analyse(loads(text).network())


def count(model: nnx.Module, kind: type) -> int:
    return sum(int(np.prod(v.get_value().shape)) for _, v in nnx.to_flat_state(nnx.state(model, kind)))


def check_generated(shaped: ShapedNetwork, tolerance: float = TOLERANCE, *, numbers: bool = True) -> Any:
    """Build the generated model; assert parameter and state counts, output shapes and (with `numbers`)
    outputs and one training step against the NumPy runtime."""
    module = import_network(shaped)
    model = nnx.eval_shape(module.build_model)  # shapes only: no initializer runs
    assert count(model, nnx.Param) == shaped.params
    assert count(model, nnx.BatchStat) == shaped.state
    model.eval()
    inputs = [
        jax.ShapeDtypeStruct((2, *(d or 5 for d in spec.shape)), jnp.int32 if spec.dtype == "int64" else jnp.float32)
        for spec in shaped.network.inputs
    ]
    out = nnx.eval_shape(lambda m, *xs: m(*xs), model, *inputs)
    outputs = out if isinstance(out, tuple) else (out,)
    expected = [tuple(d or 5 for d in s) for s in shaped.output_shapes]
    assert [tuple(o.shape[1:]) for o in outputs] == expected
    if numbers:
        for result in compare(shaped, ["jax"], tolerance=tolerance):
            assert result.ok, (
                f"{result.backend}: outputs differ by {result.forward:.3g}, after one step by {result.step}"
            )
    return module


def check_layer(
    layers: str, *shapes: Shape, layout: str = "channels_last", loss: str | None = '"mse"', tolerance: float = TOLERANCE
) -> Any:
    return check_generated(snippet_network(layers, *shapes, layout=layout, loss=loss), tolerance)


# --- many single-layer cases in one network ----------------------------------------------------------------
#
# Compiling dominates a case's time on a CPU (each generated model compiles one XLA program for its training
# step). Cases that are one statement on the same inputs therefore run as branches of one network: each
# branch is reduced to a vector (Flatten, or a global average over an unknown length), the branches are
# concatenated and a Dense layer makes the single output whose training step is compared. A failing group
# is re-run case by case to name the failing statements.


@dataclass(frozen=True)
class Group:
    statements: tuple[str, ...]
    shapes: tuple[Shape, ...]
    layout: str = "channels_last"

    @property
    def id(self) -> str:
        return f"{self.statements[0].split('(')[0]}+{len(self.statements) - 1} {self.shapes} {self.layout}"


def input_names(count: int) -> list[str]:
    return ["input"] if count == 1 else list("abcdefgh"[:count])


def groups(cases: list[tuple[str, list[Shape]]], layout: str = "channels_last", size: int = 16) -> list[Group]:
    """Cases (one statement each; without an explicit input list it reads the first input) grouped by inputs."""
    found: dict[tuple[Shape, ...], list[str]] = {}
    for statement, shapes in cases:
        found.setdefault(tuple(tuple(s) for s in shapes), []).append(statement)
    result = []
    for shapes, statements in found.items():
        for start in range(0, len(statements), size):
            result.append(Group(tuple(statements[start : start + size]), shapes, layout))
    return result


def _reducer(statement: str, shapes: tuple[Shape, ...], layout: str) -> str:
    shaped = analyse(loads(network_source(statement, *shapes, layout=layout)).network())
    shape = shaped.output_shapes[0]
    if all(d is not None for d in shape):
        return "Flatten()"
    assert len(shape) == 2 and layout == "channels_last", f"cannot reduce {shape} to a vector"
    return "GlobalAveragePooling1D()"


def group_source(statements: tuple[str, ...], shapes: tuple[Shape, ...], layout: str, loss: str = '"mse"') -> str:
    first = input_names(len(shapes))[0]
    lines, reduced = [], []
    for i, statement in enumerate(statements):
        call = statement if ")(" in statement else f"{statement}({first})"
        lines += [f"b{i} = {call}", f"r{i} = {_reducer(statement, shapes, layout)}(b{i})"]
        reduced.append(f"r{i}")
    lines.append(f"Concatenate()({', '.join(reduced)})" if len(reduced) > 1 else f"Identity()({reduced[0]})")
    lines.append("Dense(3)")
    text = network_source("\n".join(lines), *shapes, layout=layout)
    return text.rstrip().rstrip("}") + f"  loss: {loss}\n  optimizer: SGD(learning_rate=0.1, momentum=0.9)\n}}\n"


def check_group(group: Group, tolerance: float = TOLERANCE) -> None:
    try:
        check_generated(analyse(loads(group_source(group.statements, group.shapes, group.layout)).network()), tolerance)
    except Exception as exc:
        failing = []
        for statement in group.statements:
            try:
                check_generated(
                    analyse(loads(group_source((statement,), group.shapes, group.layout)).network()), tolerance
                )
            except Exception as single:
                failing.append(f"{statement}: {single}")
        raise AssertionError("failing cases:\n" + "\n".join(failing or [f"(only together) {exc}"])) from exc
