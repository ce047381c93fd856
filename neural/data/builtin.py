"""Datasets that need no file: scikit-learn's bundled `digits`, and `synthetic` data made to fit a network.

`digits`: the 1797 8x8 handwritten digits shipped inside scikit-learn (no download), as
(8, 8, 1) images (channels last; (1, 8, 8) for a channels_first network) scaled from 0..16 to
[0, 1], with labels 0-9.

`synthetic`: inputs drawn to fit every network input, targets computed by a fixed random
*teacher* so that the task is learnable (see `synthetic`).
"""

from __future__ import annotations

import math

import numpy as np

from neural.data.datasets import DataError, Dataset, Task, fit_inputs, fit_targets, task_of, vocabulary_size
from neural.shapes.engine import ShapedNetwork

DIGITS_CLASSES = tuple(str(d) for d in range(10))

DEFAULT_SYNTHETIC_SIZE = 1000
MIN_SYNTHETIC_SIZE = 64
SYNTHETIC_ELEMENT_BUDGET = 2**25  # default size shrinks so the inputs stay near 128 MiB of float32
UNKNOWN_DIM = 16  # length used for dims unknown until run time (a variable sequence length)
DEFAULT_VOCABULARY = 100  # token ids for an int64 input that no Embedding reads
TOKEN_FEATURES = 8  # width of the teacher's random per-token vectors
TEACHER_RANK = 32  # the teacher's linear map is factored through this many features
_CHUNK_ELEMENTS = 2**22


def digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as (1797, 8, 8, 1) float32 in [0, 1] and (1797,) int64 labels."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise DataError(
            "the `digits` dataset is bundled with scikit-learn, which is not installed",
            hint="install the datasets extra: pip install neural-lang[datasets]",
        ) from exc
    bunch = load_digits()
    images = np.asarray(bunch.images, dtype=np.float32) / np.float32(16.0)
    return images[..., None], np.asarray(bunch.target, dtype=np.int64)


def load_digits(shaped: ShapedNetwork) -> Dataset:
    images, labels = digits_arrays()
    task = task_of(shaped)
    x = fit_inputs("digits", single_input("digits", shaped, images), shaped, images=True)
    y = fit_targets("digits", labels, shaped, task)
    return Dataset("digits", x, y, task, DIGITS_CLASSES)


def single_input(dataset: str, shaped: ShapedNetwork, array: np.ndarray) -> dict[str, np.ndarray]:
    """`{input name: array}` for a one-input network; a `DataError` for a network with several."""
    inputs = shaped.network.inputs
    if len(inputs) != 1:
        names = ", ".join(f"`{spec.name}`" for spec in inputs)
        raise DataError(
            f"dataset {dataset} provides one input array; network {shaped.network.name} has {len(inputs)} inputs ({names})",
            hint="give an .npz file with one array per input name plus `y`",
        )
    return {inputs[0].name: array}


def _known(shape: tuple[int | None, ...]) -> tuple[int, ...]:
    return tuple(UNKNOWN_DIM if d is None else int(d) for d in shape)


