"""Syntax tree -> IR: sections, macros, repetition, blocks, named tensors, defaults and HPO values.

The resolver walks each network's `layers:` statements with a *flow*: the tensor(s) the next
statement consumes. A statement without explicit inputs consumes the flow and replaces it with
its output; `name = ...` also binds its output to a name that later statements may list as inputs,
`Concatenate()(a, b)`. Macros expand in their own scope (names inside do not leak), `* N` chains N
independent copies (each copy's first input is the previous copy's output), `Residual { }` adds a
shortcut, `Parallel { }` produces one output per branch for a merge layer to join.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from neural.config.args import Arg, ArgTypeError, Config, bind
from neural.config.training import (
    CALLBACK_TABLE,
    EXECUTION_SCHEMA,
    LOSS_TABLE,
    LOSSES,
    METRIC_TABLE,
    METRICS,
    OPTIMIZER_TABLE,
    OPTIMIZERS,
    SCHEDULE_TABLE,
    SCHEDULES,
    TRAIN_HPO_LIST_KEYS,
    TRAIN_SCHEMA,
    ComponentSpec,
    component_names,
    find_component,
    normalize_device,
)
from neural.config.values import CallValue, SymbolValue, describe
from neural.errors import (
    InvalidValueError,
    NameResolutionError,
    NeuralError,
    NeuralSyntaxError,
    did_you_mean,
    raise_collected,
)
from neural.ir import Component, HpoSpace, InputSpec, Network, Node, Program, Research, TensorRef
from neural.layers.activations import ACTIVATION
from neural.layers.base import LayerSpec, Shape
from neural.layers.registry import all_names, get_spec, lookup
from neural.resolve.evaluate import Evaluator, HpoState, site_key
from neural.resolve.loader import Loaded
from neural.source import SourceFile, Span
from neural.syntax import ast

MAX_NODES = 100_000
MAX_MACRO_DEPTH = 64
SECTIONS = ("input", "layers", "loss", "optimizer", "metrics", "train", "execution", "outputs", "layout")
SECTION_ALIASES = {"inputs": "input", "training": "train", "execute": "execution", "output": "outputs"}
RESIDUAL_BLOCKS = ("Residual", "ResidualConnection", "ResidualBlock")
PARALLEL_BLOCKS = ("Parallel", "Branches")
BLOCK_WORDS = (*RESIDUAL_BLOCKS, *PARALLEL_BLOCKS)
LAYOUTS = ("channels_last", "channels_first")

Flow = tuple[TensorRef, ...]

# Layer names become attributes of generated models (torch.nn.Module, flax.nnx.Module): these are
# taken by the frameworks themselves (torch 2.x nn.Module and nnx.Module public attributes).
RESERVED_NAMES = frozenset(
    [
        "T_destination",
        "add_module",
        "apply",
        "bfloat16",
        "buffers",
        "call_super_init",
        "children",
        "compile",
        "cpu",
        "cuda",
        "double",
        "dump_patches",
        "eval",
        "extra_repr",
        "float",
        "forward",
        "get_buffer",
        "get_extra_state",
        "get_parameter",
        "get_submodule",
        "half",
        "ipu",
        "load_state_dict",
        "modules",
        "mtia",
        "named_buffers",
        "named_children",
        "named_modules",
        "named_parameters",
        "parameters",
        "register_backward_hook",
        "register_buffer",
        "register_forward_hook",
        "register_forward_pre_hook",
        "register_full_backward_hook",
        "register_full_backward_pre_hook",
        "register_load_state_dict_post_hook",
        "register_load_state_dict_pre_hook",
        "register_module",
        "register_parameter",
        "register_state_dict_post_hook",
        "register_state_dict_pre_hook",
        "requires_grad_",
        "set_extra_state",
        "set_submodule",
        "share_memory",
        "state_dict",
        "to",
        "to_empty",
        "train",
        "training",
        "type",
        "xpu",
        "zero_grad",
        "iter_children",
        "iter_modules",
        "perturb",
        "set_attributes",
        "sow",
        "self",
        "None",
        "True",
        "False",
    ]
)


@cache
def snake_case(kind: str) -> str:
    """`Conv2DTranspose` -> `conv2d_transpose`, `ReLU` -> `relu`, `LSTM` -> `lstm`."""
    for acronym, word in (
        ("PReLU", "Prelu"),
        ("ReLU", "Relu"),
        ("GELU", "Gelu"),
        ("SELU", "Selu"),
        ("SiLU", "Silu"),
        ("ELU", "Elu"),
        ("LSTM", "Lstm"),
        ("GRU", "Gru"),
        ("RNN", "Rnn"),
    ):
        kind = kind.replace(acronym, word)
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])|(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", kind)
    return s.lower()


@dataclass
class Frame:
    """Names visible while expanding one network body or one macro use."""

    env: dict[str, Any]
    names: dict[str, Flow]
    scope: tuple[str, ...]
    macros_in_use: tuple[str, ...] = ()
    device: str | None = None
    counters: dict[str, int] = field(default_factory=dict)


class _Poisoned(Exception):
    """Internal: the flow is unknown after an earlier error; suppresses follow-on errors."""


class NetworkBuilder:
    """Builds one `Network` from its declaration."""

    def __init__(self, decl: ast.NetworkDecl, macros: Mapping[str, ast.DefineDecl], hpo: HpoState) -> None:
        self.decl = decl
        self.macros = macros
        self.evaluator = Evaluator(hpo)
        self.hpo = hpo
        self.errors: list[NeuralError] = []
        self.nodes: list[Node] = []
        self.node_names: dict[str, Span | None] = {}
        self.producers: dict[str, str] = {}
        self.inputs: list[InputSpec] = []
        self.sections: dict[str, Span] = {}

    # --- entry point ---
    def build(self) -> Network:
        decl = self.decl
        layers: list[ast.Entry] = []
        values: dict[str, ast.KeyValue | ast.Statement] = {}
        in_layers = False
        for entry in decl.body:
            if isinstance(entry, ast.LayersMarker):
                if self._claim_section("layers", entry.span):
                    in_layers = entry.body is None
                    layers.extend(entry.body or ())
                continue
            if (
                isinstance(entry, ast.Statement)
                and entry.body is not None
                and entry.args is None
                and entry.targets == ()
            ):
                section = SECTION_ALIASES.get(entry.head, entry.head)
                if section in ("train", "execution", "input") and entry.repeat is None:
                    if self._claim_section(section, entry.head_span):
                        values[section] = entry
                    in_layers = False
                    continue
            if isinstance(entry, ast.KeyValue):
                section = SECTION_ALIASES.get(entry.key, entry.key)
                if section not in SECTIONS or section in ("layers", "train", "execution"):
                    self.errors.append(self._unknown_section(entry))
                elif self._claim_section(section, entry.key_span):
                    values[section] = entry
                in_layers = False
                continue
            if not in_layers:
                assert isinstance(entry, ast.Statement)
                self.errors.append(
                    NeuralSyntaxError(
                        f"`{entry.head}` is not a section of a network",
                        entry.head_span,
                        hint=self._statement_hint(entry),
                    )
                )
                continue
            layers.append(entry)

        layout = self._layout(values.get("layout"))
        self._guard(lambda: self._inputs(values.get("input")))
        frame = Frame(env={}, names={spec.name: (TensorRef(spec.name),) for spec in self.inputs}, scope=())
        flow: Flow | None = tuple(TensorRef(spec.name) for spec in self.inputs) if self.inputs else None
        self._guard(lambda: self._check_network_name(decl.name, decl.name_span))
        if "layers" not in self.sections:
            self.errors.append(NeuralSyntaxError(f"network `{decl.name}` has no `layers:` section", decl.name_span))
        elif not layers:
            self.errors.append(
                NeuralSyntaxError(f"network `{decl.name}` has an empty `layers:` section", self.sections["layers"])
            )
        flow = self._body(layers, flow, frame)
        outputs, output_names = self._outputs(values.get("outputs"), flow, frame)
        loss = self._guard(lambda: self._component("loss", values.get("loss"), LOSS_TABLE, LOSSES))
        optimizer = self._guard(lambda: self._optimizer(values.get("optimizer")))
        metrics = self._guard(lambda: self._metrics(values.get("metrics"))) or ()
        train = self._guard(lambda: self._train(values.get("train"))) or Config(
            {a.name: a.default for a in TRAIN_SCHEMA}
        )
        execution = self._guard(lambda: self._execution(values.get("execution"))) or Config(
            {a.name: a.default for a in EXECUTION_SCHEMA}
        )
        self._check_terminal_outputs(outputs)
        if not self.errors:
            self._check_every_output_used(outputs)
        raise_collected(self.errors)
        return Network(
            name=decl.name,
            inputs=tuple(self._input_dtypes()),
            nodes=tuple(self.nodes),
            outputs=outputs,
            span=decl.name_span,
            layout=layout,
            loss=loss,
            optimizer=optimizer,
            metrics=tuple(metrics),
            train=train,
            execution=execution,
            hpo=tuple(self.hpo.found.values()),
            hpo_values=dict(self.hpo.assignment),
            output_names=output_names,
        )

    def _guard(self, fn: Any) -> Any:
        try:
            return fn()
        except NeuralError as exc:
            self.errors.append(exc)
            return None

    def _claim_section(self, name: str, span: Span) -> bool:
        if name in self.sections:
            self.errors.append(
                NeuralSyntaxError(f"section `{name}` appears twice (first at {self.sections[name]})", span)
            )
            return False
        self.sections[name] = span
        return True

    def _unknown_section(self, entry: ast.KeyValue) -> NeuralError:
        if entry.key in ("train", "training", "execution", "execute"):
            return NeuralSyntaxError(
                f"`{entry.key}` is a block: write `{entry.key} {{ key: value ... }}`", entry.key_span
            )
        hint = did_you_mean(entry.key, [*SECTIONS, *SECTION_ALIASES, "execute"])
        return NameResolutionError(
            f"unknown network section `{entry.key}`", entry.key_span, hint=hint or "sections: " + ", ".join(SECTIONS)
        )

    def _statement_hint(self, stmt: ast.Statement) -> str | None:
        hint = did_you_mean(stmt.head, [*SECTIONS, *SECTION_ALIASES])
        if hint:
            return hint
        if lookup(stmt.head) or stmt.head in self.macros:
            return "put layers after `layers:`"
        return None

    # --- sections ---
    def _layout(self, entry: ast.KeyValue | ast.Statement | None) -> str:
        if entry is None:
            return "channels_last"
        assert isinstance(entry, ast.KeyValue)
        value = self.evaluator.eval(entry.values[0], {})
        text = value.name if isinstance(value, SymbolValue) else value
        if text not in LAYOUTS:
            self.errors.append(
                InvalidValueError(
                    f"`layout` must be channels_last or channels_first; received {describe(value)}",
                    entry.values[0].span,
                    hint=did_you_mean(str(text), LAYOUTS),
                )
            )
            return "channels_last"
        return str(text)

    def _inputs(self, entry: ast.KeyValue | ast.Statement | None) -> None:
        if entry is None:
            raise NeuralSyntaxError(
                f"network `{self.decl.name}` has no `input:` section",
                self.decl.name_span,
                hint="declare the shape of one sample, e.g. `input: (28, 28, 1)`",
            )
        if isinstance(entry, ast.KeyValue):
            names = ["input"] if len(entry.values) == 1 else [f"input_{i + 1}" for i in range(len(entry.values))]
            for name, expr in zip(names, entry.values):
                self.inputs.append(InputSpec(name, self._shape(expr), expr.span))
            return
        for sub in entry.body or ():
            if not isinstance(sub, ast.KeyValue) or len(sub.values) != 1:
                span = sub.span
                raise NeuralSyntaxError("an `input { }` block holds `name: (shape)` entries", span)
            self._check_name(sub.key, sub.key_span)
            if any(i.name == sub.key for i in self.inputs):
                raise NeuralSyntaxError(f"input `{sub.key}` is declared twice", sub.key_span)
            self.inputs.append(InputSpec(sub.key, self._shape(sub.values[0]), sub.values[0].span))
        if not self.inputs:
            raise NeuralSyntaxError("the `input` block declares no inputs", entry.head_span)

    def _shape(self, expr: ast.Expr) -> Shape:
        value = self.evaluator.eval(expr, {})
        dims: Sequence[Any] = value if isinstance(value, (tuple, list)) else (value,)
        if len(dims) >= 2 and dims[0] is None:
            dims = dims[1:]  # an explicit batch axis
        ok = len(dims) > 0 and all(
            d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 1) for d in dims
        )
        if not ok:
            raise InvalidValueError(
                f"an input shape is a tuple of positive sizes (None for a size known only at run time); received {describe(value)}",
                expr.span,
                hint="write the shape of one sample, e.g. (28, 28, 1)",
            )
        return tuple(dims)

    def _input_dtypes(self) -> list[InputSpec]:
        integer_readers = {ref.node for n in self.nodes if get_spec(n.kind).integer_input for ref in n.inputs}
        return [InputSpec(i.name, i.shape, i.span, "int64") if i.name in integer_readers else i for i in self.inputs]

    def _outputs(
        self, entry: ast.KeyValue | ast.Statement | None, flow: Flow | None, frame: Frame
    ) -> tuple[Flow, tuple[str, ...]]:
        if entry is None:
            return flow or (), ()
        assert isinstance(entry, ast.KeyValue)
        refs: list[TensorRef] = []
        names: list[str] = []
        for expr in entry.values:
            items = expr.items if isinstance(expr, (ast.TupleExpr, ast.ListExpr)) else (expr,)
            for item in items:
                if not isinstance(item, ast.Name):
                    self.errors.append(NeuralSyntaxError("`outputs` lists names of layer outputs", item.span))
                    continue
                found = frame.names.get(item.id)
                if found is None:
                    self.errors.append(self._unknown_tensor(item.id, item.span, frame))
                    continue
                refs.extend(found)
                names.extend([item.id] if len(found) == 1 else [f"{item.id}_{i}" for i in range(len(found))])
        return tuple(refs), tuple(names)

    def _component(
        self,
        section: str,
        entry: ast.KeyValue | ast.Statement | None,
        table: dict[str, ComponentSpec],
        specs: Sequence[ComponentSpec],
    ) -> Component | None:
        if entry is None:
            return None
        assert isinstance(entry, ast.KeyValue)
        if len(entry.values) != 1:
            raise InvalidValueError(f"`{section}` takes one value", entry.span)
        self.hpo.label = section
        value = self.evaluator.eval(entry.values[0], {})
        return self._bind_component(section, value, entry.values[0].span, table, specs)

    def _bind_component(
        self, what: str, value: Any, span: Span, table: dict[str, ComponentSpec], specs: Sequence[ComponentSpec]
    ) -> Component:
        value = self._compat_call_string(value, span)
        args: tuple[tuple[Any, Span], ...]
        kwargs: tuple[tuple[str, Any, Span], ...]
        if isinstance(value, (str, SymbolValue)):
            name, args, kwargs, name_span = str(value), (), (), span
        elif isinstance(value, CallValue):
            name, args, kwargs, name_span = value.func, value.args, value.kwargs, value.func_span
        else:
            raise InvalidValueError(
                f"`{what}` expects a name or a call such as Adam(learning_rate=0.001); received {describe(value)}", span
            )
        spec = find_component(table, name)
        if spec is None:
            hint = did_you_mean(name, component_names(specs)) or f"known: {', '.join(s.name for s in specs)}"
            raise NameResolutionError(f"unknown {what} `{name}`", name_span, hint=hint)
        config = bind(spec.name, spec.schema, args, kwargs, span)
        return Component(spec.name, config, span)

    def _compat_call_string(self, value: Any, span: Span) -> Any:
        """`optimizer: "Adam(learning_rate=1e-4)"` (compat): parsed as a value, never evaluated as code."""
        if isinstance(value, str) and "(" in value and value.rstrip().endswith(")"):
            from neural.syntax.parser import parse_expression

            inner = SourceFile(f"{span.path}:{span.line}:{span.column}", value)
            return self.evaluator.eval(parse_expression(inner), {})
        return value

    def _optimizer(self, entry: ast.KeyValue | ast.Statement | None) -> Component | None:
        component = self._component("optimizer", entry, OPTIMIZER_TABLE, OPTIMIZERS)
        if component is None:
            return None
        lr = component.config.learning_rate
        if isinstance(lr, CallValue):
            schedule = self._bind_component("learning-rate schedule", lr, lr.span, SCHEDULE_TABLE, SCHEDULES)
            component = Component(component.name, component.config.replace(learning_rate=schedule), component.span)
        return component

    def _metrics(self, entry: ast.KeyValue | ast.Statement | None) -> list[Component]:
        if entry is None:
            return []
        assert isinstance(entry, ast.KeyValue)
        found: list[Component] = []
        for expr in entry.values:
            items = expr.items if isinstance(expr, (ast.ListExpr, ast.TupleExpr)) else (expr,)
            for item in items:
                self.hpo.label = "metrics"
                value = self.evaluator.eval(item, {})
                found.append(self._bind_component("metric", value, item.span, METRIC_TABLE, METRICS))
        return found

    def _keyed_block(self, section: str, entry: ast.KeyValue | ast.Statement | None, schema: Sequence[Arg]) -> Config:
        named: list[tuple[str, Any, Span]] = []
        if entry is not None:
            assert isinstance(entry, ast.Statement)
            for sub in entry.body or ():
                if not isinstance(sub, ast.KeyValue):
                    raise NeuralSyntaxError(f"the `{section}` block holds `key: value` entries", sub.span)
                if len(sub.values) != 1:
                    raise InvalidValueError(f"`{sub.key}` takes one value", sub.span)
                self.hpo.label = f"{section}.{sub.key}"
                expr = sub.values[0]
                value = self.evaluator.eval(expr, {})
                if isinstance(value, list) and section == "train" and sub.key in TRAIN_HPO_LIST_KEYS:
                    value = self.hpo.choose(site_key(expr.span), HpoSpace("choice", options=tuple(value)), expr.span)
                named.append((sub.key, value, sub.span))
        span = entry.head_span if isinstance(entry, ast.Statement) else None
        return bind(section, schema, (), named, span, what="key")

    def _train(self, entry: ast.KeyValue | ast.Statement | None) -> Config:
        config = self._keyed_block("train", entry, TRAIN_SCHEMA)
        stopping = config.early_stopping
        if stopping is True:
            stopping = CallValue("EarlyStopping", (), (), config_span(entry), config_span(entry))
        if isinstance(stopping, CallValue):
            component = self._bind_component("callback", stopping, stopping.span, CALLBACK_TABLE, ())
            config = config.replace(early_stopping=component)
        return config

    def _execution(self, entry: ast.KeyValue | ast.Statement | None) -> Config:
        return self._keyed_block("execution", entry, EXECUTION_SCHEMA)

    # --- layers ---
    def _body(self, entries: Sequence[ast.Entry], flow: Flow | None, frame: Frame) -> Flow | None:
        for entry in entries:
            if isinstance(entry, ast.KeyValue):
                self.errors.append(
                    NeuralSyntaxError(
                        f"`{entry.key}:` cannot appear among layers",
                        entry.key_span,
                        hint="sections such as `loss:` go after the layers, outside any block",
                    )
                )
                continue
            if isinstance(entry, ast.LayersMarker):
                self.errors.append(NeuralSyntaxError("`layers:` appears inside a block", entry.span))
                continue
            try:
                flow = self._statement(entry, flow, frame)
            except _Poisoned:
                flow = None
            except NeuralError as exc:
                self.errors.append(exc.with_span(entry.span))
                flow = None
        return flow

    def _statement(self, stmt: ast.Statement, flow: Flow | None, frame: Frame) -> Flow:
        if stmt.inputs is not None:
            inputs: Flow | None = self._lookup_inputs(stmt.inputs, frame)
        else:
            inputs = flow
        copies = self._repeat_count(stmt, frame)
        device = self._device(stmt, frame)
        out: Flow | None = inputs
        current = inputs
        for _ in range(copies):
            out = self._once(stmt, current, frame, device, name_output=copies == 1)
            if stmt.inputs is not None and len(stmt.inputs) > 1 and current is not None:
                current = (*out[:1], *current[1:]) if len(out) == 1 else out
            else:
                current = out
        if out is None:
            raise _Poisoned()
        self._bind_targets(stmt, out, frame)
        return out

    def _lookup_inputs(self, refs: Sequence[ast.InputRef], frame: Frame) -> Flow:
        found: list[TensorRef] = []
        for ref in refs:
            tensors = frame.names.get(ref.name)
            if tensors is None:
                raise self._unknown_tensor(ref.name, ref.span, frame)
            if ref.output is None:
                found.extend(tensors)
            elif ref.output >= len(tensors):
                raise InvalidValueError(
                    f"`{ref.name}` has {len(tensors)} output(s); index {ref.output} is out of range", ref.span
                )
            else:
                found.append(tensors[ref.output])
        return tuple(found)

    def _unknown_tensor(self, name: str, span: Span, frame: Frame) -> NeuralError:
        if name in self.macros or lookup(name) is not None:
            return NameResolutionError(
                f"`{name}` is a layer or macro, not a named output",
                span,
                hint="list names bound with `name = Layer(...)`",
            )
        hint = did_you_mean(name, frame.names) or (
            "named outputs here: " + ", ".join(frame.names)
            if frame.names
            else "name a layer's output with `name = Layer(...)`"
        )
        return NameResolutionError(f"no layer output named `{name}`", span, hint=hint)

    def _repeat_count(self, stmt: ast.Statement, frame: Frame) -> int:
        if stmt.repeat is None:
            return 1
        value = self.evaluator.eval(stmt.repeat, frame.env)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidValueError(
                f"a repetition count is a positive integer; received {describe(value)}", stmt.repeat.span
            )
        if value > MAX_NODES:
            raise InvalidValueError(f"repetition count {value} is above the limit of {MAX_NODES}", stmt.repeat.span)
        return value

    def _device(self, stmt: ast.Statement, frame: Frame) -> str | None:
        if stmt.device is None:
            return frame.device
        value = self.evaluator.eval(stmt.device, frame.env)
        try:
            return normalize_device(value)
        except ArgTypeError:
            raise InvalidValueError(
                f'a device is "cpu", "cuda", "cuda:N", "mps" or "auto"; received {describe(value)}', stmt.device.span
            ) from None

    def _bind_targets(self, stmt: ast.Statement, out: Flow, frame: Frame) -> None:
        """Bind `name = ...` (all outputs) or `a, b = ...` (one name per output); names may be rebound."""
        targets = stmt.targets
        if len(targets) > 1 and len(targets) != len(out):
            raise InvalidValueError(
                f"{len(targets)} names for {len(out)} output(s)", targets[0][1], hint="give one name, or one per output"
            )
        for i, (name, span) in enumerate(targets):
            self._check_name(name, span)
            frame.names[name] = out if len(targets) == 1 else (out[i],)

    def _check_network_name(self, name: str, span: Span) -> None:
        """A network name becomes a class name in generated code: no reserved word, no leading `__`."""
        if keyword.iskeyword(name):
            raise NameResolutionError(f"`{name}` is a reserved word; choose another network name", span)
        if name.startswith("__"):
            raise NameResolutionError(f"network names may not start with `__`: `{name}`", span)

    def _check_name(self, name: str, span: Span) -> None:
        if keyword.iskeyword(name):
            raise NameResolutionError(f"`{name}` is a reserved word; choose another name", span)
        if name in RESERVED_NAMES:
            raise NameResolutionError(
                f"`{name}` is reserved (generated models use it for their own methods); choose another name", span
            )
        if name.startswith("__"):
            raise NameResolutionError(f"names may not start with `__`: `{name}`", span)

    def _once(
        self, stmt: ast.Statement, inputs: Flow | None, frame: Frame, device: str | None, name_output: bool
    ) -> Flow:
        head = stmt.head
        if head in RESIDUAL_BLOCKS and stmt.body is not None:
            return self._residual(stmt, self._single(inputs, head, stmt.head_span), frame, device)
        if head in PARALLEL_BLOCKS and stmt.body is not None:
            return self._parallel(stmt, inputs, frame, device)
        if head in ("shortcut", "branch"):
            parent = "Residual" if head == "shortcut" else "Parallel"
            raise NeuralSyntaxError(f"`{head} {{ }}` belongs directly inside a `{parent} {{ }}` block", stmt.head_span)
        macro = self.macros.get(head)
        if macro is not None:
            return self._expand_macro(stmt, macro, inputs, frame, device, name_output)
        spec = lookup(head)
        if spec is None:
            candidates = [*all_names(), *self.macros, *BLOCK_WORDS]
            hint = did_you_mean(head, candidates)
            if hint is None and head in SECTIONS:
                hint = f"`{head}` is a section: write `{head}: ...` after the layers"
            raise NameResolutionError(f"unknown layer `{head}`", stmt.head_span, hint=hint)
        if stmt.body is not None:
            raise NeuralSyntaxError(f"`{spec.kind}` does not take a `{{ ... }}` body", stmt.head_span)
        return self._layer(stmt, spec, inputs, frame, device, name_output)

    def _single(self, inputs: Flow | None, what: str, span: Span) -> Flow | None:
        if inputs is not None and len(inputs) != 1:
            raise InvalidValueError(f"`{what}` takes one input; received {len(inputs)}", span)
        return inputs

    # --- one layer ---
    def _layer(
        self,
        stmt: ast.Statement,
        spec: LayerSpec,
        inputs: Flow | None,
        frame: Frame,
        device: str | None,
        name_output: bool,
    ) -> Flow:
        name = self._node_name(stmt, spec, frame, name_output)
        config = self._configure(spec, stmt.args or (), stmt.span, frame, name)
        if inputs is None:
            raise _Poisoned()
        self._check_input_count(spec, inputs, stmt)
        if len(self.nodes) >= MAX_NODES:
            raise InvalidValueError(f"network has more than {MAX_NODES} layers", stmt.span)
        node = Node(name, spec.kind, config, inputs, stmt.span, frame.scope, device)
        self.nodes.append(node)
        self.node_names[name] = stmt.span
        self.producers[name] = spec.kind
        return tuple(TensorRef(name, i) for i in range(spec.num_outputs(config)))

    def _configure(
        self, spec: LayerSpec, args: Sequence[ast.Argument], span: Span, frame: Frame, node_name: str
    ) -> Config:
        slots = [a.name for a in spec.schema if a.positional]
        positional: list[tuple[Any, Span]] = []
        named: list[tuple[str, Any, Span]] = []
        seen_named = False
        for i, arg in enumerate(args):
            if arg.name is None:
                if seen_named:
                    raise NeuralSyntaxError("positional argument after a named one", arg.span)
                self.hpo.label = f"{node_name}.{slots[i] if i < len(slots) else f'arg{i}'}"
                positional.append((self.evaluator.eval(arg.value, frame.env), arg.value.span))
            else:
                seen_named = True
                self.hpo.label = f"{node_name}.{arg.name}"
                named.append((arg.name, self.evaluator.eval(arg.value, frame.env), arg.span))
        config = bind(spec.kind, spec.schema, positional, named, span)
        try:
            return spec.check_config(config)
        except NeuralError as exc:
            raise exc.with_span(span) from None

    def _check_input_count(self, spec: LayerSpec, inputs: Flow, stmt: ast.Statement) -> None:
        count = len(inputs)
        low, high = spec.min_inputs, spec.max_inputs
        if low <= count and (high is None or count <= high):
            return
        if high == 1:
            origin = self._describe_flow(inputs)
            raise InvalidValueError(
                f"`{spec.kind}` takes one input; received {count} ({origin})",
                stmt.head_span,
                hint="join them first with a merge layer such as Concatenate() or Add()",
            )
        expected = f"at least {low}" if high is None else (f"{low}" if low == high else f"{low} to {high}")
        raise InvalidValueError(
            f"`{spec.kind}` takes {expected} inputs; received {count}",
            stmt.head_span,
            hint="list them explicitly, e.g. `Concatenate()(a, b)`, or produce them with `Parallel { ... }`",
        )

    def _describe_flow(self, flow: Flow) -> str:
        return ", ".join(f"{ref} from {self.producers.get(ref.node, 'input')}" for ref in flow)

    def _node_name(self, stmt: ast.Statement, spec_or_word: LayerSpec | str, frame: Frame, name_output: bool) -> str:
        """The user's name (`x = Layer(...)`) when it is free, else an automatic one."""
        if name_output and len(stmt.targets) == 1:
            local = stmt.targets[0][0]
            full = qualified(frame.scope, local)
            if full not in self.node_names:
                self._check_name(local, stmt.targets[0][1])
                return full
        return self._auto_name(spec_or_word if isinstance(spec_or_word, str) else spec_or_word.kind, frame)

    def _auto_name(self, kind: str, frame: Frame) -> str:
        """`<kind>_<n>` in the frame's scope, the first n not taken."""
        base = snake_case(kind)
        while True:
            frame.counters[base] = frame.counters.get(base, 0) + 1
            full = qualified(frame.scope, f"{base}_{frame.counters[base]}")
            if full not in self.node_names and full not in frame.names:
                self.node_names[full] = None
                return full

    # --- macros ---
    def _expand_macro(
        self,
        stmt: ast.Statement,
        macro: ast.DefineDecl,
        inputs: Flow | None,
        frame: Frame,
        device: str | None,
        name_output: bool,
    ) -> Flow:
        if stmt.body is not None:
            raise NeuralSyntaxError(f"macro `{macro.name}` does not take a `{{ ... }}` body", stmt.head_span)
        if macro.name in frame.macros_in_use:
            raise NameResolutionError(f"macro `{macro.name}` uses itself", stmt.head_span)
        if len(frame.macros_in_use) >= MAX_MACRO_DEPTH:
            raise NameResolutionError(f"macros nest deeper than {MAX_MACRO_DEPTH} levels", stmt.head_span)
        env = self._macro_env(stmt, macro, frame)
        scope_name = self._node_name(stmt, macro.name, frame, name_output)
        self.node_names.pop(scope_name, None)
        local = scope_name[len(qualified(frame.scope, "")) :]
        inner = Frame(
            env=env,
            names={},
            scope=(*frame.scope, local),
            macros_in_use=(*frame.macros_in_use, macro.name),
            device=device,
        )
        errors_before = len(self.errors)
        out = self._body(macro.body, inputs, inner)
        if len(self.errors) > errors_before:
            for exc in self.errors[errors_before:]:
                exc.notes = (*exc.notes, f"in macro `{macro.name}` used at {stmt.head_span}")
            raise _Poisoned()
        if out is None:
            raise _Poisoned()
        return out

    def _macro_env(self, stmt: ast.Statement, macro: ast.DefineDecl, frame: Frame) -> dict[str, Any]:
        params = macro.params or ()
        args = stmt.args or ()
        positional = [a for a in args if a.name is None]
        named = [a for a in args if a.name is not None]
        if len(positional) > len(params):
            sig = ", ".join(p.name for p in params)
            raise InvalidValueError(
                f"macro `{macro.name}` takes {len(params)} argument(s) ({sig}); received {len(positional)}",
                positional[len(params)].span if params else stmt.head_span,
            )
        env: dict[str, Any] = {}
        for param, arg in zip(params, positional):
            self.hpo.label = f"{macro.name}.{param.name}"
            env[param.name] = self.evaluator.eval(arg.value, frame.env)
        names = [p.name for p in params]
        for arg in named:
            assert arg.name is not None
            if arg.name not in names:
                hint = did_you_mean(arg.name, names) or (
                    f"its parameters: {', '.join(names)}" if names else "it takes no arguments"
                )
                raise NameResolutionError(
                    f"macro `{macro.name}` has no parameter `{arg.name}`", arg.name_span or arg.span, hint=hint
                )
            if arg.name in env:
                raise InvalidValueError(f"macro parameter `{arg.name}` is given twice", arg.span)
            self.hpo.label = f"{macro.name}.{arg.name}"
            env[arg.name] = self.evaluator.eval(arg.value, frame.env)
        for param in params:
            if param.name not in env:
                if param.default is None:
                    raise InvalidValueError(
                        f"macro `{macro.name}` needs the argument `{param.name}`",
                        stmt.head_span,
                        hint=f"{macro.name}({', '.join(names)})",
                    )
                env[param.name] = self.evaluator.eval(param.default, env)
        return env

    # --- blocks ---
    def _residual(self, stmt: ast.Statement, inputs: Flow | None, frame: Frame, device: str | None) -> Flow:
        schema = (Arg("activation", ACTIVATION, None, positional=True, doc="applied after the addition"),)
        config = bind(
            stmt.head,
            schema,
            [(self.evaluator.eval(a.value, frame.env), a.span) for a in stmt.args or () if a.name is None],
            [(a.name, self.evaluator.eval(a.value, frame.env), a.span) for a in stmt.args or () if a.name is not None],
            stmt.span,
        )
        main_entries = [e for e in stmt.body or () if not _is_block(e, "shortcut")]
        shortcuts = [e for e in stmt.body or () if _is_block(e, "shortcut")]
        if len(shortcuts) > 1:
            raise NeuralSyntaxError("a `Residual` block has at most one `shortcut { }`", shortcuts[1].span)
        if not main_entries:
            raise NeuralSyntaxError("a `Residual` block needs at least one layer", stmt.head_span)
        sub = Frame(frame.env, frame.names, frame.scope, frame.macros_in_use, device, frame.counters)
        main = self._body(main_entries, inputs, sub)
        shortcut = inputs
        if shortcuts:
            body = shortcuts[0].body if isinstance(shortcuts[0], ast.Statement) else None
            shortcut = self._body(body or (), inputs, sub) if body else inputs
        if main is None or shortcut is None:
            raise _Poisoned()
        add_spec = lookup("Add")
        assert add_spec is not None
        add_name = self._auto_name("Add", frame)
        node = Node(add_name, "Add", Config({}), (*main[:1], *shortcut[:1]), stmt.head_span, frame.scope, device)
        self._check_single(main, "the main path of `Residual`", stmt)
        self._check_single(shortcut, "the shortcut of `Residual`", stmt)
        self.nodes.append(node)
        self.producers[add_name] = "Residual"
        out: Flow = (TensorRef(add_name),)
        if config.activation not in (None, "linear"):
            act_name = self._auto_name("Activation", frame)
            self.nodes.append(
                Node(
                    act_name,
                    "Activation",
                    Config({"activation": config.activation}),
                    out,
                    stmt.head_span,
                    frame.scope,
                    device,
                )
            )
            self.producers[act_name] = "Residual"
            out = (TensorRef(act_name),)
        return out

    def _check_single(self, flow: Flow, what: str, stmt: ast.Statement) -> None:
        if len(flow) != 1:
            raise InvalidValueError(f"{what} ends with {len(flow)} outputs; it must end with one", stmt.head_span)

    def _parallel(self, stmt: ast.Statement, inputs: Flow | None, frame: Frame, device: str | None) -> Flow:
        if stmt.args:
            raise InvalidValueError(f"`{stmt.head}` takes no arguments", stmt.args[0].span)
        outputs: list[TensorRef] = []
        poisoned = False
        sub = Frame(frame.env, frame.names, frame.scope, frame.macros_in_use, device, frame.counters)
        for entry in stmt.body or ():
            if _is_block(entry, "branch"):
                assert isinstance(entry, ast.Statement)
                out = self._body(entry.body or (), inputs, sub)
            else:
                out = self._body((entry,), inputs, sub)
            if out is None:
                poisoned = True
            else:
                outputs.extend(out)
        if poisoned or inputs is None:
            raise _Poisoned()
        if len(outputs) < 2:
            raise NeuralSyntaxError("a `Parallel` block needs at least two branches", stmt.head_span)
        return tuple(outputs)

    def _check_every_output_used(self, outputs: Flow) -> None:
        """A layer none of whose outputs reaches the network's outputs is a mistake (and would be
        dropped by some frameworks): report it where it is written."""
        read = {ref.node for node in self.nodes for ref in node.inputs} | {ref.node for ref in outputs}
        for node in self.nodes:
            if node.name not in read:
                self.errors.append(
                    InvalidValueError(
                        f"the output of `{node.name}` ({node.kind}) is never used",
                        node.span,
                        hint="name its output (`x = ...`) and pass it on, or remove the layer",
                    )
                )

    def _check_terminal_outputs(self, outputs: Flow) -> None:
        terminal = {n.name for n in self.nodes if get_spec(n.kind).terminal}
        for node in self.nodes:
            for ref in node.inputs:
                if ref.node in terminal:
                    self.errors.append(
                        InvalidValueError(
                            f"`{node.kind}` reads the result of `Output`, but `Output` ends the network",
                            node.span,
                            hint="use Dense(...) for a hidden layer",
                        )
                    )


