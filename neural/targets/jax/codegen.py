"""Analysed network -> one readable JAX/Flax NNX module (model class, `build_model()`, the canonical
weight table and its conversions, training, `main`).

Safety: the only text that reaches the generated code from a .neural file is identifiers checked by
the resolver (layer and input names, re-checked here) and literals written with `repr()`.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from pprint import pformat

from neural import __version__
from neural.errors import BackendError, NeuralErrors, raise_collected
from neural.ir import TensorRef
from neural.layers.base import LayerContext, fmt_shape
from neural.shapes.engine import NodeShape, ShapedNetwork
from neural.targets.jax.emit import EmitContext, LayerCode, Layout, Refs, get_emitter, support_status
from neural.targets.jax.emit import Path as StatePath
from neural.targets.jax.support import HELPERS, helper_sources
from neural.targets.jax.training_code import training_section, weights_section

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Names the generated __call__ uses itself; layer variables with these names get a trailing `_`.
RESERVED_LOCALS = frozenset({"self", "jax", "jnp", "nnx", "np", "math", "lax", "optax", "x", "Any"})
# Attributes of nnx.Module (and the switches model.train() / model.eval() set on every submodule): a
# layer with one of these names is stored under another attribute (its canonical weight names stay).
MODULE_ATTRIBUTES = frozenset(
    {
        "eval",
        "train",
        "iter_children",
        "iter_modules",
        "perturb",
        "set_attributes",
        "sow",
        "set_view",
        "deterministic",
        "use_running_average",
        "rngs",
    }
)
# Capitalized names the generated module imports or defines besides the model class.
TAKEN_CLASS_NAMES = frozenset({"Any", "Callable", "Path", "Metrics", "NamedSharding", "P", "NamedTuple"})


def check_identifier(name: str) -> str:
    """Defence in depth: names reach generated code only if they are plain identifiers."""
    if not IDENTIFIER.match(name) or keyword.iskeyword(name):
        raise BackendError(f"`{name}` cannot be used as a Python name in generated code")
    return name


def class_name(network: str) -> str:
    """The model class of a network; `<Name>Network` where the name is a support class or an import."""
    check_identifier(network)
    name = network[0].upper() + network[1:]
    return f"{name}Network" if name in TAKEN_CLASS_NAMES or name in HELPERS else name


@dataclass
class Value:
    """An array in the generated __call__: the expression that holds it and its layout."""

    expr: str
    layout: Layout
    rank: int  # rank of one sample (without the batch axis)


@dataclass
class Generated:
    init_lines: list[str] = field(default_factory=list)
    call_lines: list[str] = field(default_factory=list)
    helpers: set[str] = field(default_factory=set)
    weights: dict[str, tuple[StatePath, str, tuple[int, ...]]] = field(default_factory=dict)


class ModelWriter:
    """Writes the model class for one analysed network."""

    def __init__(self, shaped: ShapedNetwork) -> None:
        self.shaped = shaped
        self.net = shaped.network
        self.ctx = LayerContext(self.net.layout)
        self.out = Generated()
        self.values: dict[TensorRef, Value] = {}
        self.uses = self._count_uses()
        self.attributes: set[str] = set()
        names = [layer.node.name for layer in shaped.layers]
        self.taken_attributes = {n for n in names if not self._reserved_attribute(n)}

    def _count_uses(self) -> dict[TensorRef, int]:
        counts: dict[TensorRef, int] = {}
        for node in self.net.nodes:
            for ref in node.inputs:
                counts[ref] = counts.get(ref, 0) + 1
        for ref in self.net.outputs:
            counts[ref] = counts.get(ref, 0) + 1
        return counts

    # --- names ---
    @staticmethod
    def _reserved_attribute(name: str) -> bool:
        return name.startswith("_") or name in MODULE_ATTRIBUTES

    def attribute(self, wanted: str) -> str:
        """A fresh attribute name of the model for `wanted` (a layer name, or a layer name plus a suffix)."""
        check_identifier(wanted)
        base = (
            (f"layer{wanted}" if wanted.startswith("_") else f"{wanted}_")
            if self._reserved_attribute(wanted)
            else wanted
        )
        name, i = base, 1
        while name in self.attributes or (name != wanted and name in self.taken_attributes):
            i += 1
            name = f"{base}_{i}"
        self.attributes.add(name)
        return name

    def variable(self, name: str) -> str:
        check_identifier(name)
        return f"{name}_" if name in RESERVED_LOCALS or name in HELPERS else name

    # --- layouts ---
    def convert(self, value: Value, layout: Layout) -> str:
        """The expression of `value` in `layout` (a transpose only when the layouts really differ)."""
        if layout == "any" or value.layout == layout or value.rank < 2 or self.ctx.channels_last:
            return value.expr
        if layout == "flax":
            return f"jnp.moveaxis({value.expr}, 1, -1)"
        return f"jnp.moveaxis({value.expr}, -1, 1)"

    # --- nodes ---
    def emit_layer(self, layer: NodeShape) -> None:
        node = layer.node
        emit = get_emitter(node.kind)
        if emit is None:
            _, reason = support_status(node.kind)
            raise BackendError(f"the JAX backend cannot generate {node.kind}: {reason}", node.span)
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
        refs = self._modules(layer, code)
        expr = code.forward(args, refs)
        produced: Layout = code.produces if code.produces != "any" else (layouts[0] if layouts else "lang")
        self.out.helpers.update(code.helpers)
        self._assign(layer, expr, produced)

    def _modules(self, layer: NodeShape, code: LayerCode) -> Refs:
        """Constructor lines of the layer's modules; the weight table entries of its canonical weights."""
        node = layer.node
        owners: dict[str, str] = {}
        comment = f"  # {code.comment}" if code.comment else ""
        if code.module is not None:
            owners[""] = self.attribute(node.name)
            self.out.init_lines.append(f"self.{owners['']} = {code.module}{comment}")
        for key, ctor in code.extras.items():
            owners[key] = self.attribute(f"{node.name}_{key}")
            self.out.init_lines.append(f"self.{owners[key]} = {ctor}")
        expected = set(layer.weights)
        if set(code.weights) != expected:
            raise BackendError(
                f"internal: the JAX emitter of {node.kind} places weights {sorted(code.weights)}, the layer has {sorted(expected)}"
            )
        for name, slot in code.weights.items():
            shape = tuple(layer.weights[name].shape)
            self.out.weights[f"{node.name}.{name}"] = ((owners[slot.owner], *slot.path), slot.layout, shape)
        main = f"self.{owners['']}" if "" in owners else ""
        return Refs(main, {key: f"self.{attr}" for key, attr in owners.items() if key})

    def _assign(self, layer: NodeShape, expr: str, layout: Layout) -> None:
        outputs = layer.output_shapes
        shapes = ", ".join(fmt_shape((None, *s)) for s in outputs)
        name = layer.node.name
        if len(outputs) == 1:
            ref = TensorRef(name, 0)
            var = "x" if self._flows_straight(layer) else self.variable(name)
            self.out.call_lines.append(f"{var} = {expr}  # {shapes}")
            self.values[ref] = Value(var, layout if len(outputs[0]) >= 2 else "lang", len(outputs[0]))
            return
        base = self.variable(name)
        names = [f"{base}_{i}" if self.uses.get(TensorRef(name, i)) else f"_{base}_{i}" for i in range(len(outputs))]
        self.out.call_lines.append(f"{', '.join(names)} = {expr}  # {shapes}")
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
        return nodes[index + 1].inputs[:1] == (ref,)

    # --- the class ---
    def write(self) -> str:
        errors = []
        signature = []
        for spec in self.net.inputs:
            var = self.variable(spec.name)
            signature.append(f"{var}: jax.Array")
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
        returns = "jax.Array" if len(outputs) == 1 else f"tuple[{', '.join(['jax.Array'] * len(outputs))}]"
        cls = class_name(self.net.name)
        lines = [
            f"class {cls}(nnx.Module):",
            f'    """{self.net.name}: {self._summary()}"""',
            "",
            "    def __init__(self, rngs: nnx.Rngs) -> None:",
            *(f"        {line}" for line in self.out.init_lines),
        ]
        if not self.out.init_lines:
            lines.append("        del rngs  # no layer with weights or randomness")
        lines += [
            "",
            f"    def __call__(self, {', '.join(signature)}) -> {returns}:",
            *(f"        {line}" for line in self.out.call_lines),
            f"        return {returned}",
        ]
        return "\n".join(lines)

    def _summary(self) -> str:
        shapes = ", ".join(f"{i.name} {fmt_shape(i.shape)}" for i in self.net.inputs)
        return f"inputs {shapes} ({self.net.layout}); {self.shaped.params:,} trainable parameters."


