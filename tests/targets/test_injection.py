"""No text from a .neural file can run code in a generated module, whatever the target: names are checked
identifiers, every string is a repr()'d literal. Each attempt of the shared corpus (tests/catalog/injection.py)
must either be rejected by the compiler or produce a module that, imported, built, run forward and run as a
script, executes nothing of its own; and any string value reaches the module unchanged.

Generating needs no framework, so the tests that only generate run for every target; the others skip, with the
reason, where the target's framework is missing.
"""

from __future__ import annotations

import importlib
import types
from collections.abc import Callable
from pathlib import Path

import pytest
from catalog.frameworks import MARKS, need_framework
from catalog.injection import (
    ATTEMPTS,
    BREAKOUTS,
    NAME_PLACES,
    NON_IDENTIFIERS,
    SCRIPT_ATTEMPTS,
    base,
    canary_fired,
    clear_canary,
    code_names,
    dsl_literal,
    generated_or_none,
    run_as_scripts,
)
from hypothesis import example, given, settings
from hypothesis import strategies as st

from neural.api import analyse, loads
from neural.errors import NeuralError

BACKENDS = ("pytorch", "tensorflow", "jax")


def backend_params() -> list:
    return [pytest.param(b, id=b, marks=MARKS[b]) for b in BACKENDS]


def needs(backend: str) -> None:
    """Skip, with the reason, unless the framework of `backend` can be imported here."""
    need_framework(backend)


def generate(backend: str) -> Callable[..., str]:
    return importlib.import_module(f"neural.targets.{backend}.codegen").generate


def import_code(backend: str, code: str, name: str) -> types.ModuleType:
    return importlib.import_module(f"neural.targets.{backend}.load").import_code(code, f"{name}_{backend}")


def run_forward(backend: str, module: types.ModuleType) -> None:
    """Build the model of a generated module and run it on a batch of two (3,) inputs."""
    if backend == "pytorch":
        import torch

        module.build_model()(torch.zeros(2, 3))
    elif backend == "tensorflow":
        import numpy as np

        module.build_model()(np.zeros((2, 3), np.float32))
    else:
        import jax.numpy as jnp

        module.build_model()(jnp.zeros((2, 3), jnp.float32))


def test_there_are_at_least_thirty_attempts() -> None:
    assert len(ATTEMPTS) >= 30
    assert len({what for what, _ in ATTEMPTS}) == len(ATTEMPTS)


@pytest.mark.parametrize("backend", backend_params())
@pytest.mark.parametrize(("what", "source"), ATTEMPTS, ids=[a[0] for a in ATTEMPTS])
def test_injection_attempt_runs_nothing_when_imported(backend: str, what: str, source: str) -> None:
    clear_canary()
    code = generated_or_none(source, generate(backend))
    assert not canary_fired(), f"{what}: compiling executed injected text"
    if code is None:
        return
    assert "__import__" not in code_names(code), f"{what}: injected text is code, not a string literal"
    needs(backend)
    run_forward(backend, import_code(backend, code, "injected"))
    assert not canary_fired(), f"{what}: importing the generated code executed injected text"


@pytest.mark.parametrize("backend", backend_params())
def test_the_corpus_reaches_generated_code(backend: str) -> None:
    """Enough attempts get past the compiler (an attempt it rejects checks nothing past it)."""
    accepted = [what for what, source in ATTEMPTS if generated_or_none(source, generate(backend))]
    assert len(accepted) >= 10, accepted


# run as scripts: every accepted attempt, but on TensorFlow (about a second of start-up and training a script) one
# payload per place and every name attempt (every payload is checked on import above)
SCRIPTED = {"pytorch": ATTEMPTS, "tensorflow": SCRIPT_ATTEMPTS, "jax": ATTEMPTS}


@pytest.mark.slow
@pytest.mark.parametrize("backend", backend_params())
def test_injection_attempts_run_nothing_as_scripts(backend: str, tmp_path: Path) -> None:
    """Accepted attempts, formatted as `neural compile` writes them, run as `python model.py --help` and as a
    one-epoch training run on synthetic data (all in one process)."""
    needs(backend)
    codegen = importlib.import_module(f"neural.targets.{backend}.codegen")
    codes = [
        codegen.format_code(code) for _, s in SCRIPTED[backend] if (code := generated_or_none(s, codegen.generate))
    ]
    assert len(codes) >= 8
    clear_canary()
    result = run_as_scripts(codes, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert not canary_fired(), "a generated script executed injected text"


@pytest.mark.parametrize("backend", backend_params())
def test_unsafe_file_name_never_reaches_the_header(backend: str) -> None:
    code = generate(backend)(analyse(loads(base()).network()), source='x"""; import os; """.neural')
    assert "import os;" not in code


@pytest.mark.parametrize("backend", backend_params())
@pytest.mark.parametrize("place", list(NAME_PLACES))
def test_a_name_that_is_no_identifier_is_a_positioned_error(backend: str, place: str) -> None:
    for name in NON_IDENTIFIERS:
        with pytest.raises(NeuralError) as caught:
            generate(backend)(analyse(loads(NAME_PLACES[place](name)).network()))
        assert caught.value.span is not None, f"{place} name {name!r}: {caught.value}"


DSL_STRING = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@pytest.mark.parametrize("backend", backend_params())
@settings(max_examples=60, deadline=None)
@given(value=DSL_STRING)
@example(value=BREAKOUTS[0])
def test_any_string_round_trips_into_generated_code(backend: str, value: str) -> None:
    needs(backend)
    literal = dsl_literal(value)
    source = base(train=f"data: {literal} validation_split: 0.5 early_stopping: EarlyStopping(monitor={literal})")
    module = import_code(backend, generate(backend)(analyse(loads(source).network())), "round_trip")
    assert module.TRAIN["data"] == value
    assert module.TRAIN["early_stopping"]["monitor"] == value
