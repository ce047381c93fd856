"""Training code the targets share, copied into generated modules ahead of the target's own runner.py.

Framework-free (NumPy and the standard library): the train block's settings, the data (files, digits,
synthetic data with teacher targets), the validation split, the learning rate a schedule starts from,
torch's ReduceLROnPlateau rule, early stopping, the totals of the streaming metrics and the command-line
options every generated script takes. A target's runner.py imports what it uses from here; its generated
modules include those definitions (below the marker line) and the ones they use, nothing else.

It is a real module so that ruff and mypy check it, and it is tested through generated scripts. Every
generated module defines, before its training code, the constants below (plain literals, from the .neural
file); here placeholders stand in for them, for this module and the targets' runner.py alike.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

NETWORK: str = ""
INPUTS: dict[str, tuple[tuple[int, ...], str]] = {}
OUTPUTS: list[tuple[int, ...]] = []
TRAIN: dict[str, Any] = {}
LOSS: dict[str, Any] = {}
OPTIMIZER: dict[str, Any] = {}
SCHEDULE: dict[str, Any] | None = None
METRICS: list[str] = []
EXECUTION: dict[str, Any] = {}  # not in JAX modules


# ---- generated modules include everything below this line ----


# ---- the train block's settings and data (framework-free) ----


def train_settings(epochs: int | None, batch_size: int | None, seed: int | None) -> tuple[dict[str, Any], int]:
    """The train block with the command line's overrides, and the seed (0 when none is given)."""
    overrides = {"epochs": epochs, "batch_size": batch_size, "seed": seed}
    settings = {**TRAIN, **{k: v for k, v in overrides.items() if v is not None}}
    return settings, int(settings.get("seed") or 0)