def _imports(uses_lax: bool) -> list[str]:
    return [
        "from __future__ import annotations",
        "",
        "import argparse",
        "import math",
        "import os",
        "import time",
        "from collections.abc import Callable, Mapping",
        "from pathlib import Path",
        "from typing import Any, NamedTuple",
        "",
        "import jax",
        "import jax.numpy as jnp",
        "import numpy as np",
        "import optax",
        "from flax import nnx",
        *(["from jax import lax"] if uses_lax else []),
        "from jax.sharding import NamedSharding",
        "from jax.sharding import PartitionSpec as P",
    ]


SAFE_FILE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def _header(shaped: ShapedNetwork, source: str | None) -> list[str]:
    name = Path(source).name if source else ""
    where = f" from {name}" if SAFE_FILE_NAME.match(name) else ""  # a file name never reaches code unchecked
    layout = shaped.network.layout
    return [
        f'"""JAX/Flax (NNX) model for network {shaped.network.name}, generated by Neural {__version__}{where}.',
        "",
        "Run it as a script to train (`python model.py --help`), or import it: `build_model()` returns the",
        "nnx.Module. Inputs are laid out as in the .neural file"
        + (
            " (channels-last, as flax takes feature maps)."
            if layout == "channels_last"
            else " (channels-first; the model moves channels last inside)."
        ),
        "`canonical_weights(model)` / `load_canonical(model, arrays)` convert to and from Neural's checkpoint format",
        "(PyTorch names and layouts), so weights move between this module and every other Neural backend.",
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


@dataclass(frozen=True)
class ModelCode:
    """The model class (text), the helpers it uses and the canonical weight table."""

    text: str
    helpers: frozenset[str]
    weights: dict[str, tuple[StatePath, str, tuple[int, ...]]]


def model_code(shaped: ShapedNetwork) -> ModelCode:
    writer = ModelWriter(shaped)
    text = writer.write()
    return ModelCode(text, frozenset(writer.out.helpers), dict(writer.out.weights))


def weight_table_lines(weights: dict[str, tuple[StatePath, str, tuple[int, ...]]]) -> list[str]:
    body = pformat(weights, sort_dicts=False, width=110) if weights else "{}"
    return [
        "# canonical weight (Neural's checkpoint name) -> (path in nnx.state(model), layout transform, PyTorch shape)",
        f"WEIGHTS: dict[str, tuple[tuple[str | int, ...], str, tuple[int, ...]]] = {body}",
    ]


def generate(shaped: ShapedNetwork, *, source: str | None = None) -> str:
    """The complete module text for one analysed network (unformatted; see `format_code`)."""
    code = model_code(shaped)
    cls = class_name(shaped.network.name)
    helpers = helper_sources(code.helpers)
    uses_lax = re.search(r"\blax\.", "\n".join([*helpers, code.text])) is not None
    parts = [
        *_header(shaped, source),
        "",
        *_imports(uses_lax),
        "",
        *_constants(shaped),
        "",
        *helpers,
        code.text,
        "",
        "",
        f"def build_model(rngs: nnx.Rngs | None = None) -> {cls}:",
        f'    """A freshly initialized {shaped.network.name} (parameters from `rngs`, default seed 0)."""',
        f"    return {cls}(rngs if rngs is not None else nnx.Rngs(0))",
        "",
        "",
        *weight_table_lines(code.weights),
        "",
        "",
        weights_section(),
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
    """Format generated code with ruff (the same formatter as the PyTorch target)."""
    from neural.targets.pytorch.codegen import format_code as ruff_format

    return ruff_format(text)
