"""`neural train --backend pytorch`: the generated module, trained in process by the shared loop.

The loop (neural/training/loop.py) is the same as for the NumPy runtime: progress, run directory,
metrics files, checkpoints and resume. This backend builds the model, loss, optimizer and learning
rate scheduler with the generated module's own functions, so in-process training is exactly what
`python model.py` does. Weights cross in canonical names; optimizer state uses the NumPy runtime's
format (`<parameter>/<buffer>` arrays with torch's buffer names), so checkpoints move between them.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from neural.errors import InvalidValueError
from neural.shapes.engine import ShapedNetwork
from neural.targets.pytorch.adapter import canonical_weights, load_canonical
from neural.targets.pytorch.load import import_network
from neural.training.backend import Batch, require_training_setup


class TorchBackend:
    """Training through the generated PyTorch module."""

    name = "pytorch"

    def __init__(
        self,
        shaped: ShapedNetwork,
        *,
        seed: int = 0,
        dtype: Any = np.float32,
        clip_norm: float | None = None,
        clip_value: float | None = None,
    ) -> None:
        require_training_setup(shaped)
        self.shaped = shaped
        self.module: Any = import_network(shaped)
        m = self.module
        torch.manual_seed(seed)
        self.device = m.resolve_device(shaped.network.execution.get("device", "auto"))
        model: torch.nn.Module = m.build_model()
        if np.dtype(dtype) == np.float64:
            model = model.double()
        self.dtype = torch.float64 if np.dtype(dtype) == np.float64 else torch.float32
        self.model = model.to(self.device)
        self.loss_fn = m.make_loss(m.LOSS)
        self.optimizer: torch.optim.Optimizer = m.make_optimizer(
            self.model.parameters(), m.OPTIMIZER, m.base_learning_rate(m.SCHEDULE, m.OPTIMIZER)
        )
        self.scheduler = m.make_scheduler(self.optimizer, m.SCHEDULE)
        self.plateau = isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
        self.clip_norm, self.clip_value = clip_norm, clip_value
        self.iterations = 0
        self.last_lr = float(self.optimizer.param_groups[0]["lr"])
        self.param_names = [name for name, _ in self.model.named_parameters()]

    # --- steps ---
    def _inputs(self, x: Batch) -> list[torch.Tensor]:
        tensors = []
        for spec in self.shaped.network.inputs:
            value = torch.as_tensor(np.asarray(x[spec.name]))
            tensors.append(value.to(self.device) if spec.dtype == "int64" else value.to(self.device, self.dtype))
        return tensors

    def _target(self, y: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(y)).to(self.device)

    def train_batch(self, x: Batch, y: np.ndarray) -> tuple[float, np.ndarray]:
        self.model.train()
        pred = self.model(*self._inputs(x))
        loss = self.loss_fn(pred, self._target(y))
        value = float(loss.detach())
        if not math.isfinite(value):
            return value, pred.detach().cpu().numpy()
        self.optimizer.zero_grad()
        loss.backward()
        if self.clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip_norm)
        if self.clip_value is not None:
            torch.nn.utils.clip_grad_value_(self.model.parameters(), self.clip_value)
        self.last_lr = float(self.optimizer.param_groups[0]["lr"])
        self.optimizer.step()
        self.module.step_scheduler(self.scheduler)
        self.iterations += 1
        return value, pred.detach().cpu().numpy()

    @torch.no_grad()
    def evaluate_batch(self, x: Batch, y: np.ndarray) -> tuple[float, np.ndarray]:
        self.model.eval()
        pred = self.model(*self._inputs(x))
        return float(self.loss_fn(pred, self._target(y))), pred.cpu().numpy()

    @torch.no_grad()
    def predict(self, x: Batch) -> np.ndarray:
        self.model.eval()
        result: np.ndarray = self.model(*self._inputs(x)).cpu().numpy()
        return result

    # --- state ---
    def weights(self) -> dict[str, np.ndarray]:
        return canonical_weights(self.model)

    def load_weights(self, weights: Mapping[str, np.ndarray]) -> None:
        load_canonical(self.model, {k: np.asarray(v) for k, v in weights.items()})

    def optimizer_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        torch_state = self.optimizer.state_dict()
        arrays: dict[str, np.ndarray] = {}
        steps: dict[str, int] = {}
        for index, buffers in torch_state["state"].items():
            name = self.param_names[index]
            for key, value in buffers.items():
                if key == "step":
                    steps[name] = int(value)
                elif isinstance(value, torch.Tensor):
                    arrays[f"{name}/{key}"] = value.detach().cpu().numpy().copy()
        scalars = {
            "name": self.shaped.network.optimizer.name if self.shaped.network.optimizer else "",
            "iterations": self.iterations,
            "lr": self.last_lr,
            "steps": steps,
            "schedule": self._schedule_state(),
        }
        return scalars, arrays

    def _schedule_state(self) -> dict[str, Any]:
        """The schedule's state in the NumPy runtime's format (a per-step schedule is a function of the step)."""
        schedule = self.module.SCHEDULE
        if not self.plateau:
            return {"name": schedule["name"] if schedule is not None else "constant"}
        plateau = self.scheduler
        best = float(plateau.best)
        return {
            "name": "ReduceOnPlateau",
            "lr": float(self.optimizer.param_groups[0]["lr"]),
            "best": best if math.isfinite(best) else None,
            "num_bad_epochs": int(plateau.num_bad_epochs),
            "last_epoch": int(plateau.last_epoch),
        }

    def _load_plateau(self, state: Mapping[str, Any]) -> None:
        plateau = self.scheduler
        plateau.best = float(state["best"]) if state.get("best") is not None else plateau.mode_worse
        plateau.num_bad_epochs = int(state["num_bad_epochs"])
        plateau.last_epoch = int(state["last_epoch"])
        for group in self.optimizer.param_groups:
            group["lr"] = float(state["lr"])
        plateau._last_lr = [float(state["lr"])] * len(self.optimizer.param_groups)

    def load_optimizer_state(self, scalars: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        expected = self.shaped.network.optimizer.name if self.shaped.network.optimizer else ""
        if scalars.get("name") != expected:
            raise InvalidValueError(f"cannot resume a {expected} optimizer from the state of {scalars.get('name')!r}")
        index = {name: i for i, name in enumerate(self.param_names)}
        state: dict[int, dict[str, Any]] = {}
        for key, value in arrays.items():
            name, _, buffer = key.rpartition("/")
            state.setdefault(index[name], {})[buffer] = torch.as_tensor(np.asarray(value)).to(self.device)
        for name, step in scalars.get("steps", {}).items():
            state.setdefault(index[name], {})["step"] = torch.tensor(float(step))
        current = self.optimizer.state_dict()
        self.optimizer.load_state_dict({"state": state, "param_groups": current["param_groups"]})
        self.iterations = int(scalars.get("iterations", 0))
        schedule = scalars.get("schedule") or {}
        if self.scheduler is not None and self.plateau:
            if schedule.get("name") != "ReduceOnPlateau":
                raise InvalidValueError(
                    f"cannot resume a ReduceOnPlateau schedule from the state of {schedule.get('name')!r}"
                )
            self._load_plateau(schedule)
        elif self.scheduler is not None:
            reached = self.iterations
            if isinstance(self.scheduler, torch.optim.lr_scheduler.OneCycleLR):
                reached = min(reached, self.scheduler.total_steps - 1)  # it stays at its last step's rate
            self.scheduler.last_epoch = reached - 1
            self.scheduler._step_count = reached  # keeps torch's "step before optimizer" check quiet
            self.scheduler.step()
        self.last_lr = float(scalars.get("lr", self.last_lr))

    def rng_state(self) -> dict[str, Any]:
        return {"torch": base64.b64encode(torch.get_rng_state().numpy().tobytes()).decode("ascii")}

    def set_rng_state(self, state: Mapping[str, Any]) -> None:
        if "torch" in state:
            raw = np.frombuffer(base64.b64decode(state["torch"]), dtype=np.uint8).copy()
            torch.set_rng_state(torch.from_numpy(raw))

    def learning_rate(self) -> float:
        """The rate of the last step (as the NumPy backend reports it)."""
        return self.last_lr

    def on_epoch_end(self, monitored: float) -> None:
        if self.plateau:
            self.scheduler.step(monitored)
