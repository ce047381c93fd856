"""One corpus of injection attempts for every code-generating target (tests/targets/test_injection.py).

Each attempt is a .neural program whose text tries to break out of a string literal or an identifier of the
generated module: every breakout payload (`BREAKOUTS`) through every string-valued place of the language
(`PLACES`), plus names and whole-value attempts. A payload that gets out runs `SHELL`, which touches the
canary file; no attempt may touch it, whether it is compiled, imported, built, run forward or run as a
script (`RUN_ALL`). No framework is imported here: the backend-specific parts are the test's.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import tokenize
from collections.abc import Callable
from pathlib import Path

from neural.api import analyse, loads
from neural.errors import NeuralError

# one canary per pytest process (xdist workers run side by side); script runs inherit the path in the payload
CANARY = Path(tempfile.gettempdir()) / f"neural_injection_canary_{os.getpid()}"
SHELL = f"__import__('os').system('touch {CANARY.as_posix()}')"
BREAKOUTS = [
    f'"); {SHELL} #',
    f"'); {SHELL} #",
    f'"""; {SHELL}; """',
    f"'''; {SHELL}; '''",
    f"\\n{SHELL}",
    f'\\"); {SHELL} #',
    f"{{{SHELL}}}",
    f"$({SHELL})",
    f"\\x22); {SHELL} #",
    f"\\u0027); {SHELL} #",
]


def base(
    *,
    layers: str = "Dense(4)",
    train: str = "",
    loss: str = '"mse"',
    optimizer: str = "Adam",
    extra: str = "",
    name: str = "N",
    inputs: str = "input: (3,)",
) -> str:
    """A one-layer network on (3,) inputs, with `layers`, `train` entries, `loss`, `optimizer`, `extra` network
    entries, the network's `name` and its `inputs` put in."""
    return (
        f"network {name} {{\n  {inputs}\n  layers:\n    {layers}\n  loss: {loss}\n  optimizer: {optimizer}\n"
        f"  train {{ epochs: 1 {train} }}\n{extra}}}\n"
    )


def quoted(payload: str) -> str:
    """The payload as a .neural string literal (escapes kept as written)."""
    return '"' + payload.replace('"', '\\"') + '"' if "\\" not in payload else f'"{payload}"'


def dsl_literal(value: str) -> str:
    """`value` as a .neural string literal: quotes and backslashes escaped, control characters as \\uXXXX."""
    out = []
    for ch in value:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


# every string-valued place of the language: the program with the literal `q` there
PLACES: dict[str, Callable[[str], str]] = {
    "train.data": lambda q: base(train=f"data: {q}"),
    "early-stopping.monitor": lambda q: base(train=f"validation_split: 0.5 early_stopping: EarlyStopping(monitor={q})"),
    "plateau.monitor": lambda q: base(optimizer=f"Adam(learning_rate=ReduceOnPlateau(0.01, monitor={q}))"),
    "activation": lambda q: base(layers=f"Dense(4, activation={q})"),
    "loss": lambda q: base(loss=q),
    "optimizer-string": lambda q: base(optimizer=q),
    "metric": lambda q: base(extra=f"  metrics: [{q}]\n"),
    "device": lambda q: base(layers=f"Dense(4) @ {q}"),
    "execution.device": lambda q: base(extra=f"  execution {{ device: {q} }}\n"),
    "execution.precision": lambda q: base(extra=f"  execution {{ precision: {q} }}\n"),
    "padding": lambda q: base(layers=f"Reshape((3, 1))\n    Conv1D(2, 1, padding={q})"),
    "schedule-kind": lambda q: base(layers=f"Reshape((3, 1))\n    PositionalEncoding(kind={q})"),
    "research.paper": lambda q: base() + f"research R {{ references {{ paper: {q} }} }}\n",
    "hpo-choice": lambda q: base(layers=f'Dense(4, activation=HPO(choice("relu", {q})))'),
    "macro-argument": lambda q: "define B(a) { Dense(4, activation=a) }\n" + base(layers=f"B({q})"),
}

