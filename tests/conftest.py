"""Shared fixtures and settings. Framework-dependent tests skip with a reason when the framework is missing.

The catalog of layer cases (tests/catalog) is importable as `catalog` from every test folder.

JAX settings for the whole run (read when JAX starts, so set before any test imports it; child processes the
tests start inherit them): compiling dominates JAX's time on a CPU, and most of a compile is LLVM optimizing
the generated kernels, so XLA is asked for unoptimized machine code (the same arithmetic: XLA's CPU backend
keeps IEEE float semantics at every optimization level) and for its classic loop emitters instead of the
newer fusion emitters, which compile the tests' many small fused kernels 1.4-1.7x more slowly; random
draws (dropout masks) compile about 3 times faster with the classic threefry lowering than with the
partitionable one, and no test depends on which stream the masks come from.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
EXAMPLES = ROOT / "examples"

if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

for _flag in ("--xla_backend_optimization_level=0", "--xla_cpu_use_fusion_emitters=false"):
    if _flag.split("=")[0] not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + _flag).strip()
os.environ.setdefault("JAX_THREEFRY_PARTITIONABLE", "0")


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES
