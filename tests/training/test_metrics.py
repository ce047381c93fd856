"""Streaming metrics against hand-computed values and scikit-learn over several batches."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from training_helpers import component, metric

from neural.errors import InvalidValueError
from neural.runtime.tensor import Tensor
from neural.training.metrics import (
    F1,
    Accuracy,
    Metric,
    Precision,
    Recall,
    TopKAccuracy,
    build_metric,
    build_metrics,
    infer_task,
    resolve_mode,
)

BATCHES = (7, 1, 12, 5)  # uneven batch sizes: results must not be averages of batch averages


def stream(metric: Metric, pred: np.ndarray, target: np.ndarray) -> float:
    """Feed `pred`/`target` in uneven batches and return the accumulated result."""
    start = 0
    for size in BATCHES:
        metric.update(pred[start : start + size], target[start : start + size])
        start += size
    assert start == len(pred)
    return metric.result()


def scores(n: int = 25, classes: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, classes))


def labels(n: int = 25, classes: int = 4, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, classes, n)


@pytest.fixture
def sklearn() -> Any:
    return pytest.importorskip("sklearn.metrics", reason="scikit-learn is the reference for these metrics")


# --- accuracy ---


def test_accuracy_by_hand_for_each_task() -> None:
    sparse = Accuracy()
    sparse.update(np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([1, 1]))
    assert sparse.result() == 0.5
    categorical = Accuracy()
    categorical.update(np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]), np.array([[1, 0], [0, 1], [0, 1]]))
    assert categorical.result() == pytest.approx(2 / 3)
    binary = Accuracy()
    binary.update(np.array([[0.7], [0.4], [0.5], [0.1]]), np.array([1, 0, 1, 1]))
    assert binary.result() == 0.5  # 0.5 is not above the threshold


def test_accuracy_streams_over_uneven_batches(sklearn: Any) -> None:
    s, y = scores(), labels()
    assert stream(Accuracy(), s, y) == pytest.approx(sklearn.accuracy_score(y, s.argmax(1)))
    assert stream(Accuracy(), s, np.eye(4)[y]) == pytest.approx(sklearn.accuracy_score(y, s.argmax(1)))


def test_accuracy_over_sequences_counts_every_position() -> None:
    pred = np.zeros((2, 3, 4))
    pred[..., 1] = 1.0
    target = np.array([[1, 1, 0], [1, 2, 1]])
    metric = Accuracy()
    metric.update(Tensor(pred), target)
    assert metric.result() == pytest.approx(4 / 6)


def test_reset_starts_over_and_empty_result_is_zero() -> None:
    metric = Accuracy()
    assert metric.result() == 0.0
    metric.update(np.array([[0.1, 0.9]]), np.array([1]))
    metric.reset()
    metric.update(np.array([[0.1, 0.9]]), np.array([0]))
    assert metric.result() == 0.0


def test_task_inference_from_shapes() -> None:
    assert infer_task((8, 1), (8,)) == "binary"
    assert infer_task((8,), (8,)) == "binary"
    assert infer_task((8, 3), (8, 3)) == "categorical"
    assert infer_task((8, 3), (8,)) == "sparse"
    assert infer_task((8, 3), (8, 1)) == "sparse"
    assert infer_task((2, 5, 3), (2, 5)) == "sparse"
    with pytest.raises(InvalidValueError, match=r"\(8, 2\)"):
        infer_task((8, 3), (8, 2))


# --- top-k ---


@pytest.mark.parametrize("k", [1, 2, 3])
def test_top_k_accuracy_matches_sklearn(sklearn: Any, k: int) -> None:
    s, y = scores(), labels()
    expected = sklearn.top_k_accuracy_score(y, s, k=k, labels=range(4))
    assert stream(TopKAccuracy(k), s, y) == pytest.approx(expected)
    assert stream(TopKAccuracy(k), s, np.eye(4)[y]) == pytest.approx(expected)


def test_top_k_by_hand_with_ties_counted_in() -> None:
    metric = TopKAccuracy(2)
    metric.update(np.array([[0.5, 0.5, 0.5], [0.1, 0.2, 0.7], [0.6, 0.3, 0.1]]), np.array([2, 0, 1]))
    assert metric.result() == pytest.approx(2 / 3)  # tie: in; 0.1 is third: out; 0.3 is second: in
    assert metric.name == "top_2_accuracy"


def test_top_k_needs_class_scores() -> None:
    with pytest.raises(InvalidValueError, match="class scores"):
        TopKAccuracy(2).update(np.zeros((3, 1)), np.zeros(3))


# --- precision, recall, F1 ---


@pytest.mark.parametrize(
    ("cls", "reference"), [(Precision, "precision_score"), (Recall, "recall_score"), (F1, "f1_score")]
)
def test_binary_confusion_metrics_match_sklearn(sklearn: Any, cls: Any, reference: str) -> None:
    p = np.random.default_rng(0).uniform(size=(25, 1))
    y = labels(classes=2)
    expected = getattr(sklearn, reference)(y, (p[:, 0] > 0.5).astype(int))
    assert stream(cls(), p, y) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("cls", "reference"), [(Precision, "precision_score"), (Recall, "recall_score"), (F1, "f1_score")]
)
def test_multiclass_confusion_metrics_are_macro_averaged_like_sklearn(sklearn: Any, cls: Any, reference: str) -> None:
    s, y = scores(classes=5), labels(classes=5)
    expected = getattr(sklearn, reference)(y, s.argmax(1), average="macro", zero_division=0)
    assert stream(cls(), s, y) == pytest.approx(expected)


def test_macro_average_skips_classes_never_seen(sklearn: Any) -> None:
    pred = np.eye(4)[[0, 1, 1, 0, 1]]  # classes 2 and 3 never predicted nor true
    y = np.array([0, 1, 0, 0, 1])
    for cls, reference in ((Precision, "precision_score"), (Recall, "recall_score"), (F1, "f1_score")):
        metric = cls()
        metric.update(pred, y)
        assert metric.result() == pytest.approx(getattr(sklearn, reference)(y, pred.argmax(1), average="macro"))


def test_confusion_by_hand() -> None:
    pred = np.array([0.9, 0.8, 0.2, 0.7, 0.1])
    target = np.array([1, 0, 1, 1, 0])  # tp 2, fp 1, fn 1
    results = []
    for cls in (Precision, Recall, F1):
        metric = cls()
        metric.update(pred, target)
        results.append(metric.result())
    assert results == pytest.approx([2 / 3, 2 / 3, 2 / 3])
    empty = Precision()
    empty.update(np.array([0.1, 0.2]), np.array([1, 0]))
    assert empty.result() == 0.0  # no positive predictions: 0, not NaN


# --- regression ---


@pytest.mark.parametrize(("name", "reference"), [("mae", "mean_absolute_error"), ("mse", "mean_squared_error")])
def test_regression_metrics_match_sklearn(sklearn: Any, name: str, reference: str) -> None:
    pred, target = scores(classes=1), scores(classes=1, seed=4)[:, 0]
    assert stream(build_metric(metric(name)), pred, target) == pytest.approx(
        getattr(sklearn, reference)(target, pred[:, 0])
    )


# --- builder ---


def test_builder_names_and_loss_hints() -> None:
    metrics = build_metrics(
        [component("acc"), component("TopKAccuracy", k=3), component("f1_score"), metric("MeanAbsoluteError")]
    )
    assert [m.name for m in metrics] == ["accuracy", "top_3_accuracy", "f1", "mae"]
    multi_label = build_metric(component("accuracy"), loss=component("binary_crossentropy"))
    multi_label.update(np.array([[0.9, 0.6], [0.2, 0.4]]), np.array([[1, 0], [0, 0]]))
    assert multi_label.result() == 0.75  # element-wise, not argmax
    from_logits = build_metric(component("accuracy"), loss=component("binary_crossentropy", from_logits=True))
    from_logits.update(np.array([[0.3], [-0.2]]), np.array([1, 0]))
    assert from_logits.result() == 1.0  # threshold 0 on logits


def test_modes_for_monitored_names() -> None:
    assert resolve_mode("val_loss") == "min"
    assert resolve_mode("val_mae") == "min"
    assert resolve_mode("val_accuracy") == "max"
    assert resolve_mode("f1") == "max"
    assert resolve_mode("val_accuracy", "min") == "min"


def test_bad_targets_are_clear_errors() -> None:
    with pytest.raises(InvalidValueError, match=r"\[0, 3\)"):
        Accuracy().update(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(InvalidValueError, match="do not match"):
        build_metric(metric("mse")).update(np.zeros((2, 3)), np.zeros((2, 2)))
