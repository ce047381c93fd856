"""Training code copied into every generated JAX module (everything below the marker line).

It is a real module so that ruff and mypy check it, and it is tested through generated scripts.
The generated module defines, before this code: NETWORK, INPUTS, OUTPUTS, LAYOUT, TRAIN, LOSS,
OPTIMIZER, SCHEDULE, METRICS (plain literals), `build_model()`, the weight table WEIGHTS,
`canonical_weights` / `load_canonical` and the framework-free training code of common/runner.py; the
placeholders and the import below stand in for them here.

Optimizers are optax chains with PyTorch's update rules (the language's semantics), checked against
the NumPy runtime step for step:
- SGD: optax.sgd (optax.trace is torch's momentum buffer, Nesterov included), weight decay added to the
  gradient first (optax.add_decayed_weights), as torch's L2 decay;
- Adam: optax.adam (its bias-corrected m / (sqrt(v_hat) + eps) is torch's update), L2 decay first;
  AdamW: optax.adamw (decoupled decay, lr * weight_decay * p, as torch.optim.AdamW). With amsgrad the
  generated `scale_by_torch_amsgrad` is used: optax.amsgrad keeps the maximum of the bias-corrected v,
  torch the maximum of the raw v corrected by the current step;
- RMSprop: optax.scale_by_rms / scale_by_stddev (centered) with eps outside the square root
  (eps_in_sqrt=False, torch's placement; optax.rmsprop's default puts it inside), then optax.trace for
  momentum and the learning rate last, as torch applies it (optax.rmsprop scales before the momentum,
  which differs from torch once the learning rate changes);
- Adagrad: the generated `scale_by_torch_adagrad` (torch: g / (sqrt(sum) + eps); optax.adagrad puts eps
  inside the square root).
Clipping comes first: optax.clip_by_global_norm (torch's clip_grad_norm_ scales by
max_norm / (norm + 1e-6); optax by max_norm / norm: a relative difference of 1e-6 / norm) and optax.clip.
Schedules are optax schedules with neural/training/schedules.py's formulas (linear warm-up from 0 joined
to the decay with optax.join_schedules; OneCycle as torch's OneCycleLR); ReduceOnPlateau changes an
injected learning rate (optax.inject_hyperparams) once per epoch.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from neural.targets.common.runner import (
    INPUTS,
    LOSS,
    METRICS,
    NETWORK,
    OPTIMIZER,
    SCHEDULE,
    TRAIN,
    EarlyStopping,
    MetricTotals,
    Plateau,
    add_data_arguments,
    base_learning_rate,
    epoch_report,
    load_data,
    split_indices,
    train_settings,
)

WEIGHTS: dict[str, tuple[tuple[str | int, ...], str, tuple[int, ...]]] = {}


def build_model(rngs: nnx.Rngs | None = None) -> nnx.Module:
    raise NotImplementedError


def canonical_weights(model: nnx.Module, table: Any = None) -> dict[str, np.ndarray]:
    raise NotImplementedError


def load_canonical(model: nnx.Module, weights: Any, table: Any = None) -> None:
    raise NotImplementedError


# ---- generated modules include everything below this line ----


def make_loss(spec: dict[str, Any]) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """The train block's loss. From probabilities, cross-entropies clip to [1e-7, 1 - 1e-7] as Keras does."""
    name, from_logits, smoothing = spec["name"], spec.get("from_logits", False), spec.get("label_smoothing", 0.0)
    eps = 1e-7

    def categorical(pred: jax.Array, target: jax.Array) -> jax.Array:
        if name == "sparse_categorical_crossentropy":
            target = jax.nn.one_hot(target.reshape(pred.shape[:-1]).astype(jnp.int32), pred.shape[-1], dtype=pred.dtype)
        if smoothing:
            target = target * (1 - smoothing) + smoothing / pred.shape[-1]
        logp = jax.nn.log_softmax(pred, axis=-1) if from_logits else jnp.log(jnp.clip(pred, eps, 1 - eps))
        return -(target * logp).sum(axis=-1).mean()

    def binary(pred: jax.Array, target: jax.Array) -> jax.Array:
        target = target.reshape(pred.shape).astype(pred.dtype)
        if smoothing:
            target = target * (1 - smoothing) + 0.5 * smoothing
        if from_logits:
            return optax.sigmoid_binary_cross_entropy(pred, target).mean()
        p = jnp.clip(pred, eps, 1 - eps)
        return -(target * jnp.log(p) + (1 - target) * jnp.log(1 - p)).mean()

    def regression(pred: jax.Array, target: jax.Array) -> jax.Array:
        target = target.reshape(pred.shape).astype(pred.dtype)
        if name == "mean_squared_error":
            return jnp.square(pred - target).mean()
        if name == "mean_absolute_error":
            return jnp.abs(pred - target).mean()
        return optax.huber_loss(pred, target, delta=spec.get("delta", 1.0)).mean()

    if name in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        return categorical
    if name == "binary_crossentropy":
        return binary
    return regression


