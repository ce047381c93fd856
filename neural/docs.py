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


TARGETS = ("numpy", "pytorch", "tensorflow", "jax", "onnx")


def target_support(target: str, kind: str) -> tuple[bool, str]:
    """(supported, reason) of one layer kind on one backend, from that backend's own registry."""
    import importlib

    if target == "numpy":
        from neural.runtime.kernels import supported_kinds

        return (kind in supported_kinds(), "no NumPy kernel")
    name = "pytorch" if target == "onnx" else target  # ONNX models are exported from the PyTorch backend
    try:
        emit = importlib.import_module(f"neural.targets.{name}.emit")
    except ImportError:
        return False, f"the {target} target is not built yet"
    supported, reason = emit.support_status(kind)
    return bool(supported), str(reason)


def render_support() -> str:
    """docs/support.md: every layer kind by backend, with the reason for every gap."""
    specs = list(all_specs())
    lines = [
        "# Layer support by backend",
        "",
        "Generated from the layer registry and each backend's emitter registry by `python -m neural.docs`.",
        "A gap is a compile error naming the layer and its position, never a skipped layer. A few argument",
        "combinations a framework cannot express are refused the same way; docs/targets.md lists them.",
        "",
        "| layer | " + " | ".join(TARGETS) + " |",
        "|---|" + "---|" * len(TARGETS),
    ]
    gaps: list[str] = []
    for spec in specs:
        cells = []
        for target in TARGETS:
            supported, reason = target_support(target, spec.kind)
            cells.append("yes" if supported else "no")
            if not supported:
                gaps.append(f"- {spec.kind} on {target}: {reason}")
        lines.append(f"| {spec.kind} | " + " | ".join(cells) + " |")
    lines += ["", "## Gaps", "", *(gaps or ["None."])]
    return "\n".join(lines) + "\n"


GENERATED = {"layers.md": render_layers, "support.md": render_support}


def main(argv: list[str]) -> int:
    stale = []
    for name, render in GENERATED.items():
        target = DOCS / name
        text = render()
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if "--check" in argv:
            if current != text:
                stale.append(name)
        elif current != text:
            target.write_text(text, encoding="utf-8")
    if stale:
        sys.stderr.write(f"out of date: {', '.join(stale)}; run `python -m neural.docs`\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
