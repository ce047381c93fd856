"""JAX emitters: merge layers."""

from __future__ import annotations

from collections.abc import Sequence

from neural.targets.jax.emit import EmitContext, LayerCode, Refs, emitter


@emitter("Add")
def add(e: EmitContext) -> LayerCode:
    return LayerCode(forward=lambda inputs, m: " + ".join(inputs))


@emitter("Subtract")
def subtract(e: EmitContext) -> LayerCode:
    return LayerCode(forward=lambda inputs, m: f"{inputs[0]} - {inputs[1]}")


@emitter("Multiply")
def multiply(e: EmitContext) -> LayerCode:
    return LayerCode(forward=lambda inputs, m: " * ".join(inputs))


@emitter("Average")
def average(e: EmitContext) -> LayerCode:
    return LayerCode(forward=lambda inputs, m: f"({' + '.join(inputs)}) / {len(inputs)}")


@emitter("Maximum", "Minimum")
def extremum(e: EmitContext) -> LayerCode:
    fn = "jnp.maximum" if e.node.kind == "Maximum" else "jnp.minimum"

    def forward(inputs: Sequence[str], m: Refs) -> str:
        expr = inputs[0]
        for other in inputs[1:]:
            expr = f"{fn}({expr}, {other})"
        return expr

    return LayerCode(forward=forward)


@emitter("Concatenate")
def concatenate(e: EmitContext) -> LayerCode:
    axis = e.jax_axis(e.config.axis, len(e.in_shape))
    return LayerCode(forward=lambda inputs, m: f"jnp.concatenate([{', '.join(inputs)}], axis={axis})")


@emitter("Dot")
def dot(e: EmitContext) -> LayerCode:
    axes, normalize = e.config.axes, e.config.normalize
    return LayerCode(
        forward=lambda inputs, m: f"keras_dot({inputs[0]}, {inputs[1]}, {axes!r}, {normalize!r})",
        needs="lang",
        produces="lang",
        helpers=("keras_dot",),
    )
