"""The Dataset type (splits, batches) and the conventions that fit arrays to a network."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from neural.data import DataError, Dataset, Task, fit_inputs, fit_targets, task_of, vocabulary_size
from neural.errors import NeuralError
from neural.shapes.engine import ShapedNetwork

Build = Callable[[str], ShapedNetwork]


def make(n: int = 10) -> Dataset:
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    return Dataset("toy", {"input": x}, np.arange(n, dtype=np.int64) % 3, Task("classification", (3,), 3))


def test_data_error_is_a_neural_error() -> None:
    assert issubclass(DataError, NeuralError)


def test_split_sizes_are_disjoint_and_cover_everything() -> None:
    data = make(100)
    parts = data.split(validation=0.2, test=0.1, seed=0)
    assert parts.validation is not None and parts.test is not None
    assert (len(parts.train), len(parts.validation), len(parts.test)) == (70, 20, 10)
    seen = np.concatenate(
        [parts.train.x["input"][:, 0], parts.validation.x["input"][:, 0], parts.test.x["input"][:, 0]]
    )
    assert sorted(seen.tolist()) == sorted(data.x["input"][:, 0].tolist())
    # rows stay aligned with their labels
    for part in (parts.train, parts.validation, parts.test):
        np.testing.assert_array_equal((part.x["input"][:, 0] // 2).astype(np.int64) % 3, part.y)


def test_split_is_seeded() -> None:
    data = make(50)
    a = data.split(validation=0.2, seed=3)
    b = data.split(validation=0.2, seed=3)
    c = data.split(validation=0.2, seed=4)
    assert a.validation is not None and b.validation is not None and c.validation is not None
    np.testing.assert_array_equal(a.validation.y, b.validation.y)
    np.testing.assert_array_equal(a.validation.x["input"], b.validation.x["input"])
    assert not np.array_equal(a.validation.x["input"], c.validation.x["input"])


def test_split_without_fractions_keeps_everything_for_training() -> None:
    parts = make(7).split(seed=0)
    assert len(parts.train) == 7 and parts.validation is None and parts.test is None


def test_small_positive_fraction_gets_at_least_one_sample() -> None:
    parts = make(5).split(validation=0.01, seed=0)
    assert parts.validation is not None and len(parts.validation) == 1


def test_split_that_leaves_no_training_data_is_an_error() -> None:
    with pytest.raises(DataError, match="leave none for training"):
        make(4).split(validation=0.5, test=0.5, seed=0)
    with pytest.raises(DataError, match=r"\[0, 1\)"):
        make(4).split(validation=1.5, seed=0)


def test_shipped_test_set_is_used_as_the_test_split() -> None:
    shipped = make(3)
    data = Dataset("toy", make(20).x, make(20).y, make(20).task, test=shipped)
    parts = data.split(validation=0.25, test=0.5, seed=0)
    assert parts.test is shipped
    assert len(parts.train) == 15  # nothing carved for test
    assert data.split(validation=0.25, seed=0).test is None


def test_batches_in_order_and_shuffled() -> None:
    data = make(10)
    sizes = [len(b) for b in data.batches(4)]
    assert sizes == [4, 4, 2]
    assert data.num_batches(4) == 3 and data.num_batches(4, drop_last=True) == 2
    assert [len(b) for b in data.batches(4, drop_last=True)] == [4, 4]
    first = next(iter(data.batches(4)))
    np.testing.assert_array_equal(first.y, data.y[:4])
    order_a = np.concatenate([b.x["input"][:, 0] for b in data.batches(3, shuffle=True, rng=np.random.default_rng(1))])
    order_b = np.concatenate([b.x["input"][:, 0] for b in data.batches(3, shuffle=True, rng=np.random.default_rng(1))])
    np.testing.assert_array_equal(order_a, order_b)
    assert sorted(order_a.tolist()) == data.x["input"][:, 0].tolist()
    assert not np.array_equal(order_a, data.x["input"][:, 0])


def test_shuffled_batches_need_a_generator_and_batch_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="Generator"):
        next(make().batches(2, shuffle=True))
    with pytest.raises(DataError, match="batch size"):
        next(make().batches(0))


def test_arrays_of_different_lengths_are_rejected() -> None:
    with pytest.raises(DataError, match="different lengths"):
        Dataset("bad", {"input": np.zeros((3, 2))}, np.zeros(4), Task("regression", (1,)))


def test_task_from_loss_and_from_activation(build: Build) -> None:
    scce = build('network A { input: (4,) layers: Output(3, "softmax") loss: "sparse_categorical_crossentropy" }')
    assert task_of(scce) == Task("classification", (3,), 3)
    bce = build('network B { input: (4,) layers: Output(1, "sigmoid") loss: "binary_crossentropy" }')
    assert task_of(bce).kind == "binary"
    mse = build('network C { input: (4,) layers: Output(2) loss: "mse" }')
    assert task_of(mse) == Task("regression", (2,))
    no_loss_softmax = build("network D { input: (4,) layers: Dense(5) Softmax() }")
    assert task_of(no_loss_softmax).kind == "classification"
    no_loss_sigmoid = build('network E { input: (4,) layers: Dense(1, "sigmoid") }')
    assert task_of(no_loss_sigmoid).kind == "binary"
    per_token = build(
        "network F { input: (6,) layers: Embedding(20, 4) Dense(7) loss: SparseCategoricalCrossentropy(from_logits=true) }"
    )
    task = task_of(per_token)
    assert task.num_classes == 7 and task.target_shape == (6,)


def test_fit_inputs_reshapes_flat_and_singleton_axes(classifier: ShapedNetwork) -> None:
    flat = np.zeros((5, 64), dtype=np.float32)
    assert fit_inputs("d", {"input": flat}, classifier)["input"].shape == (5, 8, 8, 1)
    squeezed = np.zeros((5, 8, 8), dtype=np.float32)
    assert fit_inputs("d", {"input": squeezed}, classifier)["input"].shape == (5, 8, 8, 1)


def test_fit_inputs_shape_mismatch_names_both_shapes(classifier: ShapedNetwork) -> None:
    with pytest.raises(DataError) as info:
        fit_inputs("mnist", {"input": np.zeros((2, 28, 28, 1))}, classifier)
    assert str(info.value) == "dataset mnist has samples of shape (28, 28, 1); network Classifier expects (8, 8, 1)"
    with pytest.raises(DataError, match=r"shape \(8, 8, 2\)"):
        fit_inputs("d", {"input": np.zeros((2, 8, 8, 2))}, classifier)  # no reshape reaches the input shape


def test_fit_inputs_scales_uint8_and_converts_to_float32(classifier: ShapedNetwork) -> None:
    pixels = np.full((1, 8, 8, 1), 255, dtype=np.uint8)
    out = fit_inputs("d", {"input": pixels}, classifier)["input"]
    assert out.dtype == np.float32 and float(out.max()) == 1.0
    doubles = np.full((1, 8, 8, 1), 3.0)
    assert fit_inputs("d", {"input": doubles}, classifier)["input"].dtype == np.float32
    with pytest.raises(DataError, match="NaN"):
        fit_inputs("d", {"input": np.full((1, 64), np.nan)}, classifier)


def test_fit_inputs_transposes_images_for_channels_first(build: Build) -> None:
    net = build('network CF { layout: channels_first input: (3, 4, 5) layers: Flatten() Output(2, "softmax") }')
    images = np.arange(2 * 4 * 5 * 3, dtype=np.float32).reshape(2, 4, 5, 3)
    out = fit_inputs("d", {"input": images}, net, images=True)["input"]
    np.testing.assert_array_equal(out, images.transpose(0, 3, 1, 2))


def test_token_inputs_must_be_ids_within_the_vocabulary(build: Build) -> None:
    net = build('network T { input: (5,) layers: Embedding(10, 4) Flatten() Output(2, "softmax") }')
    assert vocabulary_size(net, "input") == 10
    ids = fit_inputs("d", {"input": np.array([[0, 1, 2, 3, 9]], dtype=np.int32)}, net)["input"]
    assert ids.dtype == np.int64
    assert fit_inputs("d", {"input": np.array([[0.0, 1, 2, 3, 4]])}, net)["input"].dtype == np.int64
    with pytest.raises(DataError, match=r"token ids from 0 to 10 .* \[0, 10\)"):
        fit_inputs("d", {"input": np.array([[0, 1, 2, 3, 10]])}, net)
    with pytest.raises(DataError, match="non-integer"):
        fit_inputs("d", {"input": np.array([[0.5, 1, 2, 3, 4]])}, net)


def test_fit_targets_classification(classifier: ShapedNetwork) -> None:
    task = task_of(classifier)
    labels = fit_targets("d", np.array([0, 9, 3], dtype=np.uint8), classifier, task)
    assert labels.dtype == np.int64 and labels.tolist() == [0, 9, 3]
    one_hot = np.eye(10, dtype=np.float32)[[2, 5]]
    assert fit_targets("d", one_hot, classifier, task).tolist() == [2, 5]
    assert fit_targets("d", np.array([[1.0], [4.0]]), classifier, task).tolist() == [1, 4]
    with pytest.raises(DataError, match=r"class labels from 0 to 10; network Classifier has 10 output classes"):
        fit_targets("d", np.array([0, 10]), classifier, task)
    with pytest.raises(DataError, match="non-integer"):
        fit_targets("d", np.array([0.5, 1.0]), classifier, task)


def test_fit_targets_binary_and_regression(build: Build) -> None:
    binary = build('network B { input: (4,) layers: Output(1, "sigmoid") loss: "binary_crossentropy" }')
    out = fit_targets("d", np.array([0, 1, 1]), binary, task_of(binary))
    assert out.shape == (3, 1) and out.dtype == np.float32
    with pytest.raises(DataError, match="binary output"):
        fit_targets("d", np.array([0, 2]), binary, task_of(binary))
    regression = build('network R { input: (4,) layers: Output(2) loss: "mse" }')
    assert fit_targets("d", np.ones((3, 2)), regression, task_of(regression)).shape == (3, 2)
    with pytest.raises(DataError, match=r"targets of shape \(3,\) per sample; network R expects \(2,\)"):
        fit_targets("d", np.ones((3, 3)), regression, task_of(regression))


def test_several_outputs_are_refused(build: Build) -> None:
    net = build(
        """
network Two {
  input: (4,)
  layers:
    a = Dense(2)
    b = Dense(3)(input)
  outputs: [a, b]
}
"""
    )
    with pytest.raises(DataError, match="2 outputs"):
        task_of(net)
