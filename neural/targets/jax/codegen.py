"""Analysed network -> one readable JAX/Flax NNX module (model class, `build_model()`, the canonical
weight table and its conversions, training, `main`).

Safety: the only text that reaches the generated code from a .neural file is identifiers checked by
the resolver (layer and input names, re-checked here) and literals written with `repr()`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pprint import pformat

from neural import __version__
from neural.errors import BackendError
from neural.shapes.engine import NodeShape, ShapedNetwork
from neural.targets.common import codegen
from neural.targets.common.codegen import check_identifier, format_code, module_constants
from neural.targets.common.writer import GraphWriter, Value, shape_comment
from neural.targets.jax.emit import EmitContext, LayerCode, Layout, Refs, require_emitter
from neural.targets.jax.emit import Path as StatePath
from neural.targets.jax.support import HELPERS, helper_sources
from neural.targets.jax.training_code import training_section, weights_section

__all__ = ["class_name", "format_code", "generate", "generate_all", "model_code"]

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


def class_name(network: str) -> str:
    """The model class of a network; `<Name>Network` where the name is a support class or an import."""
    return codegen.class_name(network, TAKEN_CLASS_NAMES, HELPERS)


@dataclass
class Generated:
    init_lines: list[str] = field(default_factory=list)
    call_lines: list[str] = field(default_factory=list)
    helpers: set[str] = field(default_factory=set)
    weights: dict[str, tuple[StatePath, str, tuple[int, ...]]] = field(default_factory=dict)


class ModelWriter(GraphWriter[Layout]):
    """Writes the model class for one analysed network."""

    reserved = (RESERVED_LOCALS, HELPERS)

    def __init__(self, shaped: ShapedNetwork) -> None:
        super().__init__(shaped)
        self.out = Generated()
        self.attributes: set[str] = set()
        names = [layer.node.name for layer in shaped.layers]
        self.taken_attributes = {n for n in names if not self._reserved_attribute(n)}

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

    # --- layouts ---
    def convert(self, value: Value[Layout], layout: Layout) -> str:
        """The expression of `value` in `layout` (a transpose only when the layouts really differ)."""
        if layout == "any" or value.layout == layout or value.rank < 2 or self.ctx.channels_last:
            return value.expr
        if layout == "flax":
            return f"jnp.moveaxis({value.expr}, 1, -1)"
        return f"jnp.moveaxis({value.expr}, -1, 1)"

    # --- nodes ---
    def emit_layer(self, layer: NodeShape) -> None:
        emit = require_emitter(layer.node.kind, layer.node.span)
        code, inputs, layouts, produced = self.negotiate(layer, lambda ls: emit(EmitContext(layer, self.ctx, ls)))
        args = [self.convert(v, layout) for v, layout in zip(inputs, layouts)]
        refs = self._modules(layer, code)
        expr = code.forward(args, refs)
        self.out.helpers.update(code.helpers)
        names = self.output_variables(layer)
        self.out.call_lines.append(f"{', '.join(names)} = {expr}  # {shape_comment(layer)}")
        self.bind(layer, names, produced)

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

    # --- the class ---
    def write(self) -> str:
        signature = [f"{var}: jax.Array" for var, _ in self.bind_inputs()]
        self.emit_layers()
        return codegen.model_class(
            class_name(self.net.name),
            "nnx.Module",
            f"{self.net.name}: {self.summary()}",
            init="def __init__(self, rngs: nnx.Rngs) -> None:",
            init_body=self.out.init_lines or ["del rngs  # no layer with weights or randomness"],
            method="__call__",
            signature=signature,
            body=self.out.call_lines,
            outputs=[self.convert(self.values[ref], "lang") for ref in self.net.outputs],
            array="jax.Array",
        )


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


def _header(shaped: ShapedNetwork, source: str | None) -> list[str]:
    layout = shaped.network.layout
    where = codegen.source_note(source)
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
    code_lines = (line.split("#", 1)[0] for line in "\n".join([*helpers, code.text]).splitlines())  # not comments
    uses_lax = any(re.search(r"\blax\.", line) for line in code_lines)
    build = [
        f"def build_model(rngs: nnx.Rngs | None = None) -> {cls}:",
        f'    """A freshly initialized {shaped.network.name} (parameters from `rngs`, default seed 0)."""',
        f"    return {cls}(rngs if rngs is not None else nnx.Rngs(0))",
    ]
    return codegen.module_text(
        _header(shaped, source),
        _imports(uses_lax),
        module_constants(shaped),
        helpers,
        code.text,
        build,
        weight_table_lines(code.weights),
        [weights_section()],
        [training_section(shaped)],
    )


def generate_all(networks: Sequence[ShapedNetwork]) -> dict[str, str]:
    return codegen.generate_all(networks, generate)
