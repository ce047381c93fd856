"""The `Dataset` type, what a network's output asks of its targets (`Task`), and fitting data to a network.

A `Dataset` holds one array per network input (batch axis first; float32, or int64 for token ids)
and one target array `y`: int64 class labels for a classification output (softmax /
(sparse) categorical cross-entropy), float32 0/1 values for a binary output (sigmoid /
binary cross-entropy), float32 values for regression. It splits into train / validation / test
with a seeded shuffle and iterates in batches.

Every loader produces raw arrays and hands them to `fit_inputs` / `fit_targets`, which apply
the same conventions everywhere and raise `DataError` naming both shapes when data and network
disagree.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import numpy as np

from neural.errors import NeuralError
from neural.ir import InputSpec
from neural.layers.base import Shape, fmt_shape
from neural.layers.registry import get_spec
from neural.shapes.engine import DTYPE_PRESERVING, ShapedNetwork

TaskKind = Literal["classification", "binary", "regression"]

CLASSIFICATION_LOSSES = frozenset({"sparse_categorical_crossentropy", "categorical_crossentropy"})
BINARY_LOSSES = frozenset({"binary_crossentropy"})
REGRESSION_LOSSES = frozenset({"mean_squared_error", "mean_absolute_error", "huber"})


class DataError(NeuralError):
    """A dataset cannot be found, read, downloaded or fitted to the network."""

    code = "data"


@dataclass(frozen=True)
class Task:
    """What the network's (single) output asks of the targets.

    `output_shape` excludes the batch axis. For classification the last output axis holds the
    `num_classes` scores and a target is one class index per remaining position, so
    `target_shape` is `output_shape[:-1]` (`()` for a plain classifier, `(steps,)` for a
    per-token one); otherwise `target_shape` equals `output_shape`.
    """

    kind: TaskKind
    output_shape: Shape
    num_classes: int | None = None

    @property
    def target_shape(self) -> Shape:
        return self.output_shape[:-1] if self.kind == "classification" else self.output_shape

    @property
    def target_dtype(self) -> str:
        return "int64" if self.kind == "classification" else "float32"


def task_of(shaped: ShapedNetwork) -> Task:
    """The task implied by the network's loss, or (without a loss) by its output activation.

    (Sparse) categorical cross-entropy, or a softmax output -> classification; binary
    cross-entropy, or a sigmoid output -> binary; anything else -> regression.
    """
    net = shaped.network
    shapes = shaped.output_shapes
    if len(shapes) != 1:
        raise DataError(
            f"network {net.name} has {len(shapes)} outputs; datasets provide one target array, so training data "
            "can only be loaded for a network with a single output"
        )
    out = shapes[0]
    kind = _kind_from_loss(net.loss.name if net.loss is not None else None)
    if kind is None:
        kind = _kind_from_activation(shaped)
    if kind == "classification":
        classes = out[-1] if out else None
        if classes is None:
            raise DataError(
                f"network {net.name} has a classification output of shape {fmt_shape(out)}; "
                "its last axis must be a fixed number of classes"
            )
        return Task("classification", out, classes)
    return Task(kind, out)


def _kind_from_loss(name: str | None) -> TaskKind | None:
    if name in CLASSIFICATION_LOSSES:
        return "classification"
    if name in BINARY_LOSSES:
        return "binary"
    if name in REGRESSION_LOSSES:
        return "regression"
    return None


def _kind_from_activation(shaped: ShapedNetwork) -> TaskKind:
    ref = shaped.network.outputs[0]
    try:
        node = shaped.network.node(ref.node)
    except KeyError:
        return "regression"
    activation = node.config.get("activation") or getattr(get_spec(node.kind), "function", "")
    name = str(activation).lower()
    if name in {"softmax", "log_softmax"}:
        return "classification"
    if name == "sigmoid":
        return "binary"
    return "regression"


class Batch(NamedTuple):
    """One batch: an array per input name (batch axis first) and the matching targets."""

    x: dict[str, np.ndarray]
    y: np.ndarray

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass(frozen=True, eq=False)
class Dataset:
    """Samples for one network: `x[input_name]` arrays and targets `y`, all of the same length.

    `test` is the held-out test set a source ships with (mnist, fashion_mnist, cifar10, an
    .npz with x_test/y_test, an image folder with train/ and test/); `split` uses it as the
    test split instead of carving one from these samples.
    """

    name: str
    x: Mapping[str, np.ndarray]
    y: np.ndarray
    task: Task
    class_names: tuple[str, ...] = ()
    test: Dataset | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        counts = {name: int(a.shape[0]) for name, a in self.x.items()}
        counts["y"] = int(self.y.shape[0])
        if len(set(counts.values())) > 1:
            listed = ", ".join(f"{k}: {v}" for k, v in counts.items())
            raise DataError(f"dataset {self.name} has arrays of different lengths ({listed})")

    def __len__(self) -> int:
        return int(self.y.shape[0])

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(self.x)

    @property
    def sample_shapes(self) -> dict[str, tuple[int, ...]]:
        """Input name -> the shape of one sample (no batch axis)."""
        return {name: tuple(int(d) for d in a.shape[1:]) for name, a in self.x.items()}

    @property
    def num_classes(self) -> int | None:
        return self.task.num_classes

    def summary(self) -> str:
        """One line: `digits: 1797 samples, input (8, 8, 1) float32, 10 classes`."""
        parts = [f"{name} {fmt_shape(shape)} {self.x[name].dtype}" for name, shape in self.sample_shapes.items()]
        if self.task.kind == "classification":
            target = f"{self.task.num_classes} classes"
        elif self.task.kind == "binary":
            target = "binary targets"
        else:
            target = f"targets {fmt_shape(tuple(int(d) for d in self.y.shape[1:]))}"
        extra = f", {len(self.test)} test samples" if self.test is not None else ""
        return f"{self.name}: {len(self)} samples, " + ", ".join(parts) + f", {target}{extra}"

    def take(self, indices: np.ndarray | Sequence[int]) -> Dataset:
        """The samples at `indices`, in that order (without the shipped test set)."""
        idx = np.asarray(indices, dtype=np.int64)
        return Dataset(self.name, {k: v[idx] for k, v in self.x.items()}, self.y[idx], self.task, self.class_names)

    def split(self, *, validation: float = 0.0, test: float = 0.0, seed: int) -> Splits:
        """Train / validation / test parts by fractions of the samples, after a shuffle seeded by `seed`.

        Sizes are `round(fraction * len(self))`, at least 1 when the fraction is positive. With a
        shipped test set, a positive `test` selects that set instead of carving a fraction, and
        `test=0` leaves the test split out. The training part must keep at least one sample.
        """
        for label, frac in (("validation", validation), ("test", test)):
            if not 0.0 <= frac < 1.0 or math.isnan(frac):
                raise DataError(f"the {label} fraction must be in [0, 1); received {frac}")
        n = len(self)
        n_val = _part_size(validation, n)
        shipped = self.test is not None
        n_test = 0 if shipped else _part_size(test, n)
        if n - n_val - n_test < 1:
            raise DataError(
                f"dataset {self.name} has {n} samples; a validation fraction of {validation:g} and a test fraction of "
                f"{test:g} leave none for training"
            )
        order = np.random.default_rng(seed).permutation(n)
        test_part = self.take(order[:n_test]) if n_test else None
        val_part = self.take(order[n_test : n_test + n_val]) if n_val else None
        train_part = self.take(order[n_test + n_val :])
        if shipped and test > 0:
            test_part = self.test
        return Splits(train_part, val_part, test_part)

    def num_batches(self, batch_size: int, *, drop_last: bool = False) -> int:
        _check_batch_size(batch_size)
        return len(self) // batch_size if drop_last else -(-len(self) // batch_size)

    def batches(
        self, batch_size: int, *, shuffle: bool = False, rng: np.random.Generator | None = None, drop_last: bool = False
    ) -> Iterator[Batch]:
        """Batches of `batch_size` samples (the last one smaller unless `drop_last`).

        With `shuffle`, the order is `rng.permutation(len(self))`: the caller owns the generator,
        so a resumed run that restores its state sees the same order.
        """
        _check_batch_size(batch_size)
        n = len(self)
        if shuffle:
            if rng is None:
                raise ValueError("batches(shuffle=True) needs a numpy Generator `rng`")
            order: np.ndarray | None = rng.permutation(n)
        else:
            order = None
        stop = n - n % batch_size if drop_last else n
        for start in range(0, stop, batch_size):
            if order is None:
                sl = slice(start, min(start + batch_size, n))
                yield Batch({k: v[sl] for k, v in self.x.items()}, self.y[sl])
            else:
                idx = order[start : start + batch_size]
                yield Batch({k: v[idx] for k, v in self.x.items()}, self.y[idx])


@dataclass(frozen=True)
class Splits:
    """The parts of a dataset; `validation` and `test` are None when not requested."""

    train: Dataset
    validation: Dataset | None = None
    test: Dataset | None = None


def _part_size(fraction: float, n: int) -> int:
    if fraction <= 0:
        return 0
    return max(1, round(fraction * n))


def _check_batch_size(batch_size: int) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise DataError(f"batch size must be a positive integer; received {batch_size!r}")


# ---------------------------------------------------------------------------------------------
# Fitting raw arrays to a network
# ---------------------------------------------------------------------------------------------


def _matches(actual: Sequence[int], expected: Shape) -> bool:
    return len(actual) == len(expected) and all(e is None or a == e for a, e in zip(actual, expected))


def _describe_input(shaped: ShapedNetwork, spec: InputSpec) -> str:
    net = shaped.network
    which = f" (input `{spec.name}`)" if len(net.inputs) > 1 else ""
    return f"network {net.name} expects {fmt_shape(spec.shape)}{which}"


def fit_inputs(
    dataset: str,
    arrays: Mapping[str, np.ndarray],
    shaped: ShapedNetwork,
    *,
    images: bool = False,
    scale_uint8: bool = True,
) -> dict[str, np.ndarray]:
    """Check and convert raw per-input arrays (batch first) to what the network reads.

    Conventions, in order:
    - `images=True` marks channels-last images (N, H, W, C); for a `channels_first` network
      they are transposed to (N, C, H, W).
    - A sample whose shape matches the input (unknown dims match anything) is kept.
    - Otherwise it is reshaped when the element counts agree and either side is flat
      (`(64,)` <-> `(8, 8, 1)`) or the shapes differ only by axes of size 1 (`(28, 28, 1)` <-> `(28, 28)`).
    - Anything else is a `DataError` naming both shapes.
    - float inputs become float32 (uint8 arrays are scaled to [0, 1] when `scale_uint8`);
      int64 inputs (token ids) must hold integers in [0, vocabulary) for the Embedding reading them.
    """
    net = shaped.network
    missing = [spec.name for spec in net.inputs if spec.name not in arrays]
    if missing:
        raise DataError(
            f"dataset {dataset} has no data for input{'s' if len(missing) > 1 else ''} "
            + ", ".join(f"`{m}`" for m in missing)
            + f" of network {net.name}",
            hint="arrays found: " + (", ".join(f"`{k}`" for k in arrays) or "none"),
        )
    fitted: dict[str, np.ndarray] = {}
    for spec in net.inputs:
        array = np.asarray(arrays[spec.name])
        if array.ndim == 0:
            raise DataError(f"dataset {dataset} holds a single value for input `{spec.name}`, not an array of samples")
        if images and net.layout == "channels_first" and array.ndim == 4:
            array = np.transpose(array, (0, 3, 1, 2))
        array = _reshape_to(dataset, array, spec, shaped)
        fitted[spec.name] = _convert_input(dataset, array, spec, shaped, scale_uint8=scale_uint8)
    return fitted


def _reshape_to(dataset: str, array: np.ndarray, spec: InputSpec, shaped: ShapedNetwork) -> np.ndarray:
    sample = tuple(int(d) for d in array.shape[1:])
    expected = spec.shape
    if _matches(sample, expected):
        return array
    size = math.prod(sample)
    if all(d is not None for d in expected):
        target = tuple(int(d) for d in expected if d is not None)
        squeezed_same = tuple(d for d in sample if d != 1) == tuple(d for d in target if d != 1)
        if size == math.prod(target) and (len(sample) == 1 or len(target) == 1 or squeezed_same):
            return array.reshape((array.shape[0], *target))
    raise DataError(
        f"dataset {dataset} has samples of shape {fmt_shape(sample)}; {_describe_input(shaped, spec)}",
        hint="change the network's input shape, or give data whose samples have that shape",
    )


def _convert_input(
    dataset: str, array: np.ndarray, spec: InputSpec, shaped: ShapedNetwork, *, scale_uint8: bool
) -> np.ndarray:
    if spec.dtype == "int64":
        if array.dtype.kind == "f":
            if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
                raise DataError(
                    f"input `{spec.name}` of network {shaped.network.name} reads token ids, but dataset {dataset} "
                    "holds non-integer values for it"
                )
        elif array.dtype.kind not in "iub":
            raise DataError(f"dataset {dataset} holds {array.dtype} values for token-id input `{spec.name}`")
        ids = array.astype(np.int64)
        vocab = vocabulary_size(shaped, spec.name)
        if ids.size and (int(ids.min()) < 0 or (vocab is not None and int(ids.max()) >= vocab)):
            bound = f"[0, {vocab})" if vocab is not None else "non-negative"
            raise DataError(
                f"dataset {dataset} has token ids from {int(ids.min())} to {int(ids.max())} for input `{spec.name}`; "
                f"the Embedding reading it accepts ids in {bound}"
            )
        return np.ascontiguousarray(ids)
    if array.dtype.kind not in "fiub":
        raise DataError(f"dataset {dataset} holds {array.dtype} values for input `{spec.name}`; expected numbers")
    if array.dtype == np.uint8 and scale_uint8:
        return np.ascontiguousarray(array, dtype=np.float32) / np.float32(255.0)
    out = np.ascontiguousarray(array, dtype=np.float32)
    if out.size and not np.all(np.isfinite(out)):
        raise DataError(f"dataset {dataset} has NaN or infinite values for input `{spec.name}`")
    return out


def fit_targets(dataset: str, y: np.ndarray, shaped: ShapedNetwork, task: Task) -> np.ndarray:
    """Check and convert raw targets for `task`.

    Classification: integer labels of shape (N, *target_shape) in [0, num_classes) (integral
    floats are accepted; one-hot rows of shape (N, *output_shape) are turned into labels).
    Binary: values in [0, 1]. Regression: any finite numbers. A flat (N,) array fits an output of
    one unit and any (N, ...) array with the right element count is reshaped.
    """
    net = shaped.network
    y = np.asarray(y)
    if y.ndim == 0:
        raise DataError(f"dataset {dataset} has a single target value, not one per sample")
    n = y.shape[0]
    if y.dtype.kind not in "fiub":
        raise DataError(f"dataset {dataset} has {y.dtype} targets; expected numbers")
    target_shape = task.target_shape
    sample = tuple(int(d) for d in y.shape[1:])
    if task.kind == "classification":
        classes = task.num_classes or 0
        if _matches(sample, task.output_shape) and y.dtype.kind == "f" and _is_one_hot(y):
            y = np.argmax(y, axis=-1)
            sample = tuple(int(d) for d in y.shape[1:])
        y = _reshape_targets(dataset, y, sample, target_shape, net.name, "class labels")
        if y.dtype.kind == "f" and not (np.all(np.isfinite(y)) and np.all(y == np.round(y))):
            raise DataError(
                f"network {net.name} is a classifier (integer class labels), but dataset {dataset} has "
                "non-integer targets",
                hint='use a regression loss such as "mse" for real-valued targets',
            )
        labels = y.astype(np.int64)
        if n and (int(labels.min()) < 0 or int(labels.max()) >= classes):
            raise DataError(
                f"dataset {dataset} has class labels from {int(labels.min())} to {int(labels.max())}; "
                f"network {net.name} has {classes} output classes (labels 0 to {classes - 1})"
            )
        return np.ascontiguousarray(labels)
    y = _reshape_targets(dataset, y, sample, target_shape, net.name, "targets")
    values = np.ascontiguousarray(y, dtype=np.float32)
    if values.size and not np.all(np.isfinite(values)):
        raise DataError(f"dataset {dataset} has NaN or infinite targets")
    if task.kind == "binary" and values.size and (float(values.min()) < 0.0 or float(values.max()) > 1.0):
        raise DataError(
            f"network {net.name} has a binary output (targets in [0, 1]); dataset {dataset} has targets from "
            f"{float(values.min()):g} to {float(values.max()):g}"
        )
    return values


def _is_one_hot(y: np.ndarray) -> bool:
    if y.size == 0 or y.shape[-1] < 2:
        return False
    return bool(np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=-1) == 1))


def _reshape_targets(
    dataset: str, y: np.ndarray, sample: tuple[int, ...], expected: Shape, network: str, what: str
) -> np.ndarray:
    if _matches(sample, expected):
        return y
    if all(d is not None for d in expected):
        target = tuple(int(d) for d in expected if d is not None)
        if math.prod(sample) == math.prod(target):
            return y.reshape((y.shape[0], *target))
    raise DataError(
        f"dataset {dataset} has {what} of shape {fmt_shape(sample)} per sample; network {network} expects {fmt_shape(expected)}"
    )


def vocabulary_size(shaped: ShapedNetwork, input_name: str) -> int | None:
    """The smallest `input_dim` of the Embeddings that read `input_name` (directly or through
    shape-only layers such as Reshape), or None when no Embedding reads it."""
    net = shaped.network
    consumers = net.consumers()
    found: list[int] = []
    seen: set[str] = set()
    frontier = [input_name]
    while frontier:
        current = frontier.pop()
        for name in consumers.get(current, []):
            if name in seen:
                continue
            seen.add(name)
            node = net.node(name)
            if node.kind == "Embedding":
                found.append(int(node.config.input_dim))
            elif node.kind in DTYPE_PRESERVING:
                frontier.append(name)
    return min(found) if found else None
