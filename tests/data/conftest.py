"""Small networks for the data tests, built from .neural text."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from neural.api import analyse, loads
from neural.shapes.engine import ShapedNetwork

CLASSIFIER = """
network Classifier {
  input: (8, 8, 1)
  layers:
    Flatten()
    Output(10, "softmax")
  loss: "sparse_categorical_crossentropy"
}
"""

FLAT = """
network Flat {
  input: (4,)
  layers:
    Dense(8, "relu")
    Output(3, "softmax")
  loss: "sparse_categorical_crossentropy"
}
"""


def build_network(text: str) -> ShapedNetwork:
    return analyse(loads(text).network())


@pytest.fixture
def build() -> Callable[[str], ShapedNetwork]:
    return build_network


@pytest.fixture
def classifier() -> ShapedNetwork:
    return build_network(CLASSIFIER)


@pytest.fixture
def flat() -> ShapedNetwork:
    return build_network(FLAT)
