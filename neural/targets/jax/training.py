"""`neural train --backend jax`: the generated JAX module, trained in process by the shared loop.

The loop (neural/training/loop.py) is the same as for the NumPy runtime: progress, run directory,
metrics files, checkpoints and resume. This backend builds the model, loss, optax optimizer,
learning-rate schedule and the jit-compiled steps with the generated module's own functions, so
in-process training is what `python model.py` does (on one device). Weights cross in canonical names;
optimizer state uses the NumPy runtime's format (`<parameter>/<buffer>` arrays with PyTorch's buffer
names, in PyTorch layouts), so checkpoints move between the backends.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from neural.errors import NeuralError
from neural.shapes.engine import ShapedNetwork
from neural.targets.jax.load import import_network
from neural.training.backend import Batch, require_training_setup

# optax state fields -> PyTorch's optimizer buffer names, per optimizer
BUFFERS: dict[str, dict[str, str]] = {
    "SGD": {"trace": "momentum_buffer"},
    "Adam": {
        "mu": "exp_avg",
        "nu": "exp_avg_sq",
        "exp_avg": "exp_avg",
        "exp_avg_sq": "exp_avg_sq",
        "max_exp_avg_sq": "max_exp_avg_sq",
    },
    "RMSprop": {"nu": "square_avg", "mu": "grad_avg", "trace": "momentum_buffer"},
    "Adagrad": {"sum": "sum"},
}
BUFFERS["AdamW"] = BUFFERS["Adam"]


class JaxBackend:
    """Training through the generated JAX/Flax module."""

    name = "jax"

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
        if np.dtype(dtype) != np.float32:
            raise NeuralError("the JAX backend trains in float32; use --dtype float32 (or --backend numpy for float64)")
        self.shaped = shaped
        self.module: Any = import_network(shaped)
        m = self.module
        self.model: nnx.Module = m.build_model(nnx.Rngs(seed))
        tx = m.make_optimizer(m.OPTIMIZER, m.SCHEDULE, clip_norm, clip_value)
        self.optimizer = nnx.Optimizer(self.model, tx, wrt=nnx.Param)
        self.plateau = (
            m.make_plateau(m.SCHEDULE) if m.SCHEDULE is not None and m.SCHEDULE["name"] == "ReduceOnPlateau" else None
        )
        self.loss_fn = m.make_loss(m.LOSS)
        self.train_step, self.eval_step = m.make_steps(self.loss_fn)
        self.forward = nnx.jit(lambda model, inputs: model(*inputs))
        self.iterations = 0
        self.rate = m.make_schedule(m.SCHEDULE, m.OPTIMIZER)
        self.mode = ""
        self.last_lr: float | None = None  # the rate of the last step, computed when asked for
        self.table: dict[str, Any] = dict(m.WEIGHTS)
        self.paths = {tuple(path): name for name, (path, _, _) in self.table.items()}
        self.param_names = [name for name, w in self._weights_of_model().items() if w]

    def _weights_of_model(self) -> dict[str, bool]:
        """Canonical weight name -> trainable, for every weight of the network."""
        return {f"{layer.node.name}.{n}": w.trainable for layer in self.shaped.layers for n, w in layer.weights.items()}

    def _scheduled(self, step: int) -> float:
        if self.plateau is not None:
            return float(self.plateau.lr)
        return float(self.rate(step)) if callable(self.rate) else float(self.rate)

    def _switch(self, mode: str) -> None:
        """model.train() / model.eval() when the mode changes (each walks the whole module graph)."""
        if mode == self.mode:
            return
        if mode == "train":
            self.model.train()
        else:
            self.model.eval()
        self.mode = mode

    # --- steps ---
    def _inputs(self, x: Batch) -> tuple[jax.Array, ...]:
        return tuple(jnp.asarray(np.asarray(x[spec.name])) for spec in self.shaped.network.inputs)

    def train_batch(self, x: Batch, y: np.ndarray) -> tuple[float, np.ndarray]:
        self._switch("train")
        self.last_lr = self.plateau.lr if self.plateau is not None else None
        loss, pred = self.train_step(self.model, self.optimizer, self._inputs(x), jnp.asarray(np.asarray(y)))
        self.iterations += 1
        return float(loss), np.asarray(pred)

    def evaluate_batch(self, x: Batch, y: np.ndarray) -> tuple[float, np.ndarray]:
        self._switch("eval")
        loss, pred = self.eval_step(self.model, self._inputs(x), jnp.asarray(np.asarray(y)))
        return float(loss), np.asarray(pred)

    def predict(self, x: Batch) -> np.ndarray:
        self._switch("eval")
        return np.asarray(self.forward(self.model, self._inputs(x)))

    # --- state ---
    def weights(self) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = self.module.canonical_weights(self.model)
        return found

    def load_weights(self, weights: Mapping[str, np.ndarray]) -> None:
        self.module.load_canonical(self.model, {k: np.asarray(v) for k, v in weights.items()})

    def _optimizer_variables(self) -> list[tuple[tuple[Any, ...], Any]]:
        return list(nnx.to_flat_state(nnx.state(self.optimizer, nnx.OptState)))

    def _buffer(self, path: tuple[Any, ...]) -> tuple[str, str] | None:
        """(canonical parameter, PyTorch buffer name) of an optimizer variable, or None."""
        fields = BUFFERS[self.module.OPTIMIZER["name"]]
        for k, part in enumerate(path):
            if part in fields and tuple(path[k + 1 :]) in self.paths:
                return self.paths[tuple(path[k + 1 :])], fields[part]
        return None

    def optimizer_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays: dict[str, np.ndarray] = {}
        for path, variable in self._optimizer_variables():
            found = self._buffer(path)
            if found is None:
                continue
            name, buffer = found
            _, layout, shape = self.table[name]
            arrays[f"{name}/{buffer}"] = self.module.to_canonical_layout(
                np.asarray(variable[...]), layout, tuple(shape)
            )
        scalars = {
            "name": self.module.OPTIMIZER["name"],
            "iterations": self.iterations,
            "lr": self.learning_rate(),
            "steps": {name: self.iterations for name in self.param_names} if self.iterations else {},
            "schedule": self._schedule_state(),
        }
        return scalars, arrays

    def _schedule_state(self) -> dict[str, Any]:
        """The schedule's state as the NumPy runtime writes it (only ReduceOnPlateau has more than a name)."""
        schedule = self.module.SCHEDULE
        if schedule is None:
            return {"name": "constant"}
        if self.plateau is None:
            return {"name": schedule["name"]}
        best = self.plateau.best if math.isfinite(self.plateau.best) else None
        return {
            "name": "ReduceOnPlateau",
            "lr": self.plateau.lr,
            "best": best,
            "num_bad_epochs": self.plateau.bad_epochs,
            "last_epoch": self.plateau.last_epoch,
        }

    def load_optimizer_state(self, scalars: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        expected = self.module.OPTIMIZER["name"]
        if scalars.get("name") != expected:
            raise NeuralError(f"cannot resume a {expected} optimizer from the state of {scalars.get('name')!r}")
        iterations = int(scalars.get("iterations", 0))
        for path, variable in self._optimizer_variables():
            found = self._buffer(path)
            if found is not None:
                name, buffer = found
                key = f"{name}/{buffer}"
                if key in arrays:
                    current = variable[...]
                    _, layout, _ = self.table[name]
                    converted = self.module.to_state_layout(np.asarray(arrays[key]), layout, tuple(current.shape))
                    variable[...] = jnp.asarray(converted, dtype=current.dtype)
            elif path[-1] in ("count", "step"):
                variable[...] = jnp.asarray(iterations, dtype=variable[...].dtype)
        self.iterations = iterations
        schedule = scalars.get("schedule") or {}
        if self.plateau is not None and schedule.get("name") == "ReduceOnPlateau":
            self.plateau.lr = float(schedule["lr"])
            best = schedule.get("best")
            self.plateau.best = float(best) if best is not None else (math.inf if self.plateau.minimize else -math.inf)
            self.plateau.bad_epochs = int(schedule.get("num_bad_epochs", 0))
            self.plateau.last_epoch = int(schedule.get("last_epoch", 0))
            self.module.set_learning_rate(self.optimizer, self.plateau.lr)
        self.last_lr = float(scalars["lr"]) if "lr" in scalars else None

    def rng_state(self) -> dict[str, Any]:
        """The dropout streams (keys and counts) of every random layer, as JSON."""
        found: dict[str, Any] = {}
        for path, variable in nnx.to_flat_state(nnx.state(self.model, nnx.RngState)):
            value = variable[...]
            key = "/".join(str(p) for p in path)
            if jax.dtypes.issubdtype(value.dtype, jax.dtypes.prng_key):
                found[key] = np.asarray(jax.random.key_data(value)).tolist()
            else:
                found[key] = int(value)
        return {"jax": found}

    def set_rng_state(self, state: Mapping[str, Any]) -> None:
        saved = state.get("jax", {})
        for path, variable in nnx.to_flat_state(nnx.state(self.model, nnx.RngState)):
            key = "/".join(str(p) for p in path)
            if key not in saved:
                continue
            value = variable[...]
            if jax.dtypes.issubdtype(value.dtype, jax.dtypes.prng_key):
                variable[...] = jax.random.wrap_key_data(jnp.asarray(saved[key], dtype=jnp.uint32))
            else:
                variable[...] = jnp.asarray(saved[key], dtype=value.dtype)

    def learning_rate(self) -> float:
        """The rate of the last step (as the NumPy backend reports it)."""
        if self.last_lr is not None:
            return self.last_lr
        return self._scheduled(max(self.iterations - 1, 0))

    def on_epoch_end(self, monitored: float) -> None:
        if self.plateau is not None:
            self.module.set_learning_rate(self.optimizer, self.plateau.step(monitored))
