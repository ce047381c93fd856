"""Optimizers with PyTorch's update rules, step for step (torch.optim's single-tensor code paths).

An optimizer owns named parameter Tensors and updates their `.data` in place from their `.grad`
(parameters whose `.grad` is None are skipped and get no state, as in PyTorch). Before its k-th
step (k from 0) it takes the learning rate `schedule.lr(k)`; the language's `learning_rate` may be
a number or a schedule (see schedules.py). Arguments are the language's, mapped to PyTorch's:

| optimizer | language arguments -> torch.optim |
|---|---|
| SGD | learning_rate, momentum, nesterov, weight_decay (L2 added to the gradient); dampening 0 |
| Adam | learning_rate, beta_1/beta_2 -> betas, epsilon -> eps, weight_decay (L2), amsgrad |
| AdamW | as Adam, weight_decay decoupled (param *= 1 - lr * weight_decay), default 0.01 |
| RMSprop | learning_rate, rho -> alpha, momentum, epsilon -> eps, centered, weight_decay (L2) |
| Adagrad | learning_rate, initial_accumulator_value, epsilon -> eps, weight_decay (L2); lr_decay 0 |

State for checkpoints (`state_dict()`) comes as two parts: a JSON-able dict (optimizer name,
iteration count, current rate, per-parameter step counts, hyperparameters and the schedule's
state) and a flat dict of arrays named `<parameter name>/<buffer>` (buffers named as in PyTorch:
momentum_buffer, exp_avg, exp_avg_sq, max_exp_avg_sq, square_avg, grad_avg, sum), which goes into
safetensors as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from neural.errors import InvalidValueError, NameResolutionError
from neural.ir import Component
from neural.runtime.tensor import Array, Tensor
from neural.training.schedules import Schedule, build_schedule

Params = Sequence[Tensor] | Mapping[str, Tensor]
LearningRate = Component | Schedule | float


def named_parameters(params: Params) -> dict[str, Tensor]:
    """Parameters by name: a mapping as given, a list by each Tensor's `.name` (else `param_<i>`)."""
    if isinstance(params, Mapping):
        return dict(params)
    named: dict[str, Tensor] = {}
    for i, tensor in enumerate(params):
        name = tensor.name or f"param_{i}"
        if name in named:
            raise InvalidValueError(f"two parameters are named `{name}`; pass a dict of parameters by name")
        named[name] = tensor
    return named