def qualified(scope: tuple[str, ...], local: str) -> str:
    """A node's name: its macro scopes and its local name joined by `_` (a valid identifier, and the
    attribute name of the layer in generated code)."""
    return "_".join((*scope, local)) if local else "_".join(scope) + "_" if scope else ""


def _is_block(entry: ast.Entry, word: str) -> bool:
    return isinstance(entry, ast.Statement) and entry.head == word and entry.body is not None


def config_span(entry: ast.KeyValue | ast.Statement | None) -> Span:
    if isinstance(entry, ast.Statement):
        return entry.head_span
    if isinstance(entry, ast.KeyValue):
        return entry.key_span
    return Span(None, 1, 1, 1, 1)


def _research(decl: ast.ResearchDecl, evaluator: Evaluator) -> Research:
    return Research(decl.name, _fields(decl.body, evaluator), decl.span)


def _fields(body: Sequence[ast.Entry], evaluator: Evaluator) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for entry in body:
        if isinstance(entry, ast.KeyValue):
            values = [_plain(evaluator.eval(v, {})) for v in entry.values]
            value: Any = values[0] if len(values) == 1 else values
            key = entry.key
        elif isinstance(entry, ast.Statement) and entry.body is not None:
            key, value = entry.head, _fields(entry.body, evaluator)
        else:
            raise NeuralSyntaxError("a `research` block holds `key: value` entries and nested blocks", entry.span)
        if key in fields:
            existing = fields[key]
            fields[key] = (
                [*existing, value] if isinstance(existing, list) and key in ("paper", "papers") else [existing, value]
            )
        else:
            fields[key] = value
    return fields


