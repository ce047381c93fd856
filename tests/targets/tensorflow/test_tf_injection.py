"""No text from a .neural file can run code in the generated Keras module: names are checked identifiers,
every string is a repr()'d literal. The resolver that protects the PyTorch target protects this one too,
so this is a smaller corpus than tests/targets/pytorch/test_injection.py: each attempt must be rejected by
the compiler or produce a module that, imported, built, run forward and run as a script, executes nothing
of its own."""

from __future__ import annotations

import io
import subprocess
import sys
import tokenize
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neural.api import analyse, loads
from neural.errors import NeuralError
from neural.targets.tensorflow.codegen import generate
from neural.targets.tensorflow.load import import_code

CANARY = "/tmp/neural_tf_injection_canary"
SHELL = f"__import__('os').system('touch {CANARY}')"
PY_BREAKOUTS = [
    f'"); {SHELL} #',
    f"'); {SHELL} #",
    f'"""; {SHELL}; """',
    f"\\n{SHELL}",
    f"{{{SHELL}}}",
    f"\\u0027); {SHELL} #",
]


def base(
    *, layers: str = "Dense(4)", train: str = "", loss: str = '"mse"', optimizer: str = "Adam", extra: str = ""
) -> str:
    return (
        f"network N {{\n  input: (3,)\n  layers:\n    {layers}\n  loss: {loss}\n  optimizer: {optimizer}\n"
        f"  train {{ epochs: 1 {train} }}\n{extra}}}\n"
    )


def quoted(payload: str) -> str:
    return '"' + payload.replace('"', '\\"') + '"' if "\\" not in payload else f'"{payload}"'


ATTEMPTS: list[tuple[str, str]] = []
for i, p in enumerate(PY_BREAKOUTS):
    q = quoted(p)
    ATTEMPTS += [
        (f"train.data-{i}", base(train=f"data: {q}")),
        (
            f"early-stopping.monitor-{i}",
            base(train=f"validation_split: 0.5 early_stopping: EarlyStopping(monitor={q})"),
        ),
        (f"plateau.monitor-{i}", base(optimizer=f"Adam(learning_rate=ReduceOnPlateau(0.01, monitor={q}))")),
        (f"activation-{i}", base(layers=f"Dense(4, activation={q})")),
        (f"metric-{i}", base(extra=f"  metrics: [{q}]\n")),
        (f"device-{i}", base(layers=f"Dense(4) @ {q}")),
        (f"padding-{i}", base(layers=f"Reshape((3, 1))\n    Conv1D(2, 1, padding={q})")),
    ]
ATTEMPTS += [
    ("name-dunder", base(layers="__import__ = Dense(4)")),
    ("name-exec", base(layers="exec = Dense(4)\n    eval = Dense(2)\n    compile = Dense(1)")),
    ("name-module", base(layers="keras = Dense(4)\n    layers = Dense(2)\n    ops = Dense(1)")),
    ("optimizer-call-string", base(optimizer=f'"Adam(learning_rate={SHELL})"')),
    ("hpo-string", base(layers=f'Dense(4, activation=HPO(choice("relu", {quoted(PY_BREAKOUTS[0])})))')),
    ("macro-argument", "define B(a) { Dense(4, activation=a) }\n" + base(layers=f"B({quoted(PY_BREAKOUTS[0])})")),
    ("research", base() + f"research R {{ references {{ paper: {quoted(PY_BREAKOUTS[1])} }} }}\n"),
]


def generated_or_none(source: str) -> str | None:
    try:
        return generate(analyse(loads(source).network()))
    except NeuralError:
        return None  # rejected by the compiler: fine


def code_names(code: str) -> set[str]:
    """Every name token of the code (text inside string literals and comments excluded)."""
    return {tok.string for tok in tokenize.generate_tokens(io.StringIO(code).readline) if tok.type == tokenize.NAME}


def test_there_are_at_least_thirty_attempts() -> None:
    assert len(ATTEMPTS) >= 30


def test_injection_attempts_run_nothing_when_imported() -> None:
    Path(CANARY).unlink(missing_ok=True)
    accepted = 0
    for what, source in ATTEMPTS:
        code = generated_or_none(source)
        assert not Path(CANARY).exists(), what
        if code is None:
            continue
        accepted += 1
        assert "__import__" not in code_names(code), f"{what}: injected text is code, not a string literal"
        module = import_code(code, "Injected")
        module.build_model()(np.zeros((2, 3), np.float32))
        assert not Path(CANARY).exists(), f"{what}: importing the generated code executed injected text"
    assert accepted >= 10


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


# as scripts: one payload per place (every payload is checked above on import), to keep TensorFlow's start-ups few
SCRIPT_ATTEMPTS = [a for a in ATTEMPTS if a[0].endswith("-0") or not a[0][-1].isdigit()]


@pytest.mark.slow
def test_injection_attempts_run_nothing_as_scripts(tmp_path: Path) -> None:
    """Accepted attempts, run as `python model.py --help` and as a one-epoch training run (one process)."""
    Path(CANARY).unlink(missing_ok=True)
    paths = []
    for i, (_, source) in enumerate(SCRIPT_ATTEMPTS):
        code = generated_or_none(source)
        if code is not None:
            path = tmp_path / f"model_{i}.py"
            path.write_text(code)
            paths.append(str(path))
    result = subprocess.run(
        [sys.executable, "-c", RUN_ALL, *paths], capture_output=True, text=True, timeout=900, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert not Path(CANARY).exists(), "a generated script executed injected text"


DSL_STRING = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


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


@settings(max_examples=30, deadline=None)
@given(DSL_STRING)
def test_any_string_round_trips_into_generated_code(value: str) -> None:
    source = base(
        train=f"data: {dsl_literal(value)} validation_split: 0.5 early_stopping: EarlyStopping(monitor={dsl_literal(value)})"
    )
    module = import_code(generate(analyse(loads(source).network())), "RoundTrip")
    assert module.TRAIN["data"] == value
    assert module.TRAIN["early_stopping"]["monitor"] == value
