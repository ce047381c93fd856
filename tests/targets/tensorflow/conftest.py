"""TensorFlow target tests need TensorFlow with Keras 3; helpers are importable as `tf_helpers`.

TensorFlow takes about ten seconds to import: every test of this folder runs in the one pytest process,
which imports it once."""

import os
import sys
from pathlib import Path

import pytest

os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
pytest.importorskip("tensorflow", reason="the TensorFlow target tests need tensorflow (installed by `make test`)")
pytest.importorskip("keras", minversion="3.0", reason="the TensorFlow target needs Keras 3")
sys.path.insert(0, str(Path(__file__).resolve().parent))
