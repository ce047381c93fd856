"""The training loop shared by every backend: epochs, batches, metrics, validation, early stopping,
checkpoints, resume, and the final test evaluation.

Determinism: the data split uses `seed`; each epoch's order comes from a generator seeded with
(seed, epoch), and the backend's own random state (dropout) is saved in every checkpoint, so a run
resumed from a checkpoint ends exactly where the uninterrupted run would have.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neural.data.datasets import Dataset, Splits
from neural.errors import NeuralError
from neural.ir import Component
from neural.training.backend import TrainingBackend
from neural.training.callbacks import EarlyStopping, build_early_stopping
from neural.training.checkpoint import Checkpoint, load_checkpoint, save_checkpoint, save_weights
from neural.training.events import Reporter, SilentReporter
from neural.training.metrics import Metric, build_metrics
from neural.training.rundir import RunDir


class TrainingDiverged(NeuralError):
    """The loss became NaN or infinite."""

    code = "diverged"


class TrainingInterrupted(NeuralError):
    """Ctrl-C: a checkpoint was saved; `--resume` continues."""

    code = "interrupted"


@dataclass
class TrainOptions:
    """The settings of one run (the network's `train` block, overridden by the command line)."""

    epochs: int = 10
    batch_size: int = 32
    validation_split: float = 0.0
    test_split: float = 0.0
    shuffle: bool = True
    seed: int = 0
    checkpoint_every: int = 1
    early_stopping: Component | None = None
    metrics: Sequence[Component] = ()
    loss: Component | None = None

    @classmethod
    def from_config(
        cls, train: Mapping[str, Any], metrics: Sequence[Component], loss: Component | None = None, **overrides: Any
    ) -> TrainOptions:
        values = {
            "epochs": train.get("epochs", 10),
            "batch_size": train.get("batch_size", 32),
            "validation_split": train.get("validation_split", 0.0),
            "test_split": train.get("test_split", 0.0),
            "shuffle": train.get("shuffle", True),
            "seed": train.get("seed") if train.get("seed") is not None else 0,
            "checkpoint_every": train.get("checkpoint_every", 1),
            "early_stopping": train.get("early_stopping"),
            "metrics": tuple(metrics),
            "loss": loss,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


@dataclass
class Progress:
    """Where training stands: what a checkpoint stores besides weights and optimizer buffers."""

    epoch: int = 1
    batch: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    partial: dict[str, float] = field(default_factory=dict)
    finished: bool = False


def _metric_name(metric: Metric) -> str:
    return str(getattr(metric, "name", type(metric).__name__.lower()))


class Trainer:
    """Runs the loop for one backend, one dataset split and one run directory."""

    def __init__(
        self, backend: TrainingBackend, options: TrainOptions, run: RunDir, reporter: Reporter | None = None
    ) -> None:
        self.backend = backend
        self.options = options
        self.run = run
        self.reporter = reporter or SilentReporter()
        self.stopper: EarlyStopping | None = build_early_stopping(options.early_stopping)
        self.progress = Progress()
        self.stop_requested = False

    # --- public ---
    def fit(self, data: Dataset, *, resume: bool = False) -> dict[str, Any]:
        """Train on `data` (split by the options) and return the final metrics."""
        opts = self.options
        splits = data.split(validation=opts.validation_split, test=opts.test_split, seed=opts.seed)
        if resume:
            self._restore()
        self.reporter.start(
            {
                "backend": self.backend.name,
                "train samples": len(splits.train),
                "validation samples": len(splits.validation) if splits.validation else 0,
                "epochs": opts.epochs,
                "batch size": opts.batch_size,
                "run": str(self.run.path),
            }
        )
        if not self.progress.finished:
            with self._ctrl_c_stops_after_step():
                self._epochs(splits)
        final = self._finish(splits)
        self.reporter.finish(final)
        return final

    # --- epochs ---
    def _ctrl_c_stops_after_step(self) -> Any:
        """While training, Ctrl-C asks the loop to stop after the current step (a second one aborts)."""
        trainer = self

        class _Guard:
            def __enter__(self) -> None:
                self.previous = None
                if threading.current_thread() is threading.main_thread():
                    self.previous = signal.signal(signal.SIGINT, self.handle)

            def handle(self, signum: int, frame: Any) -> None:
                if trainer.stop_requested:
                    raise KeyboardInterrupt
                trainer.stop_requested = True

            def __exit__(self, *exc: Any) -> None:
                if self.previous is not None:
                    signal.signal(signal.SIGINT, self.previous)

        return _Guard()

    def _epochs(self, splits: Splits) -> None:
        opts = self.options
        while self.progress.epoch <= opts.epochs:
            epoch = self.progress.epoch
            row = self._train_epoch(epoch, splits.train)
            if splits.validation is not None:
                row.update({f"val_{k}": v for k, v in self._evaluate(splits.validation).items()})
            self.progress.history.append(row)
            self.run.write_history(self.progress.history)
            self.reporter.epoch_end(epoch, opts.epochs, row)
            self.backend.on_epoch_end(self._monitored(row))
            stop = self.stopper is not None and self.stopper.on_epoch_end(epoch, row, self.backend.weights)
            self.progress.epoch, self.progress.batch, self.progress.partial = epoch + 1, 0, {}
            if stop or self.progress.epoch > opts.epochs:
                self.progress.finished = True
            if self.progress.finished or epoch % opts.checkpoint_every == 0:
                self._save_checkpoint()
            if stop:
                self.reporter.message(f"early stopping after epoch {epoch}: {self.stopper.monitor} did not improve")  # type: ignore[union-attr]
                break
            if self.stop_requested:
                self._interrupt(self.progress.epoch, 0, 0.0, 0)

    def _monitored(self, row: Mapping[str, Any]) -> float:
        for key in ("val_loss", "loss"):
            if key in row and row[key] is not None:
                return float(row[key])
        return math.nan

    def _train_epoch(self, epoch: int, data: Dataset) -> dict[str, Any]:
        opts = self.options
        metrics = build_metrics(opts.metrics, loss=opts.loss)
        order_rng = np.random.default_rng([opts.seed, epoch])
        steps = data.num_batches(opts.batch_size)
        skip = self.progress.batch
        loss_sum = self.progress.partial.get("loss_sum", 0.0)
        seen = int(self.progress.partial.get("seen", 0))
        self.reporter.epoch_start(epoch, opts.epochs, steps)
        started = time.perf_counter()
        batches = data.batches(opts.batch_size, shuffle=opts.shuffle, rng=order_rng)
        for index, batch in enumerate(batches):
            if index < skip:
                continue
            loss, pred = self.backend.train_batch(batch.x, batch.y)
            if not math.isfinite(loss):
                raise TrainingDiverged(
                    f"the loss became {loss} at epoch {epoch}, step {index + 1}; stopped. "
                    f"The last good checkpoint is {self.run.checkpoint if self.run.checkpoint.exists() else 'not written yet'}",
                    hint="lower the learning rate, or add clip_norm to the train block",
                )
            count = len(batch)
            loss_sum += loss * count
            seen += count
            for metric in metrics:
                metric.update(pred, batch.y)
            self.progress.batch = index + 1
            logs = {"loss": loss_sum / seen, **{_metric_name(m): m.result() for m in metrics}}
            self.reporter.batch_end(index + 1, steps, seen, logs)
            if self.stop_requested and index + 1 < steps:
                self._interrupt(epoch, index + 1, loss_sum, seen)
        elapsed = time.perf_counter() - started
        row: dict[str, Any] = {"epoch": epoch, "loss": loss_sum / max(seen, 1)}
        row.update({_metric_name(m): m.result() for m in metrics})
        row.update(
            {"lr": self.backend.learning_rate(), "time": elapsed, "samples_per_second": seen / max(elapsed, 1e-9)}
        )
        return row

    def _evaluate(self, data: Dataset) -> dict[str, float]:
        return evaluate(self.backend, data, self.options.batch_size, self.options.metrics, self.options.loss)

    # --- checkpoints ---
    def _state(self) -> dict[str, Any]:
        scalars, _ = self.backend.optimizer_state()
        state: dict[str, Any] = {
            "epoch": self.progress.epoch,
            "batch": self.progress.batch,
            "partial": self.progress.partial,
            "finished": self.progress.finished,
            "history": self.progress.history,
            "optimizer": scalars,
            "rng": self.backend.rng_state(),
            "backend": self.backend.name,
        }
        if self.stopper is not None:
            stopper_scalars, _ = self.stopper.state_dict()
            state["early_stopping"] = stopper_scalars
        return state

    def _save_checkpoint(self) -> None:
        _, optimizer_arrays = self.backend.optimizer_state()
        arrays = {f"optimizer/{k}": v for k, v in optimizer_arrays.items()}
        if self.stopper is not None:
            _, best = self.stopper.state_dict()
            arrays.update({f"early_stopping/{k}": v for k, v in best.items()})
        save_checkpoint(self.run.checkpoint, Checkpoint(self.backend.weights(), arrays, self._state()))

    def _restore(self) -> None:
        if not self.run.checkpoint.exists():
            raise NeuralError(
                f"cannot resume: {self.run.path} has no checkpoint yet", hint="start the run again without --resume"
            )
        checkpoint = load_checkpoint(self.run.checkpoint)
        state = checkpoint.state
        self.backend.load_weights(checkpoint.weights)
        optimizer_arrays = {
            k[len("optimizer/") :]: v for k, v in checkpoint.arrays.items() if k.startswith("optimizer/")
        }
        self.backend.load_optimizer_state(state["optimizer"], optimizer_arrays)
        self.backend.set_rng_state(state["rng"])
        if self.stopper is not None and "early_stopping" in state:
            best = {
                k[len("early_stopping/") :]: v for k, v in checkpoint.arrays.items() if k.startswith("early_stopping/")
            }
            self.stopper.load_state_dict(state["early_stopping"], best)
        self.progress = Progress(
            epoch=int(state["epoch"]),
            batch=int(state["batch"]),
            history=list(state["history"]),
            partial=dict(state.get("partial", {})),
            finished=bool(state.get("finished", False)),
        )
        self.reporter.message(
            f"resumed from {self.run.checkpoint} at epoch {self.progress.epoch}, step {self.progress.batch}"
        )

    def _interrupt(self, epoch: int, index: int, loss_sum: float, seen: int) -> None:
        """After Ctrl-C: save the state after the last finished step, then stop.

        A run resumed from here continues with step `index + 1` of `epoch`; the resumed epoch's
        training metrics other than the loss count only the steps after the interruption.
        """
        self.progress.epoch = epoch
        self.progress.batch = index
        self.progress.partial = {"loss_sum": loss_sum, "seen": seen}
        self._save_checkpoint()
        raise TrainingInterrupted(
            f"interrupted at epoch {epoch}, step {index}; checkpoint saved in {self.run.checkpoint}",
            hint=f"continue with: neural train ... --out {self.run.path} --resume",
        )

    # --- the end ---
    def _finish(self, splits: Splits) -> dict[str, Any]:
        if self.stopper is not None and self.stopper.restore_best_weights and self.stopper.best_weights is not None:
            self.backend.load_weights(self.stopper.best_weights)
        final: dict[str, Any] = dict(self.progress.history[-1]) if self.progress.history else {}
        for key in ("lr", "time", "samples_per_second"):
            final.pop(key, None)
        if splits.test is not None:
            final.update({f"test_{k}": v for k, v in self._evaluate(splits.test).items()})
        save_weights(self.run.model, self.backend.weights(), {"network": self.run.settings().get("network", "")})
        self.run.write_final(final)
        return final


def evaluate(
    backend: TrainingBackend,
    data: Dataset,
    batch_size: int,
    metric_specs: Sequence[Component],
    loss: Component | None = None,
) -> dict[str, float]:
    """Mean loss and metrics over `data` in evaluation mode."""
    metrics = build_metrics(metric_specs, loss=loss)
    loss_sum, seen = 0.0, 0
    for batch in data.batches(batch_size):
        batch_loss, pred = backend.evaluate_batch(batch.x, batch.y)
        loss_sum += batch_loss * len(batch)
        seen += len(batch)
        for metric in metrics:
            metric.update(pred, batch.y)
    return {"loss": loss_sum / max(seen, 1), **{_metric_name(m): m.result() for m in metrics}}
