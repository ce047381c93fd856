"""Catalog cases as branches of one network, and the verdict of every case on every backend.

Building and compiling a model dominates a small case's time on some backends (an XLA program for the JAX
training step, a Keras model, an ONNX export), so cases on the same inputs run together: each case becomes
one branch (its statements, names made unique, its first statement reading the first input), reduced to a
vector (Flatten, or a global average over a sequence of open length); the vectors are concatenated into
the network's one output. The group's parameter and state counts are the sums of its cases', its output
shape the sum of theirs, and its training step moves every case's weights; each branch's part of the output
is compared on its own scale. When something about the whole group fails, every case of it runs alone, so
that a failure names the cases at fault (and, if none fails alone, every case of the group).

A case that cannot be a branch (several outputs, an output of open size that is not a sequence, a network
of the `networks` family, a case the backend refuses) runs alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from catalog import CASES, Case
from checks import Findings, Segment, check, refusal

from neural.api import analyse, loads
from neural.compare import deterministic_step
from neural.errors import NeuralError
from neural.layers.base import LayerContext, Shape
from neural.shapes.engine import ShapedNetwork
from neural.testing import network_source

# cases per group; a compiled program grows with its branches, so the compiling backends take fewer
GROUP_SIZE = {"numpy": 40, "pytorch": 40, "tensorflow": 24, "jax": 16, "onnx": 24}
OPEN = 6

# refusals a backend makes on purpose (a BackendError at the layer): (backend, case id) -> words of the reason.
# ONNX refusals come from the export's own rules (neural/targets/onnx/support.py), see `onnx_refusals`.
_CONV_LSTM_STATES = "ConvLSTM2D with return_state in a channels_first network"
EXPECTED_REFUSALS: dict[tuple[str, str], str] = {
    (
        "tensorflow",
        'seq, h, c = ConvLSTM2D(3, 3, padding="same", return_state=true) | Concatenate(axis=0)(seq, h, c) | Flatten() '
        "| Dense(2) (3,2,5,5) cf",
    ): _CONV_LSTM_STATES,
    (
        "tensorflow",
        "o, h, c = ConvLSTM2D(3, 3, return_state=true) | Concatenate()(o, h, c) | Flatten() | Dense(2) (3,2,6,6) cf",
    ): _CONV_LSTM_STATES,
}


@dataclass
class Verdict:
    problems: list[str] = field(default_factory=list)
    refused: list[NeuralError] = field(default_factory=list)


def concrete(shape: Shape) -> Shape:
    """A sample shape with open sizes given the size compare() gives them (a leading None is the batch)."""
    sample = shape[1:] if shape and shape[0] is None else shape
    return tuple(OPEN if d is None else d for d in sample)


def concrete_case(case: Case) -> Case:
    return Case(case.layers, tuple(concrete(s) for s in case.shapes), case.layout, case.loss, case.family)


_ANALYSED: dict[Case, ShapedNetwork] = {}


def analysed(case: Case) -> ShapedNetwork:
    if case not in _ANALYSED:
        _ANALYSED[case] = case.network()
    return _ANALYSED[case]


def onnx_refusals(case: Case) -> list[str]:
    """The reasons the ONNX export rules give for the layers of `case` (empty: it must export)."""
    from neural.targets.onnx.support import onnx_problem

    ctx = LayerContext(case.layout)
    found = []
    for layer in analysed(case).layers:
        reason = onnx_problem(layer.node.kind, layer.node.config, layer.input_shapes, ctx)
        if reason:
            found.append(reason)
    return found


def expected_refusals(backend: str, case: Case) -> list[str]:
    if backend == "onnx":
        return onnx_refusals(case)
    reason = EXPECTED_REFUSALS.get((backend, case.id))
    return [reason] if reason else []


# --- one case as a branch ------------------------------------------------------------------------------------

_ASSIGNED = re.compile(r"^\s*([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*=(?!=)")


def _rename(line: str, names: dict[str, str]) -> str:
    """Replace whole-word names outside string literals."""
    if not names:
        return line
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
    parts = line.split('"')
    return '"'.join(pattern.sub(lambda m: names[m.group(1)], p) if i % 2 == 0 else p for i, p in enumerate(parts))


def branch(case: Case, index: int) -> tuple[list[str], str] | None:
    """The statements of `case` as branch `index` of a group, and the name of its output (None: it cannot be one)."""
    lines = [line.strip() for line in case.layers.strip().splitlines() if line.strip()]
    prefix = f"g{index}_"
    names: dict[str, str] = {}
    for line in lines:
        match = _ASSIGNED.match(line)
        if match:
            for name in (n.strip() for n in match.group(1).split(",")):
                names[name] = prefix + name
    lines = [_rename(line, names) for line in lines]
    first_input = "input" if len(case.shapes) == 1 else "a"
    if ")(" not in lines[0]:
        lines[0] = f"{lines[0]}({first_input})"
    last = _ASSIGNED.match(lines[-1])
    if last is None:
        output = f"g{index}"
        lines[-1] = f"{output} = {lines[-1]}"
    elif "," in last.group(1):
        return None
    else:
        output = last.group(1).strip()
    return lines, output


def _reducer(case: Case) -> str | None:
    """How a branch's output becomes a vector: "" (it is one), Flatten, a global average, or None (cannot)."""
    shaped = analysed(case)
    if len(shaped.output_shapes) != 1:
        return None
    shape = shaped.output_shapes[0]
    if all(d is not None for d in shape):
        return "" if len(shape) == 1 else "Flatten()"
    if len(shape) == 2 and shape[0] is None and shape[1] is not None and case.layout == "channels_last":
        return "GlobalAveragePooling1D()"
    return None