ATTEMPTS: list[tuple[str, str]] = [
    (f"{place}-{i}", program(quoted(payload)))
    for place, program in PLACES.items()
    for i, payload in enumerate(BREAKOUTS)
]
ATTEMPTS += [
    ("optimizer-call-string", base(optimizer=f'"Adam(learning_rate={SHELL})"')),
    ("layer-name-dunder", base(layers="__import__ = Dense(4)")),
    ("layer-names-builtins", base(layers="exec = Dense(4)\n    eval = Dense(2)\n    compile = Dense(1)")),
    ("input-name-dunder", base(inputs="input { __import__: (3,) }", layers="Dense(4)(__import__)")),
    ("input-name-builtin", base(inputs="input { exec: (3,) }", layers="Dense(4)(exec)")),
    ("network-name-builtin", base(name="exec")),
    ("macro-name-dunder", "define __import__(a) { Dense(4, activation=a) }\n" + base(layers='__import__("relu")')),
    ("macro-parameter-builtin", "define B(exec) { Dense(4, activation=exec) }\n" + base(layers='B("relu")')),
    # the names each generated module imports
    ("layer-names-pytorch-modules", base(layers="torch = Dense(4)\n    nn = Dense(2)\n    F = Dense(1)")),
    ("layer-names-keras-modules", base(layers="keras = Dense(4)\n    tf = Dense(2)\n    ops = Dense(1)")),
    ("layer-names-jax-modules", base(layers="jnp = Dense(4)\n    nnx = Dense(2)\n    optax = Dense(1)")),
    ("layer-names-std-modules", base(layers="os = Dense(4)\n    np = Dense(2)\n    json = Dense(1)")),
]

# names that are no plain Python identifier (keywords, other characters) or are the module's own (`__` names), in
# every place a name is written: each must be rejected with an error positioned in the source
NON_IDENTIFIERS = ["class", "None", "lambda", "__name__", "__builtins__", "é", "a.b", "x-y"]
NAME_PLACES: dict[str, Callable[[str], str]] = {
    "layer": lambda n: base(layers=f"{n} = Dense(4)"),
    "input": lambda n: base(inputs=f"input {{ {n}: (3,) }}", layers=f"Dense(4)({n})"),
    "network": lambda n: base(name=n),
}
# where running every attempt as a script costs too much: one payload per place, and every other attempt
SCRIPT_ATTEMPTS = [a for a in ATTEMPTS if a[0].endswith("-0") or not a[0][-1].isdigit()]


def generated_or_none(source: str, generate: Callable) -> str | None:
    """The module `generate` writes for `source`, or None where the compiler rejects it (which is fine)."""
    try:
        return generate(analyse(loads(source).network()))
    except NeuralError:
        return None


def code_names(code: str) -> set[str]:
    """Every name token of the code (text inside string literals and comments excluded)."""
    return {tok.string for tok in tokenize.generate_tokens(io.StringIO(code).readline) if tok.type == tokenize.NAME}


def clear_canary() -> None:
    CANARY.unlink(missing_ok=True)


def canary_fired() -> bool:
    return CANARY.exists()


RUN_ALL = """
import runpy, sys
for path in sys.argv[1:]:
    for args in (["--help"], ["--data", "synthetic:16", "--epochs", "1", "--out", path + ".out"]):
        sys.argv = [path, *args]
        try:
            runpy.run_path(path, run_name="__main__")
        except SystemExit:
            pass
"""


def run_as_scripts(codes: list[str], folder: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Write each module to `folder` and run all of them, in one process, as `python model.py --help` and as a
    one-epoch training run on synthetic data."""
    paths = []
    for i, code in enumerate(codes):
        path = folder / f"model_{i}.py"
        path.write_text(code)
        paths.append(str(path))
    return subprocess.run(
        [sys.executable, "-c", RUN_ALL, *paths], capture_output=True, text=True, timeout=timeout, check=False
    )