# --- schedules ---


def one_cycle(
    max_lr: float, total_steps: int, pct_start: float, div_factor: float, final_div_factor: float
) -> optax.Schedule:
    """torch.optim.lr_scheduler.OneCycleLR(anneal_strategy="cos", three_phase=False), the learning rate only."""
    initial = max_lr / div_factor
    final = initial / final_div_factor
    warm_end, end = float(pct_start * total_steps) - 1, float(total_steps - 1)

    def cosine(start: float, stop: float, pct: jax.Array) -> jax.Array:
        return stop + (start - stop) / 2.0 * (jnp.cos(jnp.pi * pct) + 1)

    def schedule(count: jax.Array) -> jax.Array:
        step = jnp.asarray(count, jnp.float32)
        rising = cosine(initial, max_lr, step / warm_end) if warm_end > 0 else jnp.asarray(max_lr)
        falling = cosine(max_lr, final, (step - warm_end) / (end - warm_end))
        return jnp.where(step >= end, final, jnp.where(step <= warm_end, rising, falling))

    return schedule


def make_schedule(schedule: dict[str, Any] | None, optimizer: dict[str, Any]) -> optax.Schedule | float:
    """The learning rate per optimizer step (a number when constant); ReduceOnPlateau's starting rate."""
    if schedule is None or schedule["name"] == "ReduceOnPlateau":
        return base_learning_rate(schedule, optimizer)
    name = schedule["name"]
    if name == "OneCycle":
        return one_cycle(
            schedule["max_learning_rate"],
            schedule["total_steps"],
            schedule["pct_start"],
            schedule["div_factor"],
            schedule["final_div_factor"],
        )
    lr = schedule["initial_learning_rate"]
    decay: optax.Schedule
    if name == "ExponentialDecay":
        decay = optax.exponential_decay(
            lr, schedule["decay_steps"], schedule["decay_rate"], staircase=schedule["staircase"]
        )
    elif name == "StepDecay":
        decay = optax.exponential_decay(lr, schedule["step_size"], schedule["gamma"], staircase=True)
    else:
        decay = optax.cosine_decay_schedule(lr, schedule["decay_steps"], alpha=schedule["alpha"])
    warmup = schedule.get("warmup_steps", 0)
    if not warmup:
        return decay
    return optax.join_schedules([optax.linear_schedule(0.0, lr, warmup), decay], [warmup])


def make_plateau(spec: dict[str, Any]) -> Plateau:
    """ReduceOnPlateau's rule (common/runner.py) for the schedule `spec`."""
    lower = any(word in spec["monitor"] for word in ("loss", "error", "mae", "mse"))
    return Plateau(spec, minimize=spec["mode"] == "min" or (spec["mode"] == "auto" and lower))


def set_learning_rate(optimizer: nnx.Optimizer, lr: float) -> None:
    """Change the injected learning rate of an optimizer built for ReduceOnPlateau."""
    for path, variable in nnx.to_flat_state(nnx.state(optimizer, nnx.OptState)):
        if "hyperparams" in path and path[-1] == "learning_rate":
            variable[...] = lr


# --- optimizers ---


class TorchAdagradState(NamedTuple):
    sum: Any


def scale_by_torch_adagrad(initial_accumulator_value: float = 0.0, eps: float = 1e-10) -> optax.GradientTransformation:
    """torch.optim.Adagrad's direction: sum += g^2; g / (sqrt(sum) + eps)."""

    def init(params: Any) -> TorchAdagradState:
        return TorchAdagradState(jax.tree.map(lambda p: jnp.full_like(p, initial_accumulator_value), params))

    def update(updates: Any, state: TorchAdagradState, params: Any = None) -> tuple[Any, TorchAdagradState]:
        total = jax.tree.map(lambda s, g: s + g * g, state.sum, updates)
        return jax.tree.map(lambda g, s: g / (jnp.sqrt(s) + eps), updates, total), TorchAdagradState(total)

    return optax.GradientTransformation(init, update)


