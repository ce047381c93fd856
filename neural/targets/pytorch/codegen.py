"""Analysed network -> one readable PyTorch module (model class, `build_model()`, training, `main`).

Safety: the only text that reaches the generated code from a .neural file is identifiers checked
by the resolver (layer and input names, re-checked here) and literals written with `repr()`.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from neural import __version__
from neural.errors import BackendError, NeuralErrors, raise_collected
from neural.ir import TensorRef
from neural.layers.base import LayerContext, fmt_shape
from neural.shapes.engine import NodeShape, ShapedNetwork
from neural.targets.pytorch.emit import EmitContext, Layout, get_emitter, support_status
from neural.targets.pytorch.support import HELPERS, helper_sources
from neural.targets.pytorch.training_code import training_section

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Names the generated forward() uses itself; layer variables with these names get a trailing `_`.
RESERVED_LOCALS = frozenset({"self", "torch", "nn", "F", "math", "np", "x", "Tensor"})


def check_identifier(name: str) -> str:
    """Defence in depth: names reach generated code only if they are plain identifiers."""
    if not IDENTIFIER.match(name) or keyword.iskeyword(name):
        raise BackendError(f"`{name}` cannot be used as a Python name in generated code")
    return name


# Capitalized names the generated module imports or defines besides the model class.
# Module-level names of the generated code a model class must not shadow.
TAKEN_CLASS_NAMES = frozenset(
    {"F", "Any", "Callable", "Literal", "Path", "Metrics", "NETWORK", "INPUTS", "OUTPUTS", "LAYOUT", "TRAIN", "LOSS",
     "OPTIMIZER", "SCHEDULE", "METRICS", "EXECUTION"}
)


def class_name(network: str) -> str:
    """The model class of a network; `<Name>Network` where the name is a support class or an import
    (a network called FeedForward must not shadow the FeedForward helper its own layers use)."""
    check_identifier(network)
    name = network[0].upper() + network[1:]
    return f"{name}Network" if name in TAKEN_CLASS_NAMES or name in HELPERS else name


@dataclass
class Value:
    """A tensor in the generated forward(): the expression that holds it and its layout."""

    expr: str
    layout: Layout
    rank: int  # rank of one sample (without the batch axis)


@dataclass
class Generated:
    init_lines: list[str] = field(default_factory=list)
    forward_lines: list[str] = field(default_factory=list)
    helpers: set[str] = field(default_factory=set)


class ModelWriter:
    """Writes the model class for one analysed network."""

    def __init__(self, shaped: ShapedNetwork) -> None:
        self.shaped = shaped
        self.net = shaped.network
        self.ctx = LayerContext(self.net.layout)
        self.out = Generated()
        self.values: dict[TensorRef, Value] = {}
        self.uses = self._count_uses()
        self.devices = {layer.node.device for layer in shaped.layers if layer.node.device}

    def _count_uses(self) -> dict[TensorRef, int]:
        counts: dict[TensorRef, int] = {}
        for node in self.net.nodes:
            for ref in node.inputs:
                counts[ref] = counts.get(ref, 0) + 1
        for ref in self.net.outputs:
            counts[ref] = counts.get(ref, 0) + 1
        return counts

    # --- layouts ---
    def convert(self, value: Value, layout: Layout) -> str:
        """The expression of `value` in `layout` (a permute only when the layouts really differ)."""
        if layout == "any" or value.layout == layout or value.rank < 2 or not self.ctx.channels_last:
            return value.expr
        if layout == "torch":
            return f"{value.expr}.movedim(-1, 1)"
        return f"{value.expr}.movedim(1, -1)"

    # --- nodes ---
    def variable(self, layer: NodeShape) -> str:
        name = check_identifier(layer.node.name)
        return f"{name}_" if name in RESERVED_LOCALS else name

    def emit_layer(self, layer: NodeShape) -> None:
        node = layer.node
        emit = get_emitter(node.kind)
        if emit is None:
            _, reason = support_status(node.kind)
            raise BackendError(f"the PyTorch backend cannot generate {node.kind}: {reason}", node.span)
        inputs = [self.values[ref] for ref in node.inputs]
        probe = emit(EmitContext(layer, self.ctx, tuple(v.layout for v in inputs)))
        needs = probe.needs
        if needs == "any" and len({v.layout for v in inputs if v.rank >= 2}) > 1:
            needs = "lang"
        layouts: tuple[Layout, ...] = tuple(
            (needs if needs != "any" else v.layout) if v.rank >= 2 else "lang" for v in inputs
        )
        code = emit(EmitContext(layer, self.ctx, layouts)) if layouts != tuple(v.layout for v in inputs) else probe
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
        produced: Layout = code.produces if code.produces != "any" else (layouts[0] if layouts else "lang")
        self.out.helpers.update(code.helpers)
        self._assign(layer, expr, produced)

    def _assign(self, layer: NodeShape, expr: str, layout: Layout) -> None:
        outputs = layer.output_shapes
        shapes = ", ".join(fmt_shape((None, *s)) for s in outputs)
        name = layer.node.name
        if len(outputs) == 1:
            ref = TensorRef(name, 0)
            var = "x" if self._flows_straight(layer) else self.variable(layer)
            self.out.forward_lines.append(f"{var} = {expr}  # {shapes}")
            self.values[ref] = Value(var, layout if len(outputs[0]) >= 2 else "lang", len(outputs[0]))
            return
        base = self.variable(layer)
        # outputs nothing reads are named `_...` (ruff's unused-unpacked-variable rule)
        names = [f"{base}_{i}" if self.uses.get(TensorRef(name, i)) else f"_{base}_{i}" for i in range(len(outputs))]
        self.out.forward_lines.append(f"{', '.join(names)} = {expr}  # {shapes}")
        for i, (var, shape) in enumerate(zip(names, outputs)):
            self.values[TensorRef(name, i)] = Value(var, layout if len(shape) >= 2 else "lang", len(shape))

    def _flows_straight(self, layer: NodeShape) -> bool:
        """Use the running variable `x` when the only reader is the next layer (a plain chain)."""
        ref = TensorRef(layer.node.name, 0)
        if self.uses.get(ref, 0) != 1 or ref in self.net.outputs:
            return False
        nodes = self.net.nodes
        index = next(i for i, n in enumerate(nodes) if n.name == layer.node.name)
        if index + 1 >= len(nodes):
            return False
        # `x` holds at most one value at a time, read once and right away by the next layer
        return nodes[index + 1].inputs[:1] == (ref,)

    # --- the class ---
    def write(self) -> str:
        errors = []
        signature = []
        for spec in self.net.inputs:
            var = check_identifier(spec.name)
            var = f"{var}_" if var in RESERVED_LOCALS else var
            signature.append(f"{var}: torch.Tensor")
            self.values[TensorRef(spec.name, 0)] = Value(var, "lang", len(spec.shape))
        for layer in self.shaped.layers:
            if any(ref not in self.values for ref in layer.node.inputs):
                continue  # reads a layer that could not be generated (already reported)
            try:
                self.emit_layer(layer)
            except BackendError as exc:
                errors.append(exc.with_span(layer.node.span))
        raise_collected(errors)
        outputs = [self.convert(self.values[ref], "lang") for ref in self.net.outputs]
        returned = outputs[0] if len(outputs) == 1 else f"({', '.join(outputs)})"
        returns = "torch.Tensor" if len(outputs) == 1 else f"tuple[{', '.join(['torch.Tensor'] * len(outputs))}]"
        cls = class_name(self.net.name)
        lines = [
            f"class {cls}(nn.Module):",
            f'    """{self.net.name}: {self._summary()}"""',
            "",
            "    def __init__(self) -> None:",
            "        super().__init__()",
            *(f"        {line}" for line in self.out.init_lines),
        ]
        if not self.out.init_lines:
            lines.append("        pass")
        lines += [
            "",
            f"    def forward(self, {', '.join(signature)}) -> {returns}:",
            *(f"        {line}" for line in self.out.forward_lines),
            f"        return {returned}",
        ]
        return "\n".join(lines)

    def _summary(self) -> str:
        shapes = ", ".join(f"{i.name} {fmt_shape(i.shape)}" for i in self.net.inputs)
        return f"inputs {shapes} ({self.net.layout}); {self.shaped.params:,} trainable parameters."


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


SAFE_FILE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def _header(shaped: ShapedNetwork, source: str | None) -> list[str]:
    name = Path(source).name if source else ""
    where = f" from {name}" if SAFE_FILE_NAME.match(name) else ""  # a file name never reaches code unchecked
    return [
        f'"""PyTorch model for network {shaped.network.name}, generated by Neural {__version__}{where}.',
        "",
        "Run it as a script to train (`python model.py --help`), or import it: `build_model()` returns the",
        "model. Inputs are laid out as in the .neural file"
        + (" (channels-last; the model moves channels first inside)." if shaped.network.layout == "channels_last" else "."),
        '"""',
    ]


