"""PyTorch target tests need torch; helpers are importable as `torch_helpers`."""

import sys
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the PyTorch target tests need torch (installed by `make test`)")
sys.path.insert(0, str(Path(__file__).resolve().parent))