class TorchAmsgradState(NamedTuple):
    step: jax.Array
    exp_avg: Any
    exp_avg_sq: Any
    max_exp_avg_sq: Any


def scale_by_torch_amsgrad(b1: float, b2: float, eps: float) -> optax.GradientTransformation:
    """torch.optim.Adam(amsgrad=True)'s direction: the running maximum of the raw second moment, bias-corrected
    by the current step."""

    def init(params: Any) -> TorchAmsgradState:
        zeros = jax.tree.map(jnp.zeros_like, params)
        return TorchAmsgradState(jnp.zeros([], jnp.int32), zeros, zeros, zeros)

    def update(updates: Any, state: TorchAmsgradState, params: Any = None) -> tuple[Any, TorchAmsgradState]:
        count = state.step + 1
        m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state.exp_avg, updates)
        v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, state.exp_avg_sq, updates)
        top = jax.tree.map(jnp.maximum, state.max_exp_avg_sq, v)
        c1, c2 = 1 - b1 ** count.astype(jnp.float32), jnp.sqrt(1 - b2 ** count.astype(jnp.float32))
        direction = jax.tree.map(lambda m, t: (m / c1) / (jnp.sqrt(t) / c2 + eps), m, top)
        return direction, TorchAmsgradState(count, m, v, top)

    return optax.GradientTransformation(init, update)


def optimizer_transform(spec: dict[str, Any], learning_rate: Any) -> optax.GradientTransformation:
    """The language's optimizer (PyTorch's update rule) as an optax transformation."""
    name, decay = spec["name"], spec.get("weight_decay", 0.0)
    l2 = [optax.add_decayed_weights(decay)] if decay else []
    if name == "SGD":
        return optax.chain(*l2, optax.sgd(learning_rate, spec["momentum"] or None, spec["nesterov"]))
    if name in ("Adam", "AdamW"):
        b1, b2, eps = spec["beta_1"], spec["beta_2"], spec["epsilon"]
        if spec["amsgrad"]:
            decoupled = [optax.add_decayed_weights(decay)] if name == "AdamW" and decay else []
            coupled = l2 if name == "Adam" else []
            return optax.chain(
                *coupled, scale_by_torch_amsgrad(b1, b2, eps), *decoupled, optax.scale_by_learning_rate(learning_rate)
            )
        if name == "AdamW":
            return optax.adamw(learning_rate, b1, b2, eps, weight_decay=decay)
        return optax.chain(*l2, optax.adam(learning_rate, b1, b2, eps))
    if name == "RMSprop":
        centered, rho, eps = spec["centered"], spec["rho"], spec["epsilon"]
        scale = (optax.scale_by_stddev if centered else optax.scale_by_rms)(decay=rho, eps=eps, eps_in_sqrt=False)
        momentum = [optax.trace(spec["momentum"])] if spec["momentum"] else []
        return optax.chain(*l2, scale, *momentum, optax.scale_by_learning_rate(learning_rate))
    initial, eps = spec["initial_accumulator_value"], spec["epsilon"]
    return optax.chain(*l2, scale_by_torch_adagrad(initial, eps), optax.scale_by_learning_rate(learning_rate))


def make_optimizer(
    spec: dict[str, Any],
    schedule: dict[str, Any] | None,
    clip_norm: float | None = None,
    clip_value: float | None = None,
) -> optax.GradientTransformation:
    """Clipping, then the optimizer with its learning-rate schedule (injected, for ReduceOnPlateau to change)."""
    clipping = []
    if clip_norm:
        clipping.append(optax.clip_by_global_norm(clip_norm))
    if clip_value:
        clipping.append(optax.clip(clip_value))
    if schedule is not None and schedule["name"] == "ReduceOnPlateau":
        inner = optax.inject_hyperparams(lambda learning_rate: optimizer_transform(spec, learning_rate))
        return optax.chain(*clipping, inner(learning_rate=base_learning_rate(schedule, spec)))
    return optax.chain(*clipping, optimizer_transform(spec, make_schedule(schedule, spec)))


def learning_rate_at(schedule: dict[str, Any] | None, spec: dict[str, Any], step: int) -> float:
    """The scheduled learning rate of optimizer step `step` (from 0)."""
    rate = make_schedule(schedule, spec)
    return float(rate(step)) if callable(rate) else float(rate)


