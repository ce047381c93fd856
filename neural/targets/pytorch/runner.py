"""Training code copied into every generated PyTorch module (everything below the marker line).

It is a real module so that ruff and mypy check it, and it is tested through generated scripts.
The generated module defines, before this code: NETWORK, INPUTS, LAYOUT, TRAIN, LOSS, OPTIMIZER,
SCHEDULE, METRICS, EXECUTION (plain literals), `build_model()` and the framework-free training code of
common/runner.py; the placeholders and the import below stand in for them here.
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

from neural.targets.common.runner import (
    EXECUTION,
    INPUTS,
    LOSS,
    METRICS,
    NETWORK,
    OPTIMIZER,
    SCHEDULE,
    TRAIN,
    EarlyStopping,
    MetricTotals,
    add_data_arguments,
    base_learning_rate,
    epoch_report,
    load_data,
    split_indices,
    train_settings,
)


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
        return torch.optim.SGD(
            params, lr=lr, momentum=spec["momentum"], nesterov=spec["nesterov"], weight_decay=spec["weight_decay"]
        )
    if name in ("Adam", "AdamW"):
        cls = torch.optim.Adam if name == "Adam" else torch.optim.AdamW
        betas = (spec["beta_1"], spec["beta_2"])
        return cls(
            params, lr=lr, betas=betas, eps=spec["epsilon"], weight_decay=spec["weight_decay"], amsgrad=spec["amsgrad"]
        )
    if name == "RMSprop":
        return torch.optim.RMSprop(
            params,
            lr=lr,
            alpha=spec["rho"],
            eps=spec["epsilon"],
            momentum=spec["momentum"],
            centered=spec["centered"],
            weight_decay=spec["weight_decay"],
        )
    return torch.optim.Adagrad(
        params,
        lr=lr,
        initial_accumulator_value=spec["initial_accumulator_value"],
        eps=spec["epsilon"],
        weight_decay=spec["weight_decay"],
    )


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
            optimizer,
            max_lr=schedule["max_learning_rate"],
            total_steps=schedule["total_steps"],
            pct_start=schedule["pct_start"],
            div_factor=schedule["div_factor"],
            final_div_factor=schedule["final_div_factor"],
            cycle_momentum=False,
        )
    if schedule is not None and schedule["name"] == "ReduceOnPlateau":
        lower = any(word in schedule["monitor"] for word in ("loss", "error", "mae", "mse"))
        mode: Literal["min", "max"] = (
            "min" if schedule["mode"] == "min" or (schedule["mode"] == "auto" and lower) else "max"
        )
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode=mode, factor=schedule["factor"], patience=schedule["patience"], min_lr=schedule["min_lr"]
        )
    return None


def step_scheduler(scheduler: Any) -> None:
    """Step a per-step scheduler after an optimizer step; OneCycleLR stops at its last step and keeps its final
    rate (torch raises past `total_steps`), as the NumPy runtime does. ReduceLROnPlateau steps per epoch."""
    if scheduler is None or isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        return
    if isinstance(scheduler, torch.optim.lr_scheduler.OneCycleLR) and scheduler.last_epoch >= scheduler.total_steps - 1:
        return
    scheduler.step()


class Metrics(MetricTotals):
    """The streaming metrics (common/runner.py's totals) of torch predictions and targets."""

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        pred, target = pred.detach().float().cpu(), target.detach().cpu()
        self.count += len(target)
        if self.wants_errors():
            diff = pred.reshape(len(target), -1) - target.reshape(len(target), -1).float()
            self.abs += float(diff.abs().mean(dim=1).sum())
            self.sq += float((diff * diff).mean(dim=1).sum())
        if self.wants_classes():
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
        k = self.top_k()
        if k is not None:
            top = pred.reshape(-1, pred.shape[-1]).topk(min(k, pred.shape[-1]), dim=-1).indices
            self.top += float((top == truth.reshape(-1, 1)).any(dim=-1).sum())
        self.add_confusion(truth.numpy(), labels.numpy(), classes)


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
    settings, seed_value = train_settings(epochs, batch_size, seed)
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
        net = nn.parallel.DistributedDataParallel(
            model, device_ids=[local_rank] if target_device.type == "cuda" else None
        )

    arrays, targets = load_data(data, seed_value)
    train_idx, val_idx = split_indices(len(targets), float(settings.get("validation_split", 0.0)), seed_value)
    tensors = [torch.from_numpy(np.ascontiguousarray(arrays[name])) for name in INPUTS]
    dataset = torch.utils.data.TensorDataset(*tensors, torch.from_numpy(targets))
    train_set = torch.utils.data.Subset(dataset, train_idx.tolist())
    sampler: Any = (
        torch.utils.data.distributed.DistributedSampler(
            train_set, shuffle=bool(settings.get("shuffle", True)), seed=seed_value
        )
        if distributed
        else None
    )
    generator = torch.Generator().manual_seed(seed_value)
    loader = torch.utils.data.DataLoader(
        train_set,
        batch_size=int(settings["batch_size"]),
        shuffle=sampler is None and bool(settings.get("shuffle", True)),
        sampler=sampler,
        generator=generator,
    )
    loss_fn = make_loss(LOSS)
    optimizer = make_optimizer(net.parameters(), OPTIMIZER, base_learning_rate(SCHEDULE, OPTIMIZER))
    scheduler = make_scheduler(optimizer, SCHEDULE)
    use_amp = amp and target_device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    binary = LOSS["name"] == "binary_crossentropy"
    stopping = EarlyStopping(TRAIN.get("early_stopping"))
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
            step_scheduler(scheduler)
            if not torch.isfinite(loss):
                raise SystemExit(f"the loss became {float(loss)} at epoch {epoch}; stopped")
            count = len(target)
            total += loss.item() * count
            seen += count
            metrics.update(pred, target)
        history = {"epoch": epoch, "loss": total / seen, **metrics.result()}
        if len(val_idx):
            history.update(
                {f"val_{k}": v for k, v in evaluate(model, dataset, val_idx, loss_fn, target_device, binary).items()}
            )
        monitored = history.get("val_loss", history["loss"])
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(monitored)
        if rank == 0:
            print(epoch_report(epoch, settings["epochs"], history, time.perf_counter() - started), flush=True)
            save_weights(model, out_dir / "model.safetensors", epoch)
        if stopping.update(history, monitored, lambda: {k: v.detach().clone() for k, v in model.state_dict().items()}):
            if rank == 0:
                print(f"early stopping after epoch {epoch}", flush=True)
            break
    best_state = stopping.restorable()
    if best_state is not None:
        model.load_state_dict(best_state)
        if rank == 0:
            save_weights(model, out_dir / "model.safetensors", int(history.get("epoch", 0)))
    if distributed:
        import torch.distributed as dist

        dist.barrier()
        dist.destroy_process_group()
    return history


@torch.no_grad()
def evaluate(
    model: nn.Module, dataset: Any, indices: np.ndarray, loss_fn: Any, device: torch.device, binary: bool
) -> dict[str, float]:
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
    state = {
        k: v.detach().cpu().contiguous() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")
    }
    tmp = path.with_suffix(".tmp")
    save_file(state, str(tmp), metadata={"network": NETWORK, "epoch": str(epoch)})
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=f"Train {NETWORK} (generated by Neural).")
    add_data_arguments(parser)
    parser.add_argument("--out", default="checkpoints", help="directory for model.safetensors")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:N, mps or auto (default: the execution block)")
    parser.add_argument("--amp", action="store_true", help="mixed precision (on GPUs)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    args = parser.parse_args(argv)
    train(
        args.data,
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        out=args.out,
        device=args.device,
        amp=args.amp,
        compile_model=args.compile,
    )


if __name__ == "__main__":
    main()
