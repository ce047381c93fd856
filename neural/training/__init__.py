"""Training on the NumPy runtime: the pieces a training loop is built from.

Each module has one concern and builds its objects from the validated `Component`s of the IR
(`network.loss`, `network.optimizer`, `network.metrics`, `network.train.early_stopping`):

- `losses`      `build_loss(component)` -> `(pred Tensor, target array) -> scalar Tensor`:
                categorical / sparse categorical / binary cross-entropy (probabilities clipped as in
                Keras, or stable from logits; label smoothing), MSE, MAE, Huber. Mean over the batch.
- `metrics`     `build_metric(component, loss=...)` -> streaming `update(pred, target)`, `result()`,
                `reset()`: accuracy (binary, categorical or sparse from the shapes), top-k accuracy,
                precision, recall, F1 (binary, or macro-averaged over classes), MAE, MSE.
- `optimizers`  `build_optimizer(component, params)`: SGD, Adam, AdamW, RMSprop, Adagrad with
                PyTorch's update rules; `state_dict()` -> (JSON-able scalars, arrays by parameter).
- `schedules`   `build_schedule(component or number)` -> `lr(step)` (and `on_epoch_end(metric)` for
                ReduceOnPlateau): ExponentialDecay, StepDecay, CosineDecay (with linear warm-up),
                OneCycle, ReduceOnPlateau; JSON-able state.
- `clipping`    `clip_grad_norm` (torch's clip_grad_norm_) and `clip_grad_value`.
- `callbacks`   `EarlyStopping` (monitor, mode, patience, min_delta, best-weights restore).

Run bookkeeping lives beside them: `checkpoint` (atomic safetensors checkpoints), `rundir` (the run
directory), `events` (progress reporting protocol) and `memory` (memory estimate before training).

Nothing here prints; everything works in float32 and float64.
"""

from neural.training.callbacks import EarlyStopping, build_early_stopping
from neural.training.clipping import clip_grad_norm, clip_grad_value
from neural.training.losses import Loss, build_loss
from neural.training.metrics import Metric, build_metric, build_metrics
from neural.training.optimizers import Optimizer, build_optimizer
from neural.training.schedules import Schedule, build_schedule

__all__ = [
    "EarlyStopping",
    "Loss",
    "Metric",
    "Optimizer",
    "Schedule",
    "build_early_stopping",
    "build_loss",
    "build_metric",
    "build_metrics",
    "build_optimizer",
    "build_schedule",
    "clip_grad_norm",
    "clip_grad_value",
]