def synthetic_size(shaped: ShapedNetwork) -> int:
    """The default number of synthetic samples: 1000, fewer (down to 64) for very large inputs."""
    per_sample = sum(math.prod(_known(spec.shape)) for spec in shaped.network.inputs) or 1
    return min(DEFAULT_SYNTHETIC_SIZE, max(MIN_SYNTHETIC_SIZE, SYNTHETIC_ELEMENT_BUDGET // per_sample))


def load_synthetic(shaped: ShapedNetwork, *, seed: int, size: int | None = None) -> Dataset:
    """Random inputs for every network input and targets from a fixed random teacher.

    Inputs: float32 inputs are standard normal; int64 (token-id) inputs are uniform ids below
    the vocabulary (`input_dim`) of the Embedding reading them (100 if none). Dims unknown
    until run time get length 16.

    Teacher: each input becomes features (float values as they are; each token id a fixed
    random 8-vector). When the target has a leading axis as long as an input's leading axis
    (a per-step output), the teacher works per step on that input's step features; otherwise on
    all features flattened. It applies a random linear map (factored through 32 features) and
    gives: classification -> argmax over the classes, centred so classes are about equally
    frequent; binary -> 1 above the per-output median, else 0; regression -> the values,
    standardized. Everything follows from `seed`.
    """
    if size is None:
        size = synthetic_size(shaped)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise DataError(f"synthetic dataset size must be a positive integer; received {size!r}")
    task = task_of(shaped)
    rng = np.random.default_rng(seed)
    arrays: dict[str, np.ndarray] = {}
    features: dict[str, np.ndarray] = {}
    for spec in shaped.network.inputs:
        shape = _known(spec.shape)
        if spec.dtype == "int64":
            vocab = vocabulary_size(shaped, spec.name) or DEFAULT_VOCABULARY
            ids = rng.integers(0, vocab, size=(size, *shape), dtype=np.int64)
            table = rng.standard_normal((vocab, TOKEN_FEATURES)).astype(np.float32)
            arrays[spec.name] = ids
            features[spec.name] = table[ids]  # (size, *shape, TOKEN_FEATURES)
        else:
            values = rng.standard_normal((size, *shape)).astype(np.float32)
            arrays[spec.name] = values
            features[spec.name] = values
    target_shape = _known(task.target_shape)
    rows, rest = _teacher_rows(shaped, features, target_shape, size)
    y = _teach(task, rows, rest, rng).reshape((size, *target_shape))
    x = fit_inputs("synthetic", arrays, shaped)
    return Dataset("synthetic", x, fit_targets("synthetic", y, shaped, task), task)


def _teacher_rows(
    shaped: ShapedNetwork, features: dict[str, np.ndarray], target_shape: tuple[int, ...], size: int
) -> tuple[np.ndarray, tuple[int, ...]]:
    """Feature rows for the teacher and the target shape each row produces."""
    if target_shape:
        steps = target_shape[0]
        for spec in reversed(shaped.network.inputs):  # the last input is the decoder's, in a seq2seq
            shape = _known(spec.shape)
            if shape and shape[0] == steps and len(shape) + (spec.dtype == "int64") >= 2:
                per_step = features[spec.name].reshape(size * steps, -1)
                return per_step, target_shape[1:]
    flat = np.concatenate([f.reshape(size, -1) for f in features.values()], axis=1)
    return flat, target_shape


def _teach(task: Task, rows: np.ndarray, rest: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    n_rows, n_features = rows.shape
    rank = min(n_features, TEACHER_RANK)
    projection = (rng.standard_normal((n_features, rank)) / math.sqrt(n_features)).astype(np.float32)
    hidden = _whiten(rows.astype(np.float32) @ projection)
    rank = hidden.shape[1]
    per_row = math.prod(rest)
    if task.kind == "classification":
        classes = int(task.num_classes or 2)
        weights = np.concatenate([_directions(rng, rank, classes) for _ in range(per_row)], axis=1)
        labels = np.empty((n_rows, per_row), dtype=np.int64)
        chunk = max(1, _CHUNK_ELEMENTS // (per_row * classes))
        for start in range(0, n_rows, chunk):
            logits = (hidden[start : start + chunk] @ weights).reshape(-1, per_row, classes)
            labels[start : start + chunk] = logits.argmax(axis=-1)
        return labels
    weights = rng.standard_normal((rank, per_row)).astype(np.float32)
    values = hidden @ weights
    if task.kind == "binary":
        return (values > np.median(values, axis=0)).astype(np.float32)
    std = float(values.std()) or 1.0
    return ((values - values.mean()) / std).astype(np.float32)


def _whiten(hidden: np.ndarray) -> np.ndarray:
    """Centre and decorrelate the teacher's features (unit variance each): a fixed linear map of the
    inputs, which makes classes about equally frequent under symmetric class directions."""
    hidden = hidden - hidden.mean(axis=0)
    _, singular, vt = np.linalg.svd(hidden, full_matrices=False)
    keep = singular > singular.max(initial=0.0) * 1e-5
    if not np.any(keep):
        return hidden
    scale = math.sqrt(hidden.shape[0]) / singular[keep]
    return ((hidden @ vt[keep].T) * scale).astype(np.float32)


def _directions(rng: np.random.Generator, rank: int, classes: int) -> np.ndarray:
    """(rank, classes) class directions: orthonormal when rank allows, else unit length."""
    raw = rng.standard_normal((rank, classes))
    if classes <= rank:
        q, _ = np.linalg.qr(raw)
        return q.astype(np.float32)
    return (raw / np.linalg.norm(raw, axis=0, keepdims=True)).astype(np.float32)
