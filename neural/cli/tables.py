"""Rich tables for the terminal (imported only by commands that print them)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from neural.report import fmt_batched, human_bytes, human_count, human_macs
from neural.shapes.engine import ShapedNetwork


def print_summary(shaped: ShapedNetwork, console: Console | None = None) -> None:
    """A torchinfo-like table: layer, kind, output shape, params, MACs; then the totals."""
    console = console or Console()
    net = shaped.network
    table = Table(title=f"network {net.name}", title_justify="left", show_lines=False)
    table.add_column("Layer")
    table.add_column("Kind")
    table.add_column("Output shape")
    table.add_column("Params", justify="right")
    table.add_column("MACs", justify="right")
    for spec in net.inputs:
        table.add_row(
            spec.name, "Input" + (" (int64)" if spec.dtype == "int64" else ""), fmt_batched(spec.shape), "", ""
        )
    for layer in shaped.layers:
        shapes = ", ".join(fmt_batched(s) for s in layer.output_shapes)
        params = human_count(layer.params) + (f" (+{layer.state:,} state)" if layer.state else "")
        table.add_row(layer.node.name, layer.node.kind, shapes, params, human_count(layer.macs))
    console.print(table)
    total_weights = shaped.params + shaped.state
    lines = [
        ("Trainable params", human_count(shaped.params)),
        ("Non-trainable state", human_count(shaped.state)),
        ("Total", human_count(total_weights)),
        ("MACs (one sample)", f"{human_count(shaped.macs)} ({human_macs(shaped.macs)})"),
        ("Weight memory (float32)", human_bytes(total_weights * 4)),
    ]
    for label, value in lines:
        console.print(f"{label + ':':<26}{value}")
    if net.hpo:
        console.print("Hyperparameters at their first value:")
        for p in net.hpo:
            console.print(f"  {p.label} = {net.hpo_values.get(p.key, p.space.default())!r}  from {p.space.describe()}")
