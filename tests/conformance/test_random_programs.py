"""At least 200 random valid programs through every backend, compared with the NumPy runtime.

A failure is shrunk to a minimal program, written to tests/conformance/regressions/ (to be
committed as a regression example) and reported with its text.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from backends import CANDIDATES, available
from random_programs import analysed, generate_program, shrink

from neural.compare import compare

PROGRAMS = 200
CHUNK = 25  # programs per test, so that parallel workers share a backend's programs
REGRESSIONS = Path(__file__).resolve().parent / "regressions"
TOLERANCE = 1e-4


def failure(text: str, backend: str) -> str | None:
    """Why `text` fails on `backend` (None when it agrees with the NumPy runtime)."""
    shaped = analysed(text)
    assert shaped is not None
    try:
        [result] = compare(shaped, [backend], tolerance=TOLERANCE)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    if not result.ok:
        return f"differs from the NumPy runtime: outputs {result.forward:.3g}, after one step {result.step}"
    return None


@pytest.mark.slow
@pytest.mark.parametrize("first", range(0, PROGRAMS, CHUNK), ids=lambda first: f"seeds{first}-{first + CHUNK - 1}")
@pytest.mark.parametrize("backend", CANDIDATES)
def test_random_programs_agree_on_every_backend(backend: str, first: int) -> None:
    reason = available(backend)
    if reason:
        pytest.skip(reason)
    problems = []
    for seed in range(first, first + CHUNK):
        program = generate_program(seed)
        why = failure(program.text(), backend)
        if why is None:
            continue
        minimal = shrink(program, lambda text: failure(text, backend) is not None)
        REGRESSIONS.mkdir(exist_ok=True)
        (REGRESSIONS / f"random_{backend}_{seed}.neural").write_text(f"# {backend}: {why}\n{minimal}")
        problems.append(f"seed {seed}: {why}\n{minimal}")
        if len(problems) >= 3:
            break
    assert not problems, "\n\n".join(problems)


REGRESSION_FILES = sorted(REGRESSIONS.glob("*.neural"))


@pytest.mark.parametrize("path", REGRESSION_FILES, ids=[p.name for p in REGRESSION_FILES])
@pytest.mark.parametrize("backend", CANDIDATES)
def test_regression_examples_stay_fixed(path: Path, backend: str) -> None:
    reason = available(backend)
    if reason:
        pytest.skip(reason)
    assert failure(path.read_text(), backend) is None


def test_generated_programs_are_valid_and_varied() -> None:
    kinds: set[str] = set()
    for seed in range(PROGRAMS):
        shaped = analysed(generate_program(seed).text())
        assert shaped is not None
        kinds.update(layer.node.kind for layer in shaped.layers)
    assert len(kinds) >= 40, sorted(kinds)
