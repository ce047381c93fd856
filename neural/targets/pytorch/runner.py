"""Training code copied into every generated PyTorch module (everything below the marker line).

It is a real module so that ruff and mypy check it, and it is tested through generated scripts.
The generated module defines, before this code: NETWORK, INPUTS, LAYOUT, TRAIN, LOSS, OPTIMIZER,
SCHEDULE, METRICS, EXECUTION (plain literals) and `build_model()`; the placeholders below stand in
for them here.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

NETWORK: str = ""
INPUTS: dict[str, tuple[tuple[int, ...], str]] = {}
OUTPUTS: list[tuple[int, ...]] = []
TRAIN: dict[str, Any] = {}
LOSS: dict[str, Any] = {}
OPTIMIZER: dict[str, Any] = {}
SCHEDULE: dict[str, Any] | None = None
METRICS: list[str] = []
EXECUTION: dict[str, Any] = {}


def build_model() -> nn.Module:
    raise NotImplementedError


# ---- generated modules include everything below this line ----


def make_loss(spec: dict[str, Any]) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The train block's loss. From probabilities, cross-entropies clip to [1e-7, 1 - 1e-7] as Keras does."""
    name, from_logits, smoothing = spec["name"], spec.get("from_logits", False), spec.get("label_smoothing", 0.0)
    eps = 1e-7

    def categorical(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if name == "sparse_categorical_crossentropy":
            classes = pred.shape[-1]
            target = F.one_hot(target.long(), classes).to(pred.dtype)
        if smoothing:
            target = target * (1 - smoothing) + smoothing / pred.shape[-1]
        logp = torch.log_softmax(pred, dim=-1) if from_logits else torch.log(pred.clamp(eps, 1 - eps))
        return -(target * logp).sum(dim=-1).mean()

    def binary(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = target.reshape(pred.shape).to(pred.dtype)
        if smoothing:
            target = target * (1 - smoothing) + 0.5 * smoothing
        if from_logits:
            return F.binary_cross_entropy_with_logits(pred, target)
        p = pred.clamp(eps, 1 - eps)
        return -(target * torch.log(p) + (1 - target) * torch.log(1 - p)).mean()

    def regression(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = target.reshape(pred.shape).to(pred.dtype)
        if name == "mean_squared_error":
            return F.mse_loss(pred, target)
        if name == "mean_absolute_error":
            return F.l1_loss(pred, target)
        return F.huber_loss(pred, target, delta=spec.get("delta", 1.0))

    if name in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        return categorical
    if name == "binary_crossentropy":
        return binary
    return regression


def make_optimizer(params: Any, spec: dict[str, Any], lr: float) -> torch.optim.Optimizer:
    """torch.optim with the train block's settings (Neural's names mapped to torch's)."""
    name = spec["name"]
    if name == "SGD":
        return torch.optim.SGD(params, lr=lr, momentum=spec["momentum"], nesterov=spec["nesterov"], weight_decay=spec["weight_decay"])
    if name in ("Adam", "AdamW"):
        cls = torch.optim.Adam if name == "Adam" else torch.optim.AdamW
        betas = (spec["beta_1"], spec["beta_2"])
        return cls(params, lr=lr, betas=betas, eps=spec["epsilon"], weight_decay=spec["weight_decay"], amsgrad=spec["amsgrad"])
    if name == "RMSprop":
        return torch.optim.RMSprop(
            params, lr=lr, alpha=spec["rho"], eps=spec["epsilon"], momentum=spec["momentum"],
            centered=spec["centered"], weight_decay=spec["weight_decay"],
        )
    return torch.optim.Adagrad(
        params, lr=lr, initial_accumulator_value=spec["initial_accumulator_value"], eps=spec["epsilon"],
        weight_decay=spec["weight_decay"],
    )


def base_learning_rate(schedule: dict[str, Any] | None, optimizer: dict[str, Any]) -> float:
    if schedule is None:
        return float(optimizer["learning_rate"])
    return float(schedule.get("initial_learning_rate", schedule.get("max_learning_rate", 0.0)))


def schedule_factor(schedule: dict[str, Any] | None) -> Callable[[int], float] | None:
    """Learning-rate multiplier per optimizer step (warm-up rises linearly from 0), or None."""
    if schedule is None or schedule["name"] in ("OneCycle", "ReduceOnPlateau"):
        return None
    name, warmup = schedule["name"], schedule.get("warmup_steps", 0)

    def decayed(step: int) -> float:
        if name == "ExponentialDecay":
            power = step // schedule["decay_steps"] if schedule["staircase"] else step / schedule["decay_steps"]
            return float(schedule["decay_rate"] ** power)
        if name == "StepDecay":
            return float(schedule["gamma"] ** (step // schedule["step_size"]))
        progress = min(step, schedule["decay_steps"]) / schedule["decay_steps"]
        return schedule["alpha"] + (1 - schedule["alpha"]) * 0.5 * (1 + math.cos(math.pi * progress))

    def factor(step: int) -> float:
        return step / warmup if step < warmup else decayed(step - warmup)

    return factor


def make_scheduler(optimizer: torch.optim.Optimizer, schedule: dict[str, Any] | None) -> Any:
    """A torch scheduler stepped after every optimizer step (ReduceLROnPlateau: after every epoch)."""
    factor = schedule_factor(schedule)
    if factor is not None:
        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    if schedule is not None and schedule["name"] == "OneCycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=schedule["max_learning_rate"], total_steps=schedule["total_steps"],
            pct_start=schedule["pct_start"], div_factor=schedule["div_factor"],
            final_div_factor=schedule["final_div_factor"], cycle_momentum=False,
        )
    if schedule is not None and schedule["name"] == "ReduceOnPlateau":
        lower = any(word in schedule["monitor"] for word in ("loss", "error", "mae", "mse"))
        mode: Literal["min", "max"] = "min" if schedule["mode"] == "min" or (schedule["mode"] == "auto" and lower) else "max"
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode=mode, factor=schedule["factor"], patience=schedule["patience"], min_lr=schedule["min_lr"]
        )
    return None


class Metrics:
    """Streaming metrics over batches: accuracy, top-k accuracy, precision/recall/F1 (class 1 for
    binary tasks, macro-averaged otherwise), MAE and MSE."""

    def __init__(self, names: list[str], binary: bool) -> None:
        self.names, self.binary = names, binary
        self.count, self.correct, self.top, self.abs, self.sq = 0, 0.0, 0.0, 0.0, 0.0
        self.confusion: torch.Tensor | None = None

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        pred, target = pred.detach().float().cpu(), target.detach().cpu()
        self.count += len(target)
        if any(n in ("mae", "mse") for n in self.names):
            diff = pred.reshape(len(target), -1) - target.reshape(len(target), -1).float()
            self.abs += float(diff.abs().mean(dim=1).sum())
            self.sq += float((diff * diff).mean(dim=1).sum())
        if any(n in ("accuracy", "precision", "recall", "f1") or n.startswith("top_") for n in self.names):
            self._update_classes(pred, target)

    def _update_classes(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        if self.binary or pred.shape[-1] == 1:
            threshold = 0.0 if LOSS.get("from_logits") else 0.5
            labels, truth, classes = (pred.reshape(-1) > threshold).long(), target.reshape(-1).long(), 2
        else:
            classes = pred.shape[-1]
            labels = pred.argmax(dim=-1).reshape(-1)
            truth = target.argmax(dim=-1).reshape(-1) if target.shape == pred.shape else target.reshape(-1).long()
        self.correct += float((labels == truth).sum())
        if any(n.startswith("top_") for n in self.names) and not self.binary:
            k = int(next(n for n in self.names if n.startswith("top_")).split("_")[1])
            top = pred.reshape(-1, pred.shape[-1]).topk(min(k, pred.shape[-1]), dim=-1).indices
            self.top += float((top == truth.reshape(-1, 1)).any(dim=-1).sum())
        if self.confusion is None:
            self.confusion = torch.zeros(classes, classes, dtype=torch.float64)
        self.confusion.index_put_((truth, labels), torch.ones(len(truth), dtype=torch.float64), accumulate=True)

    def result(self) -> dict[str, float]:
        found: dict[str, float] = {}
        n = max(self.count, 1)
        confusion = self.confusion if self.confusion is not None else torch.zeros(2, 2, dtype=torch.float64)
        tp = confusion.diag()
        precision = tp / confusion.sum(dim=0).clamp(min=1)
        recall = tp / confusion.sum(dim=1).clamp(min=1)
        f1 = 2 * precision * recall / (precision + recall).clamp(min=1e-12)
        pick = (lambda v: float(v[1])) if confusion.shape[0] == 2 and self.binary else (lambda v: float(v.mean()))
        for name in self.names:
            if name == "accuracy":
                found[name] = self.correct / n
            elif name.startswith("top_"):
                found[name] = self.top / n
            elif name in ("precision", "recall", "f1"):
                found[name] = pick({"precision": precision, "recall": recall, "f1": f1}[name])
            elif name in ("mae", "mse"):
                found[name] = (self.abs if name == "mae" else self.sq) / n
        return found


def load_data(source: str, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Arrays for training: .npz (x/y or one array per input plus y), data.npy with data_labels.npy,
    `digits` (scikit-learn's 8x8 digits) or `synthetic` (random inputs, random teacher targets)."""
    if source == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        x = (digits.images / 16.0).astype(np.float32)
        (name, (shape, _)), = INPUTS.items()
        return {name: x.reshape((len(x), *shape))}, digits.target.astype(np.int64)
    if source.startswith("synthetic"):
        rng = np.random.default_rng(seed)
        count = int(source.split(":")[1]) if ":" in source else 1000
        arrays = {
            name: (rng.integers(0, 100, size=(count, *shape)) if dtype == "int64" else rng.standard_normal((count, *shape)).astype(np.float32))
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
    raise SystemExit(f"cannot load data from {source!r}: use digits, synthetic[:N], a .npz file or data.npy + data_labels.npy")


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


def resolve_device(requested: str) -> torch.device:
    if requested in ("auto", "cuda", "gpu"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if requested == "auto" and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        return torch.device("cpu")
    return device


def train(
    data: str,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    seed: int | None = None,
    out: str = "checkpoints",
    device: str | None = None,
    amp: bool = False,
    compile_model: bool = False,
) -> dict[str, float]:
    """Train as the network's train block says; works alone and under torchrun (DistributedDataParallel).

    Checkpoints (safetensors, rank 0 only) go to `out`; returns the last epoch's metrics.
    """
    settings = {**TRAIN, **{k: v for k, v in {"epochs": epochs, "batch_size": batch_size, "seed": seed}.items() if v is not None}}
    seed_value = int(settings.get("seed") or 0)
    torch.manual_seed(seed_value)
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    rank = 0
    if distributed:
        import torch.distributed as dist

        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        rank = dist.get_rank()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    target_device = resolve_device(device or EXECUTION.get("device", "auto"))
    if distributed and target_device.type == "cuda":
        target_device = torch.device("cuda", local_rank)
        torch.cuda.set_device(target_device)
    model = build_model().to(target_device)
    if compile_model or EXECUTION.get("compile"):
        model = torch.compile(model)  # type: ignore[assignment]
    net: nn.Module = model
    if distributed:
        net = nn.parallel.DistributedDataParallel(model, device_ids=[local_rank] if target_device.type == "cuda" else None)

    arrays, targets = load_data(data, seed_value)
    train_idx, val_idx = split_indices(len(targets), float(settings.get("validation_split", 0.0)), seed_value)
    tensors = [torch.from_numpy(np.ascontiguousarray(arrays[name])) for name in INPUTS]
    dataset = torch.utils.data.TensorDataset(*tensors, torch.from_numpy(targets))
    train_set = torch.utils.data.Subset(dataset, train_idx.tolist())
    sampler: Any = torch.utils.data.distributed.DistributedSampler(train_set, shuffle=bool(settings.get("shuffle", True)), seed=seed_value) if distributed else None
    generator = torch.Generator().manual_seed(seed_value)
    loader = torch.utils.data.DataLoader(
        train_set, batch_size=int(settings["batch_size"]), shuffle=sampler is None and bool(settings.get("shuffle", True)),
        sampler=sampler, generator=generator,
    )
    loss_fn = make_loss(LOSS)
    optimizer = make_optimizer(net.parameters(), OPTIMIZER, base_learning_rate(SCHEDULE, OPTIMIZER))
    scheduler = make_scheduler(optimizer, SCHEDULE)
    use_amp = amp and target_device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    binary = LOSS["name"] == "binary_crossentropy"
    stopping = TRAIN.get("early_stopping")
    best, best_state, waited = math.inf, None, 0
    history: dict[str, float] = {}
    out_dir = Path(out)
    for epoch in range(1, int(settings["epochs"]) + 1):
        if sampler is not None:
            sampler.set_epoch(epoch)
        net.train()
        started, total, seen, metrics = time.perf_counter(), 0.0, 0, Metrics(list(METRICS), binary)
        for *inputs, target in loader:
            inputs = [x.to(target_device) for x in inputs]
            target = target.to(target_device)
            with torch.autocast(device_type=target_device.type, enabled=use_amp):
                pred = net(*inputs)
                loss = loss_fn(pred.float(), target)
            optimizer.zero_grad()
            scaler.scale(loss).backward()
            if TRAIN.get("clip_norm") or TRAIN.get("clip_value"):
                scaler.unscale_(optimizer)
                if TRAIN.get("clip_norm"):
                    torch.nn.utils.clip_grad_norm_(net.parameters(), TRAIN["clip_norm"])
                if TRAIN.get("clip_value"):
                    torch.nn.utils.clip_grad_value_(net.parameters(), TRAIN["clip_value"])
            scaler.step(optimizer)
            scaler.update()
            if scheduler is not None and not isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step()
            if not torch.isfinite(loss):
                raise SystemExit(f"the loss became {float(loss)} at epoch {epoch}; stopped")
            count = len(target)
            total += loss.item() * count
            seen += count
            metrics.update(pred, target)
        history = {"epoch": epoch, "loss": total / seen, **metrics.result()}
        if len(val_idx):
            history.update({f"val_{k}": v for k, v in evaluate(model, dataset, val_idx, loss_fn, target_device, binary).items()})
        monitored = history.get("val_loss", history["loss"])
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(monitored)
        if rank == 0:
            shown = "  ".join(f"{k} {v:.4f}" for k, v in history.items() if k != "epoch")
            print(f"epoch {epoch}/{settings['epochs']}  {shown}  ({time.perf_counter() - started:.1f}s)", flush=True)
            save_weights(model, out_dir / "model.safetensors", epoch)
        if stopping:
            value = history.get(stopping["monitor"], monitored)
            lower = "loss" in stopping["monitor"] or stopping.get("mode") == "min"
            improved = (value < best - stopping["min_delta"]) if lower else (-value < best - stopping["min_delta"])
            if improved:
                best, waited = (value if lower else -value), 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                waited += 1
                if waited >= stopping["patience"]:
                    if rank == 0:
                        print(f"early stopping after epoch {epoch}", flush=True)
                    break
    if stopping and stopping.get("restore_best_weights") and best_state is not None:
        model.load_state_dict(best_state)
        if rank == 0:
            save_weights(model, out_dir / "model.safetensors", int(history.get("epoch", 0)))
    if distributed:
        import torch.distributed as dist

        dist.barrier()
        dist.destroy_process_group()
    return history


@torch.no_grad()
def evaluate(model: nn.Module, dataset: Any, indices: np.ndarray, loss_fn: Any, device: torch.device, binary: bool) -> dict[str, float]:
    """Mean loss and metrics on `indices` of `dataset` in evaluation mode."""
    model.eval()
    loader = torch.utils.data.DataLoader(torch.utils.data.Subset(dataset, indices.tolist()), batch_size=256)
    total, seen, metrics = 0.0, 0, Metrics(list(METRICS), binary)
    for *inputs, target in loader:
        inputs = [x.to(device) for x in inputs]
        target = target.to(device)
        pred = model(*inputs).float()
        total += float(loss_fn(pred, target)) * len(target)
        seen += len(target)
        metrics.update(pred, target)
    return {"loss": total / seen, **metrics.result()}


def save_weights(model: nn.Module, path: Path, epoch: int) -> None:
    """Weights as safetensors (no pickle), under the same names as Neural's checkpoints."""
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    tmp = path.with_suffix(".tmp")
    save_file(state, str(tmp), metadata={"network": NETWORK, "epoch": str(epoch)})
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=f"Train {NETWORK} (generated by Neural).")
    parser.add_argument("--data", default=TRAIN.get("data") or "synthetic", help="digits, synthetic[:N], a .npz file, or data.npy (+ data_labels.npy)")
    parser.add_argument("--epochs", type=int, default=None, help="override the train block")
    parser.add_argument("--batch-size", type=int, default=None, help="override the train block")
    parser.add_argument("--seed", type=int, default=None, help="override the train block")
    parser.add_argument("--out", default="checkpoints", help="directory for model.safetensors")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:N, mps or auto (default: the execution block)")
    parser.add_argument("--amp", action="store_true", help="mixed precision (on GPUs)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    args = parser.parse_args(argv)
    train(
        args.data, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, out=args.out, device=args.device,
        amp=args.amp, compile_model=args.compile,
    )


if __name__ == "__main__":
    main()