# --- steps ---


def make_steps(loss_fn: Callable[[jax.Array, jax.Array], jax.Array]) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """A jit-compiled training step (loss, gradients, optimizer update) and evaluation step."""

    @nnx.jit
    def train_step(
        model: nnx.Module, optimizer: nnx.Optimizer, inputs: tuple[jax.Array, ...], target: jax.Array
    ) -> tuple[jax.Array, jax.Array]:
        def loss_of(model: nnx.Module) -> tuple[jax.Array, jax.Array]:
            pred = model(*inputs)
            return loss_fn(pred, target), pred

        (loss, pred), grads = nnx.value_and_grad(loss_of, has_aux=True)(model)
        optimizer.update(model, grads)
        return loss, pred

    @nnx.jit
    def eval_step(model: nnx.Module, inputs: tuple[jax.Array, ...], target: jax.Array) -> tuple[jax.Array, jax.Array]:
        pred = model(*inputs)
        return loss_fn(pred, target), pred

    return train_step, eval_step


# --- metrics ---


class Metrics(MetricTotals):
    """The streaming metrics (common/runner.py's totals) of predictions and targets, as NumPy arrays."""

    def update(self, pred: Any, target: Any) -> None:
        pred, target = np.asarray(pred, dtype=np.float64), np.asarray(target)
        self.count += len(target)
        if self.wants_errors():
            diff = pred.reshape(len(target), -1) - target.reshape(len(target), -1)
            self.abs += float(np.abs(diff).mean(axis=1).sum())
            self.sq += float((diff * diff).mean(axis=1).sum())
        if self.wants_classes():
            self._update_classes(pred, target)

    def _update_classes(self, pred: np.ndarray, target: np.ndarray) -> None:
        if self.binary or pred.shape[-1] == 1:
            threshold = 0.0 if LOSS.get("from_logits") else 0.5
            labels, truth, classes = (
                (pred.reshape(-1) > threshold).astype(np.int64),
                target.reshape(-1).astype(np.int64),
                2,
            )
        else:
            classes = pred.shape[-1]
            labels = pred.argmax(axis=-1).reshape(-1)
            truth = (
                target.argmax(axis=-1).reshape(-1)
                if target.shape == pred.shape
                else target.reshape(-1).astype(np.int64)
            )
        self.correct += float((labels == truth).sum())
        k = self.top_k()
        if k is not None:
            top = np.argsort(-pred.reshape(-1, pred.shape[-1]), axis=-1, kind="stable")[:, : min(k, pred.shape[-1])]
            self.top += float((top == truth.reshape(-1, 1)).any(axis=-1).sum())
        self.add_confusion(truth, labels, classes)


# --- devices ---


class Placement:
    """Where batches and state live: one device, or data parallelism over every device (a 1-D mesh: the
    batch is split along its first axis, parameters and optimizer state are replicated, and XLA averages
    the gradients across devices inside the jit-compiled step)."""

    def __init__(self) -> None:
        devices = jax.devices()
        self.count = len(devices)
        self.mesh = jax.make_mesh((self.count,), ("data",)) if self.count > 1 else None

    def replicate(self, *nodes: Any) -> None:
        if self.mesh is not None:
            state = nnx.state(nodes)
            nnx.update(nodes, jax.device_put(state, NamedSharding(self.mesh, P())))

    def usable(self, size: int) -> int:
        """Rows of a batch of `size` that divide evenly over the devices (the rest is left out)."""
        return size - size % self.count

    def batch(self, arrays: list[np.ndarray]) -> list[jax.Array]:
        if self.mesh is None:
            return [jnp.asarray(a) for a in arrays]
        sharding = NamedSharding(self.mesh, P("data"))
        return [jax.device_put(a, sharding) for a in arrays]


