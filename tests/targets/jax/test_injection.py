"""No text from a .neural file can run code in the generated JAX module: names are checked identifiers,
every string is a repr()'d literal. Each attempt must either be rejected by the compiler or produce a module
that, imported, built and run as a script, executes nothing of its own."""

from __future__ import annotations

import io
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest
from flax import nnx

from neural.api import analyse, loads
from neural.errors import NeuralError
from neural.targets.jax.codegen import generate
from neural.targets.pytorch.load import import_code

CANARY = "/tmp/neural_jax_injection_canary"
SHELL = f"__import__('os').system('touch {CANARY}')"
BREAKOUTS = [f'"); {SHELL} #', f"'); {SHELL} #", f'"""; {SHELL}; """', f"\\n{SHELL}", f"\\x22); {SHELL} #"]


def base(*, layers: str = "Dense(4)", train: str = "", optimizer: str = "Adam", extra: str = "") -> str:
    return (
        f'network N {{\n  input: (3,)\n  layers:\n    {layers}\n  loss: "mse"\n  optimizer: {optimizer}\n'
        f"  train {{ epochs: 1 {train} }}\n{extra}}}\n"
    )


def quoted(payload: str) -> str:
    return '"' + payload.replace('"', '\\"') + '"' if "\\" not in payload else f'"{payload}"'


ATTEMPTS: list[tuple[str, str]] = []
for i, p in enumerate(BREAKOUTS):
    q = quoted(p)
    ATTEMPTS += [
        (f"train.data-{i}", base(train=f"data: {q}")),
        (
            f"early-stopping.monitor-{i}",
            base(train=f"validation_split: 0.5 early_stopping: EarlyStopping(monitor={q})"),
        ),
        (f"plateau.monitor-{i}", base(optimizer=f"Adam(learning_rate=ReduceOnPlateau(0.01, monitor={q}))")),
        (f"metric-{i}", base(extra=f"  metrics: [{q}]\n")),
        (f"device-{i}", base(layers=f"Dense(4) @ {q}")),
        (f"activation-{i}", base(layers=f"Dense(4, activation={q})")),
    ]
ATTEMPTS += [
    ("optimizer-call-string", base(optimizer=f'"Adam(learning_rate={SHELL})"')),
    ("names", base(layers="jnp = Dense(4)\n    nnx = Dense(2)\n    optax = Dense(1)")),
    ("research", base() + f"research R {{ references {{ paper: {quoted(BREAKOUTS[0])} }} }}\n"),
]


def generated_or_none(source: str) -> str | None:
    try:
        return generate(analyse(loads(source).network()))
    except NeuralError:
        return None  # rejected by the compiler: fine


def code_names(code: str) -> set[str]:
    """Every name token of the code (text inside string literals and comments excluded)."""
    return {tok.string for tok in tokenize.generate_tokens(io.StringIO(code).readline) if tok.type == tokenize.NAME}


@pytest.mark.parametrize(("what", "source"), ATTEMPTS, ids=[a[0] for a in ATTEMPTS])
def test_injection_attempt_runs_nothing_when_imported(what: str, source: str) -> None:
    Path(CANARY).unlink(missing_ok=True)
    code = generated_or_none(source)
    if code is None:
        return
    module = import_code(code, "InjectedJax")
    nnx.eval_shape(module.build_model)
    assert not Path(CANARY).exists(), f"{what}: importing the generated code executed injected text"
    assert "__import__" not in code_names(code), f"{what}: injected text is code, not a string literal"


def test_string_values_reach_the_module_unchanged() -> None:
    payload = BREAKOUTS[0]
    module = import_code(generate(analyse(loads(base(train=f"data: {quoted(payload)}")).network())), "RoundTripJax")
    assert module.TRAIN["data"] == payload


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


@pytest.mark.slow
def test_injection_attempts_run_nothing_as_scripts(tmp_path: Path) -> None:
    """Every accepted attempt, run as `python model.py --help` and as a one-epoch training run."""
    Path(CANARY).unlink(missing_ok=True)
    paths = []
    for i, (_, source) in enumerate(ATTEMPTS):
        code = generated_or_none(source)
        if code is not None:
            path = tmp_path / f"model_{i}.py"
            path.write_text(code)
            paths.append(str(path))
    assert len(paths) >= 10
    result = subprocess.run(
        [sys.executable, "-c", RUN_ALL, *paths], capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert not Path(CANARY).exists(), "a generated script executed injected text"
