"""Losses: values and gradients against PyTorch (float32 and float64), clipping, stability, errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from training_helpers import component

from neural.errors import InvalidValueError
from neural.runtime.tensor import Tensor
from neural.training.losses import EPSILON, build_loss

RTOL = {np.float32: (1e-5, 1e-4), np.float64: (1e-10, 1e-10)}
DTYPES = [np.float32, np.float64]


def ours(loss: Callable[[Tensor, Any], Tensor], pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(loss value, d loss / d pred) from our loss."""
    p = Tensor(pred.copy(), requires_grad=True)
    value = loss(p, target)
    assert value.shape == () and value.dtype == pred.dtype
    value.backward()
    assert p.grad is not None
    return value.data, p.grad


def theirs(torch: Any, fn: Callable[..., Any], pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same from a torch expression fn(pred_tensor, target_tensor)."""
    p = torch.tensor(pred, requires_grad=True)
    value = fn(p, torch.tensor(target))
    value.backward()
    return value.detach().numpy(), p.grad.numpy()


def check(torch: Any, loss: Any, fn: Callable[..., Any], pred: np.ndarray, target: np.ndarray) -> None:
    value_rtol, grad_rtol = RTOL[pred.dtype.type]
    value, grad = ours(loss, pred, target)
    ref_value, ref_grad = theirs(torch, fn, pred, target)
    np.testing.assert_allclose(value, ref_value, rtol=value_rtol, atol=value_rtol * 1e-2)
    np.testing.assert_allclose(grad, ref_grad, rtol=grad_rtol, atol=grad_rtol * 1e-2)


def logits(shape: tuple[int, ...], dtype: Any, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(shape) * 2).astype(dtype)


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(x.dtype)


def classes(shape: tuple[int, ...], count: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, count, size=shape)


def one_hot(y: np.ndarray, count: int, dtype: Any) -> np.ndarray:
    return np.eye(count, dtype=dtype)[y]


def smoothed(t: Any, s: float, count: int) -> Any:
    return t * (1 - s) + s / count


# --- categorical ---


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_categorical_from_logits_matches_cross_entropy(torch: Any, dtype: Any, smoothing: float) -> None:
    x, y = logits((6, 5), dtype), classes((6,), 5)
    loss = build_loss(component("categorical_crossentropy", from_logits=True, label_smoothing=smoothing))
    fn = lambda p, t: torch.nn.functional.cross_entropy(p, t.argmax(-1), label_smoothing=smoothing)  # noqa: E731
    check(torch, loss, fn, x, one_hot(y, 5, dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_categorical_soft_targets_from_logits(torch: Any, dtype: Any) -> None:
    x, t = logits((4, 3), dtype), softmax(logits((4, 3), dtype, seed=5))
    loss = build_loss(component("CategoricalCrossentropy", from_logits=True))
    check(torch, loss, lambda p, q: torch.nn.functional.cross_entropy(p, q), x, t)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_categorical_from_probabilities_matches_nll_of_log(torch: Any, dtype: Any, smoothing: float) -> None:
    p, y = softmax(logits((6, 4), dtype)), classes((6,), 4)
    loss = build_loss(component("categorical_crossentropy", label_smoothing=smoothing))
    fn = lambda q, t: -(smoothed(t, smoothing, 4) * torch.log(q)).sum(-1).mean()  # noqa: E731
    check(torch, loss, fn, p, one_hot(y, 4, dtype))
    if smoothing == 0.0:
        check(
            torch, loss, lambda q, t: torch.nn.functional.nll_loss(torch.log(q), t.argmax(-1)), p, one_hot(y, 4, dtype)
        )


# --- sparse categorical ---


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_sparse_from_logits_matches_cross_entropy(torch: Any, dtype: Any, smoothing: float) -> None:
    x, y = logits((8, 10), dtype), classes((8,), 10)
    loss = build_loss(component("SparseCategoricalCrossentropy", from_logits=True, label_smoothing=smoothing))
    check(torch, loss, lambda p, t: torch.nn.functional.cross_entropy(p, t, label_smoothing=smoothing), x, y)


def test_sparse_over_sequences_averages_every_position(torch: Any) -> None:
    x, y = logits((2, 5, 7), np.float64), classes((2, 5), 7)
    loss = build_loss(component("sparse_categorical_crossentropy", from_logits=True))
    check(torch, loss, lambda p, t: torch.nn.functional.cross_entropy(p.permute(0, 2, 1), t), x, y)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sparse_from_probabilities_matches_nll_of_log(torch: Any, dtype: Any) -> None:
    p, y = softmax(logits((6, 4), dtype)), classes((6,), 4)
    loss = build_loss(component("sparse_categorical_crossentropy"))
    check(torch, loss, lambda q, t: torch.nn.functional.nll_loss(torch.log(q), t), p, y)


def test_sparse_accepts_a_trailing_axis_of_one() -> None:
    p, y = softmax(logits((5, 3), np.float64)), classes((5,), 3)
    loss = build_loss(component("scce"))
    np.testing.assert_allclose(ours(loss, p, y[:, None])[0], ours(loss, p, y)[0])


def test_sparse_label_smoothing_equals_smoothed_categorical() -> None:
    x, y = logits((5, 4), np.float64), classes((5,), 4)
    sparse = build_loss(component("sparse_categorical_crossentropy", from_logits=True, label_smoothing=0.3))
    dense = build_loss(component("categorical_crossentropy", from_logits=True, label_smoothing=0.3))
    for a, b in zip(ours(sparse, x, y), ours(dense, x, one_hot(y, 4, np.float64))):
        np.testing.assert_allclose(a, b, rtol=1e-12)


# --- binary ---


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(8, 1), (4, 3)])
def test_binary_from_probabilities_matches_bce(torch: Any, dtype: Any, shape: tuple[int, ...]) -> None:
    p = (1 / (1 + np.exp(-logits(shape, np.float64)))).astype(dtype)
    t = classes(shape, 2).astype(dtype)
    check(torch, build_loss(component("binary_crossentropy")), torch.nn.functional.binary_cross_entropy, p, t)


@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_from_logits_matches_bce_with_logits(torch: Any, dtype: Any) -> None:
    x, t = logits((6, 2), dtype), classes((6, 2), 2).astype(dtype)
    loss = build_loss(component("BCELoss", from_logits=True))
    check(torch, loss, torch.nn.functional.binary_cross_entropy_with_logits, x, t)


def test_binary_label_smoothing_moves_targets_towards_one_half(torch: Any) -> None:
    x, t = logits((6, 1), np.float64), classes((6, 1), 2).astype(np.float64)
    loss = build_loss(component("bce", from_logits=True, label_smoothing=0.2))
    fn = lambda p, q: torch.nn.functional.binary_cross_entropy_with_logits(p, q * 0.8 + 0.1)  # noqa: E731
    check(torch, loss, fn, x, t)


def test_binary_target_of_shape_n_is_reshaped_not_broadcast(torch: Any) -> None:
    x, t = logits((5, 1), np.float64), classes((5,), 2).astype(np.float64)
    loss = build_loss(component("bce", from_logits=True))
    check(torch, loss, lambda p, q: torch.nn.functional.binary_cross_entropy_with_logits(p, q.reshape(5, 1)), x, t)


# --- regression ---


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("name", "reference"),
    [("mse", "mse_loss"), ("mean_absolute_error", "l1_loss"), ("huber", "huber_loss")],
)
def test_regression_losses_match_torch(torch: Any, dtype: Any, name: str, reference: str) -> None:
    pred, target = logits((6, 3), dtype), logits((6, 3), dtype, seed=9)
    check(torch, build_loss(component(name)), getattr(torch.nn.functional, reference), pred, target)


@pytest.mark.parametrize("delta", [0.5, 2.0])
def test_huber_delta_matches_torch(torch: Any, delta: float) -> None:
    pred, target = logits((10,), np.float64), logits((10,), np.float64, seed=3)
    loss = build_loss(component("huber", delta))
    check(torch, loss, lambda p, t: torch.nn.functional.huber_loss(p, t, delta=delta), pred, target)


def test_regression_target_of_shape_n_is_reshaped() -> None:
    pred = np.array([[1.0], [2.0], [3.0]])
    value, grad = ours(build_loss(component("mse")), pred, np.array([1.0, 1.0, 1.0]))
    assert value == pytest.approx(5 / 3)
    np.testing.assert_allclose(grad, [[0.0], [2 / 3], [4 / 3]])


# --- clipping and stability ---


def test_probabilities_are_clipped_like_keras() -> None:
    p = np.array([[1.0, 0.0], [0.0, 1.0]])
    value, grad = ours(build_loss(component("sparse_categorical_crossentropy")), p, np.array([1, 1]))
    assert value == pytest.approx(-(np.log(EPSILON) + np.log(1 - EPSILON)) / 2)
    np.testing.assert_array_equal(grad[0], [0.0, 0.0])  # p = 0 for the true class is clipped: no gradient
    value, grad = ours(build_loss(component("bce")), np.array([0.0, 1.0]), np.array([1.0, 0.0]))
    assert np.isfinite(value) and value == pytest.approx(-np.log(EPSILON), rel=1e-6)
    np.testing.assert_array_equal(grad, [0.0, 0.0])


def test_keras_agrees_on_clipped_probabilities() -> None:
    keras = pytest.importorskip("keras", reason="Keras is the reference for clipping")
    p = np.array([[0.7, 0.3, 0.0], [1e-9, 0.5, 0.5 - 1e-9]], dtype=np.float32)
    y = np.array([2, 0])
    expected = float(np.mean(keras.losses.sparse_categorical_crossentropy(y, p)))
    assert ours(build_loss(component("sparse_categorical_crossentropy")), p, y)[0] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("name", ["sparse_categorical_crossentropy", "binary_crossentropy"])
def test_logits_are_numerically_stable(name: str) -> None:
    x = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]], dtype=np.float32)
    target = np.array([0, 0]) if name.startswith("sparse") else np.array([[1.0, 0.0], [1.0, 0.0]], dtype=np.float32)
    value, grad = ours(build_loss(component(name, from_logits=True)), x, target)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert value == pytest.approx(1000.0 if name.startswith("sparse") else 500.0, rel=1e-6)


def test_loss_backpropagates_into_a_graph() -> None:
    w = Tensor(np.array([[0.5, -0.2], [0.1, 0.3]]), requires_grad=True)
    x = Tensor(np.array([[1.0, 2.0]]))
    build_loss(component("scce", from_logits=True))(x @ w, np.array([1])).backward()
    assert w.grad is not None and w.grad.shape == (2, 2)


# --- the builder and errors ---


def test_builder_reads_names_and_aliases() -> None:
    loss = build_loss(component("CrossEntropyLoss", from_logits=True))
    assert loss.name == "sparse_categorical_crossentropy" and loss.from_logits
    assert build_loss(component("L1Loss")).name == "mean_absolute_error"
    assert build_loss(component("smooth_l1", 0.5)).name == "huber"


def test_mismatched_targets_are_clear_errors() -> None:
    p = softmax(logits((4, 3), np.float64))
    with pytest.raises(InvalidValueError, match=r"\(4, 5\).*\(4, 3\)"):
        ours(build_loss(component("categorical_crossentropy")), p, np.zeros((4, 5)))
    with pytest.raises(InvalidValueError, match="class 3"):
        ours(build_loss(component("sparse_categorical_crossentropy")), p, np.array([0, 1, 2, 3]))
    with pytest.raises(InvalidValueError, match="do not match"):
        ours(build_loss(component("mse")), p, np.zeros((4, 2)))


# --- finite differences (no torch needed) ---

FD_CASES = [
    ("categorical_crossentropy", {"from_logits": True, "label_smoothing": 0.1}, "onehot"),
    ("categorical_crossentropy", {}, "onehot"),
    ("sparse_categorical_crossentropy", {"from_logits": True}, "sparse"),
    ("sparse_categorical_crossentropy", {"label_smoothing": 0.2}, "sparse"),
    ("binary_crossentropy", {}, "binary"),
    ("binary_crossentropy", {"from_logits": True, "label_smoothing": 0.1}, "binary"),
    ("mse", {}, "real"),
    ("mae", {}, "real"),
    ("huber", {"delta": 0.7}, "real"),
]


@pytest.mark.parametrize(("name", "kwargs", "kind"), FD_CASES)
def test_gradients_match_finite_differences(name: str, kwargs: dict[str, Any], kind: str) -> None:
    x = logits((4, 3), np.float64)
    probabilistic = not kwargs.get("from_logits") and kind != "real"
    pred = (softmax(x) if kind != "binary" else 1 / (1 + np.exp(-x))) if probabilistic else x
    target = {
        "onehot": one_hot(classes((4,), 3), 3, np.float64),
        "sparse": classes((4,), 3),
        "binary": classes((4, 3), 2).astype(np.float64),
        "real": logits((4, 3), np.float64, seed=7),
    }[kind]
    loss = build_loss(component(name, **kwargs))
    _, grad = ours(loss, pred, target)
    h = 1e-6
    numeric = np.zeros_like(pred)
    for index in np.ndindex(pred.shape):
        up, down = pred.copy(), pred.copy()
        up[index] += h
        down[index] -= h
        numeric[index] = (loss(Tensor(up), target).data - loss(Tensor(down), target).data) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)
