"""Shared fixtures for the training tests; makes `training_helpers` importable."""

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def torch() -> Any:
    """PyTorch, or a skip with the reason when it is not installed."""
    return pytest.importorskip("torch", reason="PyTorch is the reference for these comparisons")