def _flat_size(case: Case, reducer: str) -> int:
    shape = analysed(case).output_shapes[0]
    if reducer == "GlobalAveragePooling1D()":
        return int(shape[-1] or 0)
    size = 1
    for d in shape:
        size *= d or 1
    return size


def groupable(backend: str, case: Case) -> bool:
    return (
        case.family != "networks"
        and not any(layer.node.kind == "Output" for layer in analysed(case).layers)  # Output ends a network
        and _reducer(case) is not None
        and branch(case, 0) is not None
        and not expected_refusals(backend, case)
    )


def group_source(cases: list[Case]) -> tuple[str, list[Segment]]:
    """One network whose branches are `cases` (all on the same inputs and layout, with the same loss)."""
    lines: list[str] = []
    reduced: list[str] = []
    segments: list[Segment] = []
    start = 0
    for index, case in enumerate(cases):
        statements, output = branch(case, index)  # type: ignore[misc]
        reducer = _reducer(case)
        lines += statements
        if reducer:
            lines.append(f"r{index} = {reducer}({output})")
            output = f"r{index}"
        reduced.append(output)
        size = _flat_size(case, reducer or "")
        segments.append(Segment(case.id, start, size))
        start += size
    lines.append(f"Concatenate()({', '.join(reduced)})" if len(reduced) > 1 else f"Identity()({reduced[0]})")
    first = cases[0]
    text = network_source("\n".join(lines), *first.shapes, layout=first.layout)
    if first.loss is not None:
        text = text.rstrip().rstrip("}") + f"  loss: {first.loss}\n  optimizer: {_optimizer()}\n}}\n"
    return text, segments


def _optimizer() -> str:
    from catalog.base import OPTIMIZER

    return OPTIMIZER


def _group_key(case: Case) -> tuple[object, ...]:
    shaped = analysed(case)
    dtypes = tuple(spec.dtype for spec in shaped.network.inputs)
    return (case.shapes, case.layout, case.loss, dtypes, deterministic_step(shaped))


def plan(backend: str, cases: list[Case]) -> list[list[Case]]:
    """`cases` in groups for `backend` (a group of one runs alone)."""
    together: dict[tuple[object, ...], list[Case]] = {}
    alone: list[list[Case]] = []
    for case in cases:
        if groupable(backend, case):
            together.setdefault(_group_key(case), []).append(case)
        else:
            alone.append([case])
    size = GROUP_SIZE[backend]
    grouped = [members[i : i + size] for members in together.values() for i in range(0, len(members), size)]
    return grouped + alone


# --- verdicts ------------------------------------------------------------------------------------------------


def describe(exc: BaseException) -> str:
    errors = getattr(exc, "errors", None) or (exc,)
    return "; ".join(f"{type(e).__name__}: {e}" for e in errors)


def _problems_of(findings: Findings) -> list[str]:
    return findings.problems + [p for ps in findings.by_segment.values() for p in ps]


def run_alone(backend: str, case: Case) -> Verdict:
    try:
        shaped = analysed(case)
        findings = check(backend, shaped, concrete_shapes=analysed(concrete_case(case)).output_shapes)
    except NeuralError as exc:
        errors = refusal(exc)
        if errors:
            return Verdict(refused=errors)
        return Verdict([describe(exc)])
    except Exception as exc:  # a crash is a finding, with its type
        return Verdict([describe(exc)])
    return Verdict(_problems_of(findings))


def run_group(backend: str, members: list[Case]) -> dict[Case, Verdict]:
    if len(members) == 1:
        return {members[0]: run_alone(backend, members[0])}
    text, segments = group_source(members)
    try:
        shaped = analyse(loads(text).network())
        concrete_shapes = [(sum(s.size for s in segments),)]
        findings = check(backend, shaped, segments=segments, concrete_shapes=concrete_shapes)
        whole = findings.problems
    except Exception as exc:
        findings, whole = Findings(), [describe(exc)]
    if not whole:
        return {case: Verdict(list(findings.by_segment.get(case.id, []))) for case in members}
    verdicts = {case: run_alone(backend, case) for case in members}
    if all(not v.problems and not v.refused for v in verdicts.values()):
        together = [f"only together with the other cases of its group: {p}" for p in whole]
        verdicts = {case: Verdict(list(together)) for case in members}
    return verdicts


class Verdicts:
    """Verdicts per (backend, case), each group run once, when the first of its cases asks."""

    def __init__(self, cases: list[Case] = CASES, runner: Callable[[str, list[Case]], dict[Case, Verdict]] = run_group):
        self.cases = cases
        self.runner = runner
        self.plans: dict[str, dict[Case, list[Case]]] = {}
        self.done: dict[tuple[str, Case], Verdict] = {}

    def group_of(self, backend: str, case: Case) -> list[Case]:
        if backend not in self.plans:
            self.plans[backend] = {c: group for group in plan(backend, self.cases) for c in group}
        return self.plans[backend][case]

    def verdict(self, backend: str, case: Case) -> Verdict:
        if (backend, case) not in self.done:
            for member, found in self.runner(backend, self.group_of(backend, case)).items():
                self.done[(backend, member)] = found
        return self.done.pop((backend, case))