def _constants(shaped: ShapedNetwork) -> list[str]:
    net = shaped.network
    inputs = {i.name: (tuple(i.shape), i.dtype) for i in net.inputs}
    outputs = [tuple(d if d is not None else 1 for d in s) for s in shaped.output_shapes]
    return [
        f"NETWORK = {net.name!r}",
        f"INPUTS = {inputs!r}  # name: (shape of one sample, dtype)",
        f"OUTPUTS = {outputs!r}  # shape of one sample of each output",
        f"LAYOUT = {net.layout!r}",
    ]


def generate(shaped: ShapedNetwork, *, source: str | None = None) -> str:
    """The complete module text for one analysed network (unformatted; see `format_code`)."""
    writer = ModelWriter(shaped)
    model = writer.write()
    cls = class_name(shaped.network.name)
    parts = [
        *_header(shaped, source),
        "",
        *_imports(writer.out.helpers),
        "",
        *_constants(shaped),
        "",
        *helper_sources(writer.out.helpers),
        model,
        "",
        "",
        f"def build_model() -> {cls}:",
        f'    """A freshly initialized {shaped.network.name}."""',
        f"    return {cls}()",
        "",
        "",
        training_section(shaped),
    ]
    return "\n".join(parts).rstrip() + "\n"


def generate_all(networks: Sequence[ShapedNetwork]) -> dict[str, str]:
    found: dict[str, str] = {}
    errors = []
    for shaped in networks:
        try:
            found[shaped.network.name] = generate(shaped)
        except (BackendError, NeuralErrors) as exc:
            errors.append(exc)
    raise_collected(errors)
    return found


def format_code(text: str) -> str:
    """Format generated code with ruff (installed with Neural); unchanged if ruff is unavailable."""
    import subprocess
    import sys

    try:
        result = subprocess.run(
            [sys.executable, "-m", "ruff", "format", "--line-length", "120", "-"],
            input=text,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return text
    return result.stdout if result.returncode == 0 and result.stdout else text