class Optimizer:
    """Base class: the step loop, learning rate from a schedule, state save and load."""

    name = "optimizer"

    def __init__(self, params: Params, learning_rate: LearningRate, weight_decay: float = 0.0) -> None:
        self.params = named_parameters(params)
        self.schedule = build_schedule(learning_rate)
        self.weight_decay = float(weight_decay)
        self.iterations = 0
        self.lr = self.schedule.lr(0)
        self.state: dict[str, dict[str, Array]] = {}
        self.steps: dict[str, int] = {}

    # --- the step ---
    def step(self) -> None:
        """Update every parameter that has a gradient, with the rate the schedule gives this step."""
        self.lr = self.schedule.lr(self.iterations)
        for name, p in self.params.items():
            if p.grad is None:
                continue
            if name not in self.state:
                self.state[name] = self.init_state(p.data)
            self.steps[name] = self.steps.get(name, 0) + 1
            grad = np.asarray(p.grad, dtype=p.dtype)
            self.update(p.data, grad, self.state[name], self.steps[name])
        self.iterations += 1

    def zero_grad(self) -> None:
        for p in self.params.values():
            p.grad = None

    def init_state(self, param: Array) -> dict[str, Array]:
        """Fresh buffers for one parameter."""
        return {}

    def update(self, param: Array, grad: Array, state: dict[str, Array], step: int) -> None:
        """Update `param` in place; `step` counts this parameter's updates from 1."""
        raise NotImplementedError

    def l2(self, param: Array, grad: Array) -> Array:
        """grad + weight_decay * param (coupled weight decay), a new array when the decay is on."""
        return grad + self.weight_decay * param if self.weight_decay else grad

    def hyperparameters(self) -> dict[str, Any]:
        return {"weight_decay": self.weight_decay}

    # --- checkpoints ---
    def state_dict(self) -> tuple[dict[str, Any], dict[str, Array]]:
        """(JSON-able scalars, arrays named `<parameter>/<buffer>`), copies."""
        scalars = {
            "name": self.name,
            "iterations": self.iterations,
            "lr": self.lr,
            "steps": dict(self.steps),
            "hyperparameters": self.hyperparameters(),
            "schedule": self.schedule.state_dict(),
        }
        arrays = {
            f"{param}/{buffer}": value.copy() for param, group in self.state.items() for buffer, value in group.items()
        }
        return scalars, arrays

    def load_state_dict(self, scalars: Mapping[str, Any], arrays: Mapping[str, Array]) -> None:
        """Restore what `state_dict()` returned (hyperparameters stay those of this optimizer)."""
        if scalars.get("name") != self.name:
            raise InvalidValueError(f"cannot resume a {self.name} optimizer from the state of {scalars.get('name')!r}")
        state: dict[str, dict[str, Array]] = {}
        for key, value in arrays.items():
            param, _, buffer = key.rpartition("/")
            if param not in self.params:
                raise InvalidValueError(f"optimizer state names an unknown parameter `{param}`")
            target = self.params[param]
            if tuple(np.shape(value)) != target.shape:
                raise InvalidValueError(
                    f"optimizer buffer {key} has shape {tuple(np.shape(value))}, the parameter has {target.shape}"
                )
            state.setdefault(param, {})[buffer] = np.array(value, dtype=target.dtype)
        unknown = set(scalars.get("steps", {})) - set(self.params)
        if unknown:
            raise InvalidValueError(f"optimizer state names unknown parameters {sorted(unknown)[:5]}")
        self.state = state
        self.steps = {k: int(v) for k, v in scalars.get("steps", {}).items()}
        self.iterations = int(scalars["iterations"])
        self.lr = float(scalars.get("lr", self.schedule.lr(self.iterations)))
        if "schedule" in scalars:
            self.schedule.load_state_dict(scalars["schedule"])