def train(
    data: str,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    seed: int | None = None,
    out: str = "checkpoints",
) -> dict[str, float]:
    """Train as the network's train block says, on every local device (data parallel when there are
    several). Checkpoints (safetensors, canonical names) go to `out`; returns the last epoch's metrics."""
    settings, seed_value = train_settings(epochs, batch_size, seed)
    placement = Placement()
    model = build_model(nnx.Rngs(seed_value))
    tx = make_optimizer(OPTIMIZER, SCHEDULE, TRAIN.get("clip_norm"), TRAIN.get("clip_value"))
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
    placement.replicate(model, optimizer)
    plateau = make_plateau(SCHEDULE) if SCHEDULE is not None and SCHEDULE["name"] == "ReduceOnPlateau" else None
    loss_fn = make_loss(LOSS)
    train_step, eval_step = make_steps(loss_fn)

    arrays, targets = load_data(data, seed_value)
    train_idx, val_idx = split_indices(len(targets), float(settings.get("validation_split", 0.0)), seed_value)
    names = list(INPUTS)
    size = int(settings["batch_size"])
    binary = LOSS["name"] == "binary_crossentropy"
    stopping = EarlyStopping(TRAIN.get("early_stopping"))
    history: dict[str, float] = {}
    out_dir = Path(out)
    if placement.count > 1:
        print(f"data parallel over {placement.count} devices", flush=True)
    for epoch in range(1, int(settings["epochs"]) + 1):
        order = (
            np.random.default_rng((seed_value, epoch)).permutation(train_idx)
            if settings.get("shuffle", True)
            else train_idx
        )
        model.train()
        started, total, seen, metrics = time.perf_counter(), 0.0, 0, Metrics(list(METRICS), binary)
        for start in range(0, len(order), size):
            rows = order[start : start + size]
            rows = rows[: placement.usable(len(rows))]
            if not len(rows):
                continue
            *inputs, target = placement.batch([arrays[name][rows] for name in names] + [targets[rows]])
            loss, pred = train_step(model, optimizer, tuple(inputs), target)
            value = float(loss)
            if not math.isfinite(value):
                raise SystemExit(f"the loss became {value} at epoch {epoch}; stopped")
            total += value * len(rows)
            seen += len(rows)
            metrics.update(pred, targets[rows])
        history = {"epoch": epoch, "loss": total / max(seen, 1), **metrics.result()}
        if len(val_idx):
            found = evaluate(model, eval_step, arrays, targets, val_idx, placement, binary)
            history.update({f"val_{k}": v for k, v in found.items()})
        monitored = history.get("val_loss", history["loss"])
        if plateau is not None:
            set_learning_rate(optimizer, plateau.step(monitored))
        print(epoch_report(epoch, settings["epochs"], history, time.perf_counter() - started), flush=True)
        save_weights(model, out_dir / "model.safetensors", epoch)
        if stopping.update(history, monitored, lambda: canonical_weights(model)):
            print(f"early stopping after epoch {epoch}", flush=True)
            break
    best_weights = stopping.restorable()
    if best_weights is not None:
        load_canonical(model, best_weights)
        save_weights(model, out_dir / "model.safetensors", int(history.get("epoch", 0)))
    return history


def evaluate(
    model: nnx.Module,
    eval_step: Callable[..., Any],
    arrays: dict[str, np.ndarray],
    targets: np.ndarray,
    indices: np.ndarray,
    placement: Placement,
    binary: bool,
) -> dict[str, float]:
    """Mean loss and metrics on `indices` in evaluation mode (every sample: the last partial batch runs
    on one device when it does not divide over several)."""
    model.eval()
    total, seen, metrics = 0.0, 0, Metrics(list(METRICS), binary)
    for start in range(0, len(indices), 256):
        rows = indices[start : start + 256]
        batch = [arrays[name][rows] for name in INPUTS] + [targets[rows]]
        *inputs, target = (
            placement.batch(batch) if placement.usable(len(rows)) == len(rows) else [jnp.asarray(a) for a in batch]
        )
        loss, pred = eval_step(model, tuple(inputs), target)
        total += float(loss) * len(rows)
        seen += len(rows)
        metrics.update(pred, targets[rows])
    return {"loss": total / max(seen, 1), **metrics.result()}


def save_weights(model: nnx.Module, path: Path, epoch: int) -> None:
    """Weights as safetensors (no pickle), under Neural's canonical names and PyTorch layouts."""
    from safetensors.numpy import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file(canonical_weights(model), str(tmp), metadata={"network": NETWORK, "epoch": str(epoch)})
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=f"Train {NETWORK} with JAX/Flax (generated by Neural).")
    add_data_arguments(parser)
    parser.add_argument("--out", default="checkpoints", help="directory for model.safetensors")
    args = parser.parse_args(argv)
    train(args.data, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, out=args.out)


if __name__ == "__main__":
    main()
