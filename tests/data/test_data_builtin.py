"""`digits` (scikit-learn's bundled set) and `synthetic` data made to fit a network."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from neural.data import DataError, load_dataset
from neural.shapes.engine import ShapedNetwork

Build = Callable[[str], ShapedNetwork]


def test_digits_fits_a_channels_last_cnn(classifier: ShapedNetwork) -> None:
    pytest.importorskip("sklearn", reason="digits needs scikit-learn (the datasets extra)")
    data = load_dataset("digits", classifier, seed=0)
    assert len(data) == 1797
    x = data.x["input"]
    assert x.shape == (1797, 8, 8, 1) and x.dtype == np.float32
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    assert data.y.dtype == np.int64 and sorted(set(data.y.tolist())) == list(range(10))
    assert data.class_names == tuple("0123456789")
    assert data.summary() == "digits: 1797 samples, input (8, 8, 1) float32, 10 classes"


def test_digits_channels_first(build: Build) -> None:
    pytest.importorskip("sklearn", reason="digits needs scikit-learn (the datasets extra)")
    net = build('network CF { layout: channels_first input: (1, 8, 8) layers: Flatten() Output(10, "softmax") }')
    data = load_dataset("digits", net, seed=0)
    assert data.x["input"].shape == (1797, 1, 8, 8)


def test_digits_shape_mismatch_names_both_shapes(build: Build) -> None:
    pytest.importorskip("sklearn", reason="digits needs scikit-learn (the datasets extra)")
    net = build('network DigitsCNN { input: (28, 28, 1) layers: Flatten() Output(10, "softmax") }')
    with pytest.raises(DataError) as info:
        load_dataset("digits", net, seed=0)
    assert str(info.value) == "dataset digits has samples of shape (8, 8, 1); network DigitsCNN expects (28, 28, 1)"


def test_digits_without_scikit_learn_says_which_extra(
    monkeypatch: pytest.MonkeyPatch, classifier: ShapedNetwork
) -> None:
    real_import = builtins.__import__

    def no_sklearn(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "sklearn" or name.startswith("sklearn."):
            raise ImportError("No module named 'sklearn'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    with pytest.raises(DataError, match="scikit-learn") as info:
        load_dataset("digits", classifier, seed=0)
    assert info.value.hint is not None and "pip install neural-lang[datasets]" in info.value.hint


def test_synthetic_fits_the_network_and_is_seeded(classifier: ShapedNetwork) -> None:
    a = load_dataset("synthetic", classifier, seed=1, size=200)
    b = load_dataset("synthetic", classifier, seed=1, size=200)
    c = load_dataset("synthetic", classifier, seed=2, size=200)
    assert a.x["input"].shape == (200, 8, 8, 1) and a.x["input"].dtype == np.float32
    assert a.y.shape == (200,) and a.y.dtype == np.int64
    np.testing.assert_array_equal(a.x["input"], b.x["input"])
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.x["input"], c.x["input"])
    counts = np.bincount(a.y, minlength=10)
    assert counts.min() >= 5  # every class occurs; the teacher keeps them about balanced


def test_synthetic_size_from_the_name(flat: ShapedNetwork) -> None:
    assert len(load_dataset("synthetic:37", flat, seed=0)) == 37
    assert len(load_dataset("synthetic", flat, seed=0)) == 1000
    with pytest.raises(DataError, match="positive integer"):
        load_dataset("synthetic:many", flat, seed=0)


def test_synthetic_classes_follow_a_linear_teacher(flat: ShapedNetwork) -> None:
    """A least-squares linear classifier fits the teacher's labels far above chance (1/3)."""
    data = load_dataset("synthetic", flat, seed=0, size=600)
    x = np.concatenate([data.x["input"], np.ones((600, 1), np.float32)], axis=1)
    one_hot = np.eye(3)[data.y]
    w, *_ = np.linalg.lstsq(x, one_hot, rcond=None)
    accuracy = float(np.mean(np.argmax(x @ w, axis=1) == data.y))
    assert accuracy > 0.8


def test_synthetic_regression_is_an_exact_linear_function(build: Build) -> None:
    net = build('network R { input: (6,) layers: Dense(8, "relu") Output(2) loss: "mse" }')
    data = load_dataset("synthetic", net, seed=0, size=100)
    assert data.y.shape == (100, 2) and data.y.dtype == np.float32
    x = np.concatenate([data.x["input"], np.ones((100, 1), np.float32)], axis=1)
    w, *_ = np.linalg.lstsq(x, data.y, rcond=None)
    np.testing.assert_allclose(x @ w, data.y, atol=1e-3)


def test_synthetic_binary_and_several_inputs(build: Build) -> None:
    net = build(
        """
network Two {
  input {
    image: (4, 4, 3)
    features: (5,)
  }
  layers:
    Flatten()(image)
    a = Dense(4)
    b = Dense(4)(features)
    Concatenate()(a, b)
    Output(1, "sigmoid")
  loss: "binary_crossentropy"
}
"""
    )
    data = load_dataset("synthetic", net, seed=0, size=50)
    assert data.x["image"].shape == (50, 4, 4, 3) and data.x["features"].shape == (50, 5)
    assert data.y.shape == (50, 1) and set(np.unique(data.y).tolist()) == {0.0, 1.0}


def test_synthetic_tokens_stay_within_the_embedding_vocabulary(build: Build) -> None:
    net = build(
        """
network Tagger {
  input: (12,)
  layers:
    Embedding(30, 8)
    Dense(5)
  loss: SparseCategoricalCrossentropy(from_logits=true)
}
"""
    )
    data = load_dataset("synthetic", net, seed=0, size=40)
    ids = data.x["input"]
    assert ids.dtype == np.int64 and ids.shape == (40, 12)
    assert int(ids.min()) >= 0 and int(ids.max()) < 30
    assert data.y.shape == (40, 12) and int(data.y.max()) < 5
    # per-token teacher: the same token always gets the same class
    pairs = {(int(t), int(c)) for t, c in zip(ids.ravel(), data.y.ravel())}
    assert len({t for t, _ in pairs}) == len(pairs)


def test_synthetic_size_must_be_positive(flat: ShapedNetwork) -> None:
    with pytest.raises(DataError, match="positive integer"):
        load_dataset("synthetic", flat, seed=0, size=0)