class SGD(Optimizer):
    """torch.optim.SGD (dampening 0): d = g + wd p; buf = m buf + d; d = d + m buf (Nesterov) or buf; p -= lr d."""

    name = "SGD"

    def __init__(
        self,
        params: Params,
        learning_rate: LearningRate = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        if nesterov and momentum <= 0:
            raise InvalidValueError("SGD: Nesterov momentum needs momentum > 0")
        super().__init__(params, learning_rate, weight_decay)
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def init_state(self, param: Array) -> dict[str, Array]:
        return {"momentum_buffer": np.zeros_like(param)} if self.momentum else {}

    def update(self, param: Array, grad: Array, state: dict[str, Array], step: int) -> None:
        d = self.l2(param, grad)
        if self.momentum:
            buf = state["momentum_buffer"]
            if step == 1:
                buf[...] = d  # torch starts the buffer as a copy of the first gradient
            else:
                buf *= self.momentum
                buf += d
            d = d + self.momentum * buf if self.nesterov else buf
        param += -self.lr * d

    def hyperparameters(self) -> dict[str, Any]:
        return {**super().hyperparameters(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """torch.optim.Adam: m, v moving averages, bias-corrected; amsgrad keeps the running max of v."""

    name = "Adam"
    decoupled = False

    def __init__(
        self,
        params: Params,
        learning_rate: LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, learning_rate, weight_decay)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = (
            float(beta_1),
            float(beta_2),
            float(epsilon),
            bool(amsgrad),
        )

    def init_state(self, param: Array) -> dict[str, Array]:
        names = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq") if self.amsgrad else ("exp_avg", "exp_avg_sq")
        return {n: np.zeros_like(param) for n in names}

    def update(self, param: Array, grad: Array, state: dict[str, Array], step: int) -> None:
        if self.decoupled:
            param *= 1 - self.lr * self.weight_decay
        else:
            grad = self.l2(param, grad)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg += (1 - self.beta_1) * (grad - exp_avg)  # torch: exp_avg.lerp_(grad, 1 - beta_1)
        exp_avg_sq *= self.beta_2
        exp_avg_sq += (1 - self.beta_2) * grad * grad
        step_size = self.lr / (1 - self.beta_1**step)
        correction = (1 - self.beta_2**step) ** 0.5
        if self.amsgrad:
            np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            exp_avg_sq = state["max_exp_avg_sq"]
        denom = np.sqrt(exp_avg_sq) / correction + self.epsilon
        param += -step_size * (exp_avg / denom)

    def hyperparameters(self) -> dict[str, Any]:
        return {
            **super().hyperparameters(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }


class AdamW(Adam):
    """torch.optim.AdamW: Adam with decoupled weight decay (param *= 1 - lr * weight_decay first)."""

    name = "AdamW"
    decoupled = True

    def __init__(
        self,
        params: Params,
        learning_rate: LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        weight_decay: float = 0.01,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, learning_rate, beta_1, beta_2, epsilon, weight_decay, amsgrad)


class RMSprop(Optimizer):
    """torch.optim.RMSprop (rho is torch's alpha): p -= lr g / (sqrt(v [- mean(g)^2]) + eps), with momentum."""

    name = "RMSprop"

    def __init__(
        self,
        params: Params,
        learning_rate: LearningRate = 0.01,
        rho: float = 0.99,
        momentum: float = 0.0,
        epsilon: float = 1e-8,
        centered: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, learning_rate, weight_decay)
        self.rho, self.momentum, self.epsilon, self.centered = (
            float(rho),
            float(momentum),
            float(epsilon),
            bool(centered),
        )

    def init_state(self, param: Array) -> dict[str, Array]:
        names = (
            ["square_avg"]
            + (["momentum_buffer"] if self.momentum > 0 else [])
            + (["grad_avg"] if self.centered else [])
        )
        return {n: np.zeros_like(param) for n in names}

    def update(self, param: Array, grad: Array, state: dict[str, Array], step: int) -> None:
        grad = self.l2(param, grad)
        square_avg = state["square_avg"]
        square_avg *= self.rho
        square_avg += (1 - self.rho) * grad * grad
        if self.centered:
            grad_avg = state["grad_avg"]
            grad_avg += (1 - self.rho) * (grad - grad_avg)
            avg = np.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = np.sqrt(square_avg)
        avg += self.epsilon
        if self.momentum > 0:
            buf = state["momentum_buffer"]
            buf *= self.momentum
            buf += grad / avg
            param += -self.lr * buf
        else:
            param += -self.lr * (grad / avg)

    def hyperparameters(self) -> dict[str, Any]:
        return {
            **super().hyperparameters(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }


class Adagrad(Optimizer):
    """torch.optim.Adagrad (lr_decay 0): sum += g^2; p -= lr g / (sqrt(sum) + eps)."""

    name = "Adagrad"

    def __init__(
        self,
        params: Params,
        learning_rate: LearningRate = 0.01,
        initial_accumulator_value: float = 0.0,
        epsilon: float = 1e-10,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, learning_rate, weight_decay)
        self.initial_accumulator_value, self.epsilon = float(initial_accumulator_value), float(epsilon)

    def init_state(self, param: Array) -> dict[str, Array]:
        return {"sum": np.full_like(param, self.initial_accumulator_value)}

    def update(self, param: Array, grad: Array, state: dict[str, Array], step: int) -> None:
        grad = self.l2(param, grad)
        state["sum"] += grad * grad
        std = np.sqrt(state["sum"]) + self.epsilon
        param += -self.lr * (grad / std)

    def hyperparameters(self) -> dict[str, Any]:
        return {
            **super().hyperparameters(),
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }


OPTIMIZERS: dict[str, type[Optimizer]] = {cls.name: cls for cls in (SGD, Adam, AdamW, RMSprop, Adagrad)}


def build_optimizer(component: Component, params: Params) -> Optimizer:
    """The optimizer an `optimizer:` section names, over `params`; its config keys are the constructor's."""
    cls = OPTIMIZERS.get(component.name)
    if cls is None:
        raise NameResolutionError(f"the NumPy runtime has no optimizer `{component.name}`")
    return cls(params, **dict(component.config))
