"""The training part of a generated module: the train block as literals, then the training code.

The training code is real modules (ruff- and mypy-checked): the target's runner.py, of which a generated
module includes the text below the marker line (above it: the placeholders that stand in for what the
generated module defines, and the imports from common/runner.py), and common/runner.py, the framework-free
part, of which it includes the definitions the target's runner imports, with those they use.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path
from pprint import pformat
from typing import Any

from neural.config.args import Config
from neural.ir import Component
from neural.shapes.engine import ShapedNetwork
from neural.targets.common.support import module_helpers

MARKER = "# ---- generated modules include everything below this line ----"
COMMON_RUNNER = Path(__file__).with_name("runner.py")
DEFAULT_OPTIMIZER = {
    "name": "Adam",
    "learning_rate": 0.001,
    "beta_1": 0.9,
    "beta_2": 0.999,
    "epsilon": 1e-8,
    "weight_decay": 0.0,
    "amsgrad": False,
}


@cache
def included_source(path: Path) -> str:
    """The text of the module at `path` below its marker line, without surrounding blank lines."""
    text = path.read_text(encoding="utf-8")
    return text[text.index(MARKER) + len(MARKER) :].strip("\n")


def common_imports(runner: Path) -> list[str]:
    """The names the module `runner` imports from common/runner.py."""
    found = []
    for node in ast.parse(runner.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.module == "neural.targets.common.runner":
            for alias in node.names:
                if alias.asname is not None:
                    raise ValueError(f"{runner.name} imports {alias.name} from common/runner.py under another name")
                found.append(alias.name)
    return found


@cache
def common_source(runner: Path) -> str:
    """The definitions of common/runner.py that the module `runner` imports, with those they use, in the order
    of common/runner.py."""
    definitions = module_helpers(COMMON_RUNNER, below=MARKER)
    names = [name for name in common_imports(runner) if name in definitions.sources]  # not the placeholders
    return "\n".join(definitions.helper_sources(names)).strip("\n")


def plain(value: Any) -> Any:
    """Config values as plain literals (components become dicts with their name)."""
    if isinstance(value, Component):
        return {"name": value.name, **{k: plain(v) for k, v in value.config.items()}}
    if isinstance(value, Config):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def metric_name(component: Component) -> str:
    if component.name == "top_k_accuracy":
        return f"top_{component.config.k}_accuracy"
    return component.name


def constants(shaped: ShapedNetwork, *, execution: bool = True) -> list[str]:
    """TRAIN, LOSS, OPTIMIZER, SCHEDULE, METRICS and (with `execution`) EXECUTION as literals."""
    net = shaped.network
    optimizer = plain(net.optimizer) if net.optimizer else dict(DEFAULT_OPTIMIZER)
    schedule = optimizer.get("learning_rate") if isinstance(optimizer.get("learning_rate"), dict) else None
    loss = plain(net.loss) if net.loss else {"name": "mean_squared_error"}
    train = {k: plain(v) for k, v in net.train.items() if k not in ("search_method", "trials")}
    lines = [
        f"TRAIN = {pformat(train, sort_dicts=False, width=100)}",
        f"LOSS = {plain(loss)!r}",
        f"OPTIMIZER = {pformat(optimizer, sort_dicts=False, width=100)}",
        f"SCHEDULE = {schedule!r}",
        f"METRICS = {[metric_name(m) for m in net.metrics]!r}",
    ]
    if execution:
        lines.append(f"EXECUTION = {plain(net.execution)!r}")
    return lines


def training_section(shaped: ShapedNetwork, runner: Path, *, execution: bool = True) -> str:
    """The train block's constants, the common training code `runner` uses and the code of `runner`."""
    return "\n".join(
        [
            "# ---- training (the train block of the .neural file) ----",
            "",
            *constants(shaped, execution=execution),
            "",
            "",
            "# ---- settings, data and training rules (the same for every backend) ----",
            "",
            "",
            common_source(runner),
            "",
            "",
            included_source(runner),
            "",
        ]
    )