def load_data(source: str, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Arrays for training: .npz (x/y or one array per input plus y), data.npy with data_labels.npy,
    `digits` (scikit-learn's 8x8 digits) or `synthetic` (random inputs, random teacher targets)."""
    if source == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        x = (digits.images / 16.0).astype(np.float32)
        ((name, (shape, _)),) = INPUTS.items()
        return {name: x.reshape((len(x), *shape))}, digits.target.astype(np.int64)
    if source.startswith("synthetic"):
        rng = np.random.default_rng(seed)
        count = int(source.split(":")[1]) if ":" in source else 1000
        arrays = {
            name: (
                rng.integers(0, 100, size=(count, *shape))
                if dtype == "int64"
                else rng.standard_normal((count, *shape)).astype(np.float32)
            )
            for name, (shape, dtype) in INPUTS.items()
        }
        return arrays, synthetic_targets(next(iter(arrays.values())), rng)
    path = Path(source)
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            found = {k: archive[k] for k in archive.files}
        if "x" in found and len(INPUTS) == 1:
            found[next(iter(INPUTS))] = found.pop("x")
        return {name: found[name] for name in INPUTS}, found["y"]
    if path.suffix == ".npy":
        labels = path.with_name(path.stem + "_labels.npy")
        return {next(iter(INPUTS)): np.load(path, allow_pickle=False)}, np.load(labels, allow_pickle=False)
    raise SystemExit(
        f"cannot load data from {source!r}: use digits, synthetic[:N], a .npz file or data.npy + data_labels.npy"
    )


def synthetic_targets(first_input: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Targets of a fixed random linear teacher of the first input, shaped for the loss and output."""
    count, shape = len(first_input), OUTPUTS[0]
    features = first_input.reshape(count, -1).astype(np.float32)
    values = features @ rng.standard_normal((features.shape[1], int(np.prod(shape)))).astype(np.float32)
    values = values.reshape(count, *shape)
    if LOSS["name"] in ("sparse_categorical_crossentropy", "categorical_crossentropy"):
        labels = values.argmax(axis=-1)
        return labels if LOSS["name"].startswith("sparse") else np.eye(shape[-1], dtype=np.float32)[labels]
    if LOSS["name"] == "binary_crossentropy":
        return (values > 0).astype(np.float32)
    return values


def split_indices(count: int, validation: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(count)
    held_out = round(validation * count) if validation > 0 else 0
    return order[held_out:], order[:held_out]


# ---- learning rate and stopping (framework-free rules) ----


def base_learning_rate(schedule: dict[str, Any] | None, optimizer: dict[str, Any]) -> float:
    """The optimizer's learning rate, or the rate its schedule starts from (OneCycle: its maximum)."""
    if schedule is None:
        return float(optimizer["learning_rate"])
    return float(schedule.get("initial_learning_rate", schedule.get("max_learning_rate", 0.0)))


class Plateau:
    """torch.optim.lr_scheduler.ReduceLROnPlateau (threshold 1e-4 relative, no cooldown), stepped once per
    epoch: after more than `patience` epochs without improvement, lr = max(lr * factor, min_lr) (changes
    below 1e-8 ignored). `minimize`: whether lower monitored values are better."""

    def __init__(self, spec: dict[str, Any], minimize: bool) -> None:
        self.lr = float(spec["initial_learning_rate"])
        self.factor, self.patience, self.min_lr = spec["factor"], spec["patience"], spec["min_lr"]
        self.minimize = minimize
        self.best = math.inf if minimize else -math.inf
        self.bad_epochs, self.last_epoch = 0, 0

    def step(self, value: float) -> float:
        """Take the epoch's monitored value; returns the learning rate from now on."""
        self.last_epoch += 1
        better = value < self.best * (1 - 1e-4) if self.minimize else value > self.best * (1 + 1e-4)
        if better:
            self.best, self.bad_epochs = value, 0
        else:
            self.bad_epochs += 1
        if self.bad_epochs > self.patience:
            reduced = max(self.lr * self.factor, self.min_lr)
            if self.lr - reduced > 1e-8:
                self.lr = reduced
            self.bad_epochs = 0
        return self.lr


class EarlyStopping:
    """The train block's early_stopping (None: never stop): stop after `patience` epochs without an
    improvement of more than `min_delta`; keeps the state of the best epoch for `restore_best_weights`."""

    def __init__(self, spec: dict[str, Any] | None) -> None:
        self.spec = spec
        self.best, self.waited = math.inf, 0
        self.best_state: Any = None

    def update(self, history: dict[str, float], monitored: float, state: Callable[[], Any]) -> bool:
        """Take the epoch's metrics (`monitored` when the monitored one is missing); `state()` is called for
        a snapshot when the epoch is the best so far. True when training should stop."""
        spec = self.spec
        if not spec:
            return False
        value = history.get(spec["monitor"], monitored)
        lower = "loss" in spec["monitor"] or spec.get("mode") == "min"
        improved = (value < self.best - spec["min_delta"]) if lower else (-value < self.best - spec["min_delta"])
        if improved:
            self.best, self.waited = (value if lower else -value), 0
            self.best_state = state()
            return False
        self.waited += 1
        return bool(self.waited >= spec["patience"])

    def restorable(self) -> Any:
        """The best epoch's state when the weights are to be restored to it, else None."""
        return self.best_state if self.spec and self.spec.get("restore_best_weights") else None


# ---- metrics and reports ----


class MetricTotals:
    """Running totals of the streaming metrics over batches: accuracy, top-k accuracy, precision/recall/F1
    (class 1 for binary tasks, macro-averaged otherwise), MAE and MSE. A target's `Metrics` adds each batch
    to them from its own arrays."""

    def __init__(self, names: list[str], binary: bool) -> None:
        self.names, self.binary = names, binary
        self.count, self.correct, self.top, self.abs, self.sq = 0, 0.0, 0.0, 0.0, 0.0
        self.confusion: np.ndarray | None = None

    def wants_errors(self) -> bool:
        return any(n in ("mae", "mse") for n in self.names)

    def wants_classes(self) -> bool:
        return any(n in ("accuracy", "precision", "recall", "f1") or n.startswith("top_") for n in self.names)

    def top_k(self) -> int | None:
        """k of the top-k accuracy asked for (None: none, or a binary task)."""
        if self.binary or not any(n.startswith("top_") for n in self.names):
            return None
        return int(next(n for n in self.names if n.startswith("top_")).split("_")[1])

    def add_confusion(self, truth: np.ndarray, labels: np.ndarray, classes: int) -> None:
        """Count (true class, predicted class) pairs."""
        if self.confusion is None:
            self.confusion = np.zeros((classes, classes))
        np.add.at(self.confusion, (truth, labels), 1.0)

    def result(self) -> dict[str, float]:
        found: dict[str, float] = {}
        n = max(self.count, 1)
        confusion = self.confusion if self.confusion is not None else np.zeros((2, 2))
        tp = np.diag(confusion)
        precision = tp / np.maximum(confusion.sum(axis=0), 1)
        recall = tp / np.maximum(confusion.sum(axis=1), 1)
        f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
        binary = confusion.shape[0] == 2 and self.binary
        for name in self.names:
            if name == "accuracy":
                found[name] = self.correct / n
            elif name.startswith("top_"):
                found[name] = self.top / n
            elif name in ("precision", "recall", "f1"):
                values = {"precision": precision, "recall": recall, "f1": f1}[name]
                found[name] = float(values[1] if binary else values.mean())
            elif name in ("mae", "mse"):
                found[name] = (self.abs if name == "mae" else self.sq) / n
        return found


def epoch_report(epoch: int, epochs: Any, history: dict[str, float], seconds: float) -> str:
    """One line per epoch: its metrics and how long it took."""
    shown = "  ".join(f"{k} {v:.4f}" for k, v in history.items() if k != "epoch")
    return f"epoch {epoch}/{epochs}  {shown}  ({seconds:.1f}s)"


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of every generated script: the data, and overrides of the train block."""
    parser.add_argument(
        "--data",
        default=TRAIN.get("data") or "synthetic",
        help="digits, synthetic[:N], a .npz file, or data.npy (+ data_labels.npy)",
    )
    parser.add_argument("--epochs", type=int, default=None, help="override the train block")
    parser.add_argument("--batch-size", type=int, default=None, help="override the train block")
    parser.add_argument("--seed", type=int, default=None, help="override the train block")
