"""PyTorch emitters: merge layers."""

from __future__ import annotations

from neural.targets.pytorch.emit import EmitContext, LayerCode, emitter


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
    fn = "torch.maximum" if e.node.kind == "Maximum" else "torch.minimum"

    def forward(inputs: list[str] | tuple[str, ...], m: str) -> str:
        expr = inputs[0]
        for other in inputs[1:]:
            expr = f"{fn}({expr}, {other})"
        return expr

    return LayerCode(forward=forward)  # type: ignore[arg-type]


@emitter("Concatenate")
def concatenate(e: EmitContext) -> LayerCode:
    layout = e.input_layouts[0] if e.input_layouts else "lang"
    dim = e.torch_axis(e.config.axis, len(e.in_shape), layout)
    return LayerCode(forward=lambda inputs, m: f"torch.cat([{', '.join(inputs)}], dim={dim})")


@emitter("Dot")
def dot(e: EmitContext) -> LayerCode:
    return LayerCode(
        forward=lambda inputs, m: f"keras_dot({inputs[0]}, {inputs[1]}, {e.config.axes!r}, {e.config.normalize!r})",
        needs="lang",
        produces="lang",
        helpers=("keras_dot",),
    )