def _plain(value: Any) -> Any:
    if isinstance(value, SymbolValue):
        return value.name
    if isinstance(value, CallValue):
        return describe(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def resolve(
    loaded: Loaded, assignment: Mapping[str, Any] | None = None, *, networks: Sequence[str] | None = None
) -> Program:
    """Resolve every network (or those named) with HPO values from `assignment` (defaults elsewhere)."""
    errors: list[NeuralError] = []
    built: list[Network] = []
    research: list[Research] = []
    seen: dict[str, Span] = {}
    for item in loaded.main.items:
        if isinstance(item, ast.NetworkDecl):
            if item.name in seen:
                errors.append(
                    NameResolutionError(
                        f"network `{item.name}` is defined twice (first at {seen[item.name]})", item.name_span
                    )
                )
                continue
            seen[item.name] = item.name_span
            if networks is not None and item.name not in networks:
                continue
            builder = NetworkBuilder(item, loaded.macros, HpoState(assignment or {}))
            try:
                built.append(builder.build())
            except NeuralError as exc:
                errors.append(exc)
        elif isinstance(item, ast.ResearchDecl):
            try:
                research.append(_research(item, Evaluator(HpoState())))
            except NeuralError as exc:
                errors.append(exc)
    if not seen and not errors:
        errors.append(
            NeuralSyntaxError(
                f"{loaded.source.path} defines no network",
                Span(loaded.source, 1, 1, 1, 1),
                hint="add `network Name { input: (...) layers: ... }`",
            )
        )
    raise_collected(errors)
    return Program(tuple(built), tuple(research), tuple(loaded.macros), loaded.source.path)
