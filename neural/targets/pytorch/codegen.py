"""Analysed network -> one readable PyTorch module (model class, `build_model()`, training, `main`).

Safety: the only text that reaches the generated code from a .neural file is identifiers checked
by the resolver (layer and input names, re-checked here) and literals written with `repr()`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from neural import __version__
from neural.shapes.engine import NodeShape, ShapedNetwork
from neural.targets.common import codegen
from neural.targets.common.codegen import SAFE_FILE_NAME, check_identifier, format_code, module_constants
from neural.targets.common.writer import GraphWriter, Value, shape_comment
from neural.targets.pytorch.emit import EmitContext, Layout, require_emitter
from neural.targets.pytorch.support import HELPERS, helper_sources
from neural.targets.pytorch.training_code import training_section

__all__ = ["SAFE_FILE_NAME", "check_identifier", "class_name", "format_code", "generate", "generate_all"]

# Names the generated forward() uses itself; layer variables with these names get a trailing `_`.
RESERVED_LOCALS = frozenset({"self", "torch", "nn", "F", "math", "np", "x", "Tensor"})
# Capitalized names the generated module imports or defines besides the model class.
# Module-level names of the generated code a model class must not shadow.
TAKEN_CLASS_NAMES = frozenset(
    {
        "F",
        "Any",
        "Callable",
        "Literal",
        "Path",
        "Metrics",
        "NETWORK",
        "INPUTS",
        "OUTPUTS",
        "LAYOUT",
        "TRAIN",
        "LOSS",
        "OPTIMIZER",
        "SCHEDULE",
        "METRICS",
        "EXECUTION",
    }
)


def class_name(network: str) -> str:
    """The model class of a network; `<Name>Network` where the name is a support class or an import
    (a network called FeedForward must not shadow the FeedForward helper its own layers use)."""
    return codegen.class_name(network, TAKEN_CLASS_NAMES, HELPERS)


@dataclass
class Generated:
    init_lines: list[str] = field(default_factory=list)
    forward_lines: list[str] = field(default_factory=list)
    helpers: set[str] = field(default_factory=set)


class ModelWriter(GraphWriter[Layout]):
    """Writes the model class for one analysed network."""

    reserved = (RESERVED_LOCALS,)

    def __init__(self, shaped: ShapedNetwork) -> None:
        super().__init__(shaped)
        self.out = Generated()
        self.devices = {layer.node.device for layer in shaped.layers if layer.node.device}

    # --- layouts ---
    def convert(self, value: Value[Layout], layout: Layout) -> str:
        """The expression of `value` in `layout` (a permute only when the layouts really differ)."""
        if layout == "any" or value.layout == layout or value.rank < 2 or not self.ctx.channels_last:
            return value.expr
        if layout == "torch":
            return f"{value.expr}.movedim(-1, 1)"
        return f"{value.expr}.movedim(1, -1)"

    # --- nodes ---
    def emit_layer(self, layer: NodeShape) -> None:
        node = layer.node
        emit = require_emitter(node.kind, node.span)
        code, inputs, layouts, produced = self.negotiate(layer, lambda ls: emit(EmitContext(layer, self.ctx, ls)))
        args = [self.convert(v, layout) for v, layout in zip(inputs, layouts)]
        attr = f"self.{check_identifier(node.name)}"
        if code.module is not None:
            module = code.module if not node.device else f"{code.module}.to(device_or_cpu({node.device!r}))"
            comment = f"  # {code.comment}" if code.comment else ""
            self.out.init_lines.append(f"{attr} = {module}{comment}")
        self.out.init_lines.extend(line.format(module=attr) for line in code.init_after)
        if node.device:
            args = [f"{a}.to(device_or_cpu({node.device!r}))" for a in args]
            self.out.helpers.add("device_or_cpu")
        expr = code.forward(args, attr)
        self.out.helpers.update(code.helpers)
        names = self.output_variables(layer)
        self.out.forward_lines.append(f"{', '.join(names)} = {expr}  # {shape_comment(layer)}")
        self.bind(layer, names, produced)

    # --- the class ---
    def write(self) -> str:
        signature = [f"{var}: torch.Tensor" for var, _ in self.bind_inputs()]
        self.emit_layers()
        return codegen.model_class(
            class_name(self.net.name),
            "nn.Module",
            f"{self.net.name}: {self.summary()}",
            init="def __init__(self) -> None:",
            init_body=["super().__init__()", *(self.out.init_lines or ["pass"])],
            method="forward",
            signature=signature,
            body=self.out.forward_lines,
            outputs=[self.convert(self.values[ref], "lang") for ref in self.net.outputs],
            array="torch.Tensor",
        )


def _imports(helpers: set[str]) -> list[str]:
    return [
        "from __future__ import annotations",
        "",
        "import argparse",
        "import math",
        "import os",
        "import time",
        "from collections.abc import Callable",
        "from pathlib import Path",
        "from typing import Any, Literal",
        "",
        "import numpy as np",
        "import torch",
        "import torch.nn.functional as F",
        "from torch import nn",
    ]


def _header(shaped: ShapedNetwork, source: str | None) -> list[str]:
    return [
        f'"""PyTorch model for network {shaped.network.name}, generated by Neural {__version__}{codegen.source_note(source)}.',
        "",
        "Run it as a script to train (`python model.py --help`), or import it: `build_model()` returns the",
        "model. Inputs are laid out as in the .neural file"
        + (
            " (channels-last; the model moves channels first inside)."
            if shaped.network.layout == "channels_last"
            else "."
        ),
        '"""',
    ]


def generate(shaped: ShapedNetwork, *, source: str | None = None) -> str:
    """The complete module text for one analysed network (unformatted; see `format_code`)."""
    writer = ModelWriter(shaped)
    model = writer.write()
    cls = class_name(shaped.network.name)
    build = [
        f"def build_model() -> {cls}:",
        f'    """A freshly initialized {shaped.network.name}."""',
        f"    return {cls}()",
    ]
    return codegen.module_text(
        _header(shaped, source),
        _imports(writer.out.helpers),
        module_constants(shaped),
        helper_sources(writer.out.helpers),
        model,
        build,
        [training_section(shaped)],
    )


def generate_all(networks: Sequence[ShapedNetwork]) -> dict[str, str]:
    return codegen.generate_all(networks, generate)
