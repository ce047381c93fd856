"""Generates docs/layers.md from the layer registry: `python -m neural.docs [--check]`."""

from __future__ import annotations

import sys
from pathlib import Path

from neural.config.args import Arg
from neural.config.training import EARLY_STOPPING, LOSSES, METRICS, OPTIMIZERS, SCHEDULES, ComponentSpec
from neural.config.values import describe
from neural.layers.base import LayerSpec
from neural.layers.registry import all_specs

DOCS = Path(__file__).resolve().parent.parent / "docs"
FAMILY_TITLES = {
    "core": "Core",
    "activations": "Activations",
    "conv": "Convolution",
    "pooling": "Pooling",
    "resizing": "Resizing",
    "normalization": "Normalization",
    "regularization": "Regularization",
    "recurrent": "Recurrent",
    "attention": "Attention and transformers",
    "merge": "Merge",
    "structure": "Structure",
}


def _arg_row(arg: Arg) -> str:
    default = "required" if arg.required else f"`{describe(arg.default)}`"
    aliases = ", ".join(f"`{a}`" for a in arg.aliases)
    pos = "yes" if arg.positional else ""
    return f"| `{arg.name}` | {arg.type.describe()} | {default} | {pos} | {aliases} | {arg.doc} |"


def _args_table(schema: tuple[Arg, ...]) -> list[str]:
    if not schema:
        return ["No arguments."]
    return [
        "| argument | type | default | positional | aliases | meaning |",
        "|---|---|---|---|---|---|",
        *(_arg_row(a) for a in schema),
    ]


def _inputs(spec: LayerSpec) -> str:
    if spec.max_inputs == spec.min_inputs:
        return str(spec.min_inputs)
    if spec.max_inputs is None:
        return f"{spec.min_inputs} or more"
    return f"{spec.min_inputs} to {spec.max_inputs}"


def _layer_section(spec: LayerSpec) -> list[str]:
    lines = [f"### {spec.kind}", "", spec.doc, ""]
    if spec.aliases:
        lines += ["Also written: " + ", ".join(f"`{a}`" for a in spec.aliases) + ".", ""]
    lines += [f"Inputs: {_inputs(spec)}. Shape rule: {spec.shape_rule or 'see the description'}.", ""]
    lines += [*_args_table(spec.schema), ""]
    return lines


def _component_section(title: str, specs: tuple[ComponentSpec, ...]) -> list[str]:
    lines = [f"## {title}", ""]
    for spec in specs:
        lines += [f"### {spec.name}", ""]
        if spec.doc:
            lines += [spec.doc, ""]
        if spec.aliases:
            lines += ["Also written: " + ", ".join(f"`{a}`" for a in spec.aliases) + ".", ""]
        lines += [*_args_table(spec.schema), ""]
    return lines


def render_layers() -> str:
    """The full text of docs/layers.md."""
    specs = list(all_specs())
    lines = [
        "# Layer reference",
        "",
        "Generated from the layer registry by `python -m neural.docs`; do not edit by hand.",
        "Shapes exclude the batch axis and are channels-last unless the network declares",
        "`layout: channels_first`. Parameter names and layouts are PyTorch's.",
        "",
        f"{len(specs)} layer kinds.",
        "",
    ]
    for family, title in FAMILY_TITLES.items():
        members = [s for s in specs if s.family == family]
        if not members:
            continue
        lines += [f"## {title}", ""]
        for spec in members:
            lines += _layer_section(spec)
    lines += _component_section("Losses", LOSSES)
    lines += _component_section("Optimizers", OPTIMIZERS)
    lines += _component_section("Learning-rate schedules", SCHEDULES)
    lines += _component_section("Metrics", METRICS)
    lines += _component_section("Callbacks", (EARLY_STOPPING,))
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str]) -> int:
    target = DOCS / "layers.md"
    text = render_layers()
    if "--check" in argv:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            sys.stderr.write("docs/layers.md is out of date: run `python -m neural.docs`\n")
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
