"""Analysed network -> one readable Keras 3 module (TensorFlow backend): `build_model()`, the weight map,
training with `model.fit`, and a `main` for `python model.py`.

A plain stack (one input, each layer reading the previous one, one output) becomes a `keras.Sequential`;
anything else (residuals, branches, several inputs or outputs) the functional API. Every node is one
Keras layer named after it (plus helper layers named `<node>_<role>` where Keras needs two steps), so
`model.get_layer(name)` finds it. A channels-first network's feature maps are moved channels last (once)
where a layer needs it, with `layers.Permute`.

Safety: the only text that reaches the generated code from a .neural file is identifiers checked by the
resolver (layer and input names, re-checked here) and literals written with `repr()`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from neural import __version__
from neural.errors import BackendError
from neural.ir import TensorRef
from neural.shapes.engine import NodeShape, ShapedNetwork
from neural.targets.common import codegen
from neural.targets.common.codegen import check_identifier, format_code, module_constants
from neural.targets.common.writer import GraphWriter, Value, shape_comment
from neural.targets.tensorflow.emit import EmitContext, Layout, Op, Piece, call, lit, require_emitter
from neural.targets.tensorflow.support import helper_sources
from neural.targets.tensorflow.training_code import training_section

# Names build_model() uses itself; variables of layers or inputs with these names get a trailing `_`.
RESERVED_LOCALS = frozenset(
    {"keras", "layers", "ops", "tf", "np", "math", "os", "time", "argparse", "x", "model", "Any", "Callable", "Path"}
)

__all__ = ["format_code", "generate", "generate_all"]


class Names:
    """Unique names: `base`, else `base_2`, `base_3` ..."""

    def __init__(self, taken: Sequence[str] = ()) -> None:
        self.taken = set(taken)

    def get(self, base: str) -> str:
        name, i = base, 2
        while name in self.taken:
            name, i = f"{base}_{i}", i + 1
        self.taken.add(name)
        return name


@dataclass
class Step:
    """One line of build_model(): layers applied to a value (functional form) and, for a plain stack, the
    same layers as entries of keras.Sequential."""

    line: str
    stack: list[str] = field(default_factory=list)
    comment: str = ""


class ModelWriter(GraphWriter[Layout]):
    """Writes build_model() and the weight map of one analysed network."""

    reserved = (RESERVED_LOCALS,)

    def __init__(self, shaped: ShapedNetwork) -> None:
        super().__init__(shaped)
        node_names = [check_identifier(n.name) for n in self.net.nodes]
        input_names = [check_identifier(i.name) for i in self.net.inputs]
        self.layer_names = Names([*node_names, *input_names])
        self.variables = Names([*node_names, *input_names, *RESERVED_LOCALS])
        self.converted: dict[tuple[TensorRef, Layout], Value[Layout]] = {}
        self.steps: list[Step] = []
        self.helpers: set[str] = set()
        self.weights: dict[str, tuple[str, str, tuple[int, ...], tuple[Op, ...]]] = {}
        self.live = self._live_nodes()
        self.plain = self._plain_stack()

    def _live_nodes(self) -> set[str]:
        """Nodes some network output depends on (a Keras functional model holds only those)."""
        producers = {node.name: node for node in self.net.nodes}
        live: set[str] = set()
        stack = [ref.node for ref in self.net.outputs]
        while stack:
            name = stack.pop()
            if name in live or name not in producers:
                continue
            live.add(name)
            stack.extend(ref.node for ref in producers[name].inputs)
        return live

    def _plain_stack(self) -> bool:
        """One input, one output (the last layer's), every layer reading just the one before it."""
        nodes = self.net.nodes
        if len(self.net.inputs) != 1 or len(self.net.outputs) != 1 or not nodes:
            return False
        previous = TensorRef(self.net.inputs[0].name, 0)
        for layer in self.shaped.layers:
            if layer.node.inputs != (previous,) or len(layer.output_shapes) != 1:
                return False
            previous = TensorRef(layer.node.name, 0)
        return self.net.outputs == (previous,)

    # --- values ---
    def convert(self, ref: TensorRef, layout: Layout) -> Value[Layout]:
        """The value of `ref` in `layout`: a Permute layer where a channels-first map changes layout."""
        value = self.values[ref]
        if layout == "any" or value.layout == layout or value.rank < 2 or self.ctx.channels_last:
            return value
        if (ref, layout) in self.converted:
            return self.converted[(ref, layout)]
        rank = value.rank
        dims = (*range(2, rank + 1), 1) if layout == "keras" else (rank, *range(1, rank))
        role = "channels_last" if layout == "keras" else "channels_first"
        name = self.layer_names.get(f"{ref.node}_{role}" if ref.index == 0 else f"{ref.node}_{ref.index}_{role}")
        permute = call("layers.Permute", dims, name=name)
        straight = value.expr == "x" and self.uses.get(ref, 0) == 1
        var = "x" if straight else self.variables.get(f"{value.expr.lstrip('_')}_{role}")
        self.steps.append(
            Step(
                f"{var} = {permute}({value.expr})",
                [permute],
                "move channels last" if layout == "keras" else "move channels first",
            )
        )
        converted: Value[Layout] = Value(var, layout, rank)
        self.converted[(ref, layout)] = converted
        return converted

    # --- nodes ---
    def emit_layer(self, layer: NodeShape) -> None:
        node = layer.node
        if node.name not in self.live:
            self._leave_out(layer)
            return
        emit = require_emitter(node.kind, node.span)
        code, _, layouts, produced = self.negotiate(layer, lambda ls: emit(EmitContext(layer, self.ctx, ls)))
        args = [self.convert(ref, layout).expr for ref, layout in zip(node.inputs, layouts)]
        # the main layer is named after the node (node names are unique); helpers get free names
        names = {
            p.role: node.name if not p.role else self.layer_names.get(f"{node.name}_{p.role}") for p in code.pieces
        }
        exprs = [p.expr(names[p.role]) for p in code.pieces]
        self.helpers.update(code.helpers)
        self._check_weights(layer, {b.weight for b in code.weights})
        for binding in code.weights:
            shape = tuple(layer.weights[binding.weight].shape)
            self.weights[f"{node.name}.{binding.weight}"] = (names[binding.role], binding.attr, shape, binding.ops)
        shapes = shape_comment(layer)
        if code.call is not None:
            self.plain = False
            self._assign(layer, code.call(args, exprs), produced, shapes)
            return
        source = args[0] if len(args) == 1 else f"[{', '.join(args)}]"
        several = len(layer.output_shapes) > 1
        var = self.variable(node.name) if several else self.node_variable(layer)
        for i, (piece, expr) in enumerate(zip(code.pieces, exprs)):
            last = i == len(code.pieces) - 1
            if last and several:
                self._assign(layer, f"{expr}({source})", produced, shapes)
                return
            self.steps.append(Step(f"{var} = {expr}({source})", [expr], shapes if last else self._role_comment(piece)))
            source = var
        self._assign(layer, None, produced, shapes, var)

    @staticmethod
    def _role_comment(piece: Piece) -> str:
        return {
            "stride": "the strides, after a stride-1 convolution",
            "crop": "explicit padding of the transposed convolution",
            "activation": "",
        }.get(piece.role, "")

    def _check_weights(self, layer: NodeShape, bound: set[str]) -> None:
        expected = set(layer.weights)
        if expected != bound:
            raise BackendError(
                f"internal error: weights of {layer.node.kind} `{layer.node.name}` and its Keras layers do not match "
                f"(missing {sorted(expected - bound)}, unexpected {sorted(bound - expected)})"
            )

    def _assign(self, layer: NodeShape, expr: str | None, layout: Layout, shapes: str, var: str | None = None) -> None:
        """Bind the layer's outputs: to `var` where its pieces already assigned it, else to variables assigned
        `expr`."""
        if var is not None:
            self.bind(layer, [var], layout)
            return
        names = self.output_variables(layer)
        self.steps.append(Step(f"{', '.join(names)} = {expr}", [], shapes))
        self.bind(layer, names, layout)

    def _leave_out(self, layer: NodeShape) -> None:
        """A layer no output depends on: a Keras functional model leaves it out (an error if it has weights)."""
        if layer.weights:
            raise BackendError(
                f"`{layer.node.name}` ({layer.node.kind}) feeds no output of the network: a Keras functional "
                "model leaves such a layer out, with its weights",
                layer.node.span,
                hint="remove it, or name it in `outputs:`",
            )
        self.plain = False
        self.steps.append(Step(f"# {layer.node.name} ({layer.node.kind}) feeds no output: left out"))

    # --- the function ---
    def write(self) -> str:
        input_lines = []
        for var, spec in self.bind_inputs():
            dtype = {"dtype": spec.dtype} if spec.dtype != "float32" else {}
            input_lines.append((var, call("keras.Input", shape=tuple(spec.shape), name=spec.name, **dtype)))
        self.emit_layers()
        outputs = [self.convert(ref, "lang").expr for ref in self.net.outputs]
        doc = f'    """A freshly initialized {self.net.name}: {self.summary()}"""'
        if self.plain:
            return self._sequential(doc, input_lines[0][1])
        names = [var for var, _ in input_lines]
        inputs = names[0] if len(names) == 1 else f"[{', '.join(names)}]"
        returned = outputs[0] if len(outputs) == 1 else f"[{', '.join(outputs)}]"
        body = [f"{var} = {expr}" for var, expr in input_lines]
        for step in self.steps:
            body.append(f"{step.line}  # {step.comment}" if step.comment else step.line)
        return "\n".join(
            [
                "def build_model() -> keras.Model:",
                doc,
                *(f"    {line}" for line in body),
                f"    return keras.Model(inputs={inputs}, outputs={returned}, name={self.net.name!r})",
            ]
        )

    def _sequential(self, doc: str, input_expr: str) -> str:
        entries = [f"{input_expr},"]
        for step in self.steps:
            for expr in step.stack:
                entries.append(f"{expr},  # {step.comment}" if step.comment else f"{expr},")
        return "\n".join(
            [
                "def build_model() -> keras.Sequential:",
                doc,
                "    return keras.Sequential(",
                "        [",
                *(f"            {entry}" for entry in entries),
                "        ],",
                f"        name={self.net.name!r},",
                "    )",
            ]
        )

    def weight_map(self) -> list[str]:
        lines = [
            "# Canonical weights (PyTorch names and layouts, shared by every backend) -> Keras variables:",
            "# name: (layer, attribute, canonical shape, conversion steps from the canonical array to the variable).",
            "WEIGHTS = {",
        ]
        for name, (layer, attr, shape, ops) in self.weights.items():
            lines.append(f"    {name!r}: ({layer!r}, {attr!r}, {lit(shape)}, {lit(tuple(ops))}),")
        lines.append("}")
        return lines


def _imports() -> list[str]:
    return [
        "from __future__ import annotations",
        "",
        "import argparse",
        "import json",
        "import math",
        "import os",
        "import time",
        "from collections.abc import Callable",
        "from pathlib import Path",
        "from typing import Any",
        "",
        "import numpy as np",
        "",
        'os.environ["KERAS_BACKEND"] = "tensorflow"  # this module is Keras 3 on TensorFlow',
        'os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")',
        "",
        "import keras",
        "import tensorflow as tf",
        "from keras import layers, ops",
        "",
        'if keras.backend.backend() != "tensorflow":',
        '    raise ImportError(f"this module needs Keras on TensorFlow; Keras runs on {keras.backend.backend()} here")',
    ]


def _header(shaped: ShapedNetwork, source: str | None) -> list[str]:
    where = codegen.source_note(source)
    layout = (
        " (channels-first; feature maps move channels last inside, where TensorFlow's kernels need it)."
        if shaped.network.layout == "channels_first"
        else "."
    )
    return [
        f'"""Keras model for network {shaped.network.name}, generated by Neural {__version__}{where}.',
        "",
        "Run it as a script to train (`python model.py --help`), or import it: `build_model()` returns the",
        "keras.Model. Inputs are laid out as in the .neural file" + layout,
        "WEIGHTS maps Neural's canonical weight names (checkpoints shared by every backend) to the model's variables.",
        '"""',
    ]


def generate(shaped: ShapedNetwork, *, source: str | None = None) -> str:
    """The complete module text for one analysed network (unformatted; see `format_code`)."""
    writer = ModelWriter(shaped)
    model = writer.write()
    return codegen.module_text(
        _header(shaped, source),
        _imports(),
        module_constants(shaped),
        helper_sources(writer.helpers),
        model,
        writer.weight_map(),
        [training_section(shaped)],
    )


def generate_all(networks: Sequence[ShapedNetwork]) -> dict[str, str]:
    return codegen.generate_all(networks, generate)
