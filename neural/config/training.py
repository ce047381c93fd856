"""Losses, optimizers, learning-rate schedules, metrics, callbacks and the train/execution sections.

Each is a `ComponentSpec`: canonical name, aliases (Keras class names, snake_case, short forms) and
an argument schema. Defaults follow PyTorch where frameworks differ; backends pass every value
explicitly so the same file trains the same way everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from neural.config.args import Arg, ArgTypeError, Bool, Choice, Custom, Float, Int, OneOf, Optional_, Str
from neural.config.values import CallValue, SymbolValue
from neural.errors import did_you_mean


@dataclass(frozen=True)
class ComponentSpec:
    name: str
    category: str
    schema: tuple[Arg, ...]
    aliases: tuple[str, ...] = ()
    doc: str = ""


def _index(specs: Sequence[ComponentSpec]) -> dict[str, ComponentSpec]:
    table: dict[str, ComponentSpec] = {}
    for spec in specs:
        for name in (spec.name, *spec.aliases):
            table[_norm(name)] = spec
    return table


def _norm(name: str) -> str:
    return name.lower().replace("_", "")


POSITIVE = Float(min=0.0, min_open=True)
UNIT = Float(min=0.0, max=1.0)
NON_NEGATIVE = Float(min=0.0)

_FROM_LOGITS = Arg("from_logits", Bool(), False, doc="predictions are logits, not probabilities")
_SMOOTHING = Arg("label_smoothing", Float(min=0.0, max=1.0, max_open=True), 0.0, doc="label smoothing factor")

LOSSES = (
    ComponentSpec(
        "categorical_crossentropy",
        "loss",
        (_FROM_LOGITS, _SMOOTHING),
        ("CategoricalCrossentropy", "cce", "crossentropy"),
        "one-hot targets",
    ),
    ComponentSpec(
        "sparse_categorical_crossentropy",
        "loss",
        (_FROM_LOGITS, _SMOOTHING),
        ("SparseCategoricalCrossentropy", "scce", "cross_entropy", "CrossEntropyLoss", "nll"),
        "integer class targets",
    ),
    ComponentSpec(
        "binary_crossentropy",
        "loss",
        (_FROM_LOGITS, _SMOOTHING),
        ("BinaryCrossentropy", "bce", "BCELoss"),
        "0/1 targets",
    ),
    ComponentSpec("mean_squared_error", "loss", (), ("mse", "MeanSquaredError", "MSELoss"), "regression"),
    ComponentSpec("mean_absolute_error", "loss", (), ("mae", "MeanAbsoluteError", "L1Loss"), "regression"),
    ComponentSpec(
        "huber",
        "loss",
        (Arg("delta", POSITIVE, 1.0, positional=True),),
        ("Huber", "huber_loss", "HuberLoss", "smooth_l1"),
        "regression",
    ),
)

_WARMUP = Arg("warmup_steps", Int(min=0), 0, doc="linear warm-up from 0 over this many steps first")

SCHEDULES = (
    ComponentSpec(
        "ExponentialDecay",
        "schedule",
        (
            Arg("initial_learning_rate", POSITIVE, positional=True),
            Arg("decay_steps", Int(min=1), positional=True),
            Arg("decay_rate", POSITIVE, positional=True),
            Arg("staircase", Bool(), False),
            _WARMUP,
        ),
        ("exponential_decay", "ExponentialLR"),
        "lr * decay_rate ** (step / decay_steps)",
    ),
    ComponentSpec(
        "StepDecay",
        "schedule",
        (
            Arg("initial_learning_rate", POSITIVE, positional=True),
            Arg("step_size", Int(min=1), positional=True, aliases=("decay_steps",)),
            Arg("gamma", POSITIVE, 0.1, positional=True, aliases=("decay_rate",)),
            _WARMUP,
        ),
        ("step_decay", "StepLR"),
        "lr * gamma ** (step // step_size)",
    ),
    ComponentSpec(
        "CosineDecay",
        "schedule",
        (
            Arg("initial_learning_rate", POSITIVE, positional=True),
            Arg("decay_steps", Int(min=1), positional=True),
            Arg("alpha", UNIT, 0.0, positional=True, doc="final lr as a fraction of the initial one"),
            _WARMUP,
        ),
        ("cosine_decay", "CosineAnnealingLR", "WarmupCosine"),
        "cosine from lr to alpha * lr over decay_steps (after warm-up)",
    ),
    ComponentSpec(
        "OneCycle",
        "schedule",
        (
            Arg("max_learning_rate", POSITIVE, positional=True, aliases=("max_lr",)),
            Arg("total_steps", Int(min=1), positional=True),
            Arg("pct_start", Float(min=0.0, max=1.0, min_open=True, max_open=True), 0.3),
            Arg("div_factor", POSITIVE, 25.0),
            Arg("final_div_factor", POSITIVE, 1e4),
        ),
        ("one_cycle", "OneCycleLR"),
        "torch.optim.lr_scheduler.OneCycleLR with cosine annealing",
    ),
    ComponentSpec(
        "ReduceOnPlateau",
        "schedule",
        (
            Arg("initial_learning_rate", POSITIVE, positional=True),
            Arg("monitor", Str(), "val_loss"),
            Arg("factor", Float(min=0.0, max=1.0, min_open=True, max_open=True), 0.1),
            Arg("patience", Int(min=0), 10),
            Arg("min_lr", NON_NEGATIVE, 0.0),
            Arg("mode", Choice(("auto", "min", "max")), "auto"),
        ),
        ("ReduceLROnPlateau", "reduce_on_plateau"),
        "multiply lr by factor after `patience` epochs without improvement (per epoch)",
    ),
)
_SCHEDULE_TABLE = _index(SCHEDULES)


def _learning_rate(value: Any) -> Any:
    if isinstance(value, CallValue) and _norm(value.func) in _SCHEDULE_TABLE:
        return value  # bound later by the resolver (it knows spans and HPO labels)
    if isinstance(value, CallValue):
        raise ArgTypeError(
            "a positive number or a schedule",
            detail=did_you_mean(value.func, [s.name for s in SCHEDULES])
            or "schedules: " + ", ".join(s.name for s in SCHEDULES),
        )
    return POSITIVE.convert(value)


def learning_rate_arg(default: float) -> Arg:
    return Arg(
        "learning_rate",
        Custom("a positive number or a schedule such as ExponentialDecay(...)", _learning_rate),
        default,
        positional=True,
        aliases=("lr",),
    )


_WEIGHT_DECAY = Arg("weight_decay", NON_NEGATIVE, 0.0)

OPTIMIZERS = (
    ComponentSpec(
        "SGD",
        "optimizer",
        (
            learning_rate_arg(0.01),
            Arg("momentum", Float(min=0.0, max=1.0, max_open=True), 0.0),
            Arg("nesterov", Bool(), False),
            _WEIGHT_DECAY,
        ),
        ("sgd",),
    ),
    ComponentSpec(
        "Adam",
        "optimizer",
        (
            learning_rate_arg(0.001),
            Arg("beta_1", Float(0.0, 1.0, max_open=True), 0.9, aliases=("beta1",)),
            Arg("beta_2", Float(0.0, 1.0, max_open=True), 0.999, aliases=("beta2",)),
            Arg("epsilon", POSITIVE, 1e-8, aliases=("eps",)),
            _WEIGHT_DECAY,
            Arg("amsgrad", Bool(), False),
        ),
        ("adam",),
    ),
    ComponentSpec(
        "AdamW",
        "optimizer",
        (
            learning_rate_arg(0.001),
            Arg("beta_1", Float(0.0, 1.0, max_open=True), 0.9, aliases=("beta1",)),
            Arg("beta_2", Float(0.0, 1.0, max_open=True), 0.999, aliases=("beta2",)),
            Arg("epsilon", POSITIVE, 1e-8, aliases=("eps",)),
            Arg("weight_decay", NON_NEGATIVE, 0.01),
            Arg("amsgrad", Bool(), False),
        ),
        ("adamw",),
    ),
    ComponentSpec(
        "RMSprop",
        "optimizer",
        (
            learning_rate_arg(0.01),
            Arg("rho", Float(0.0, 1.0, max_open=True), 0.99, aliases=("alpha",)),
            Arg("momentum", Float(min=0.0, max=1.0, max_open=True), 0.0),
            Arg("epsilon", POSITIVE, 1e-8, aliases=("eps",)),
            Arg("centered", Bool(), False),
            _WEIGHT_DECAY,
        ),
        ("rmsprop",),
    ),
    ComponentSpec(
        "Adagrad",
        "optimizer",
        (
            learning_rate_arg(0.01),
            Arg("initial_accumulator_value", NON_NEGATIVE, 0.0),
            Arg("epsilon", POSITIVE, 1e-10, aliases=("eps",)),
            _WEIGHT_DECAY,
        ),
        ("adagrad",),
    ),
)

METRICS = (
    ComponentSpec(
        "accuracy",
        "metric",
        (),
        ("acc", "Accuracy", "categorical_accuracy", "sparse_categorical_accuracy", "binary_accuracy"),
    ),
    ComponentSpec(
        "top_k_accuracy",
        "metric",
        (Arg("k", Int(min=1), 5, positional=True),),
        ("TopKAccuracy", "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy"),
    ),
    ComponentSpec("precision", "metric", (), ("Precision",)),
    ComponentSpec("recall", "metric", (), ("Recall",)),
    ComponentSpec("f1", "metric", (), ("f1_score", "F1Score")),
    ComponentSpec("mae", "metric", (), ("mean_absolute_error", "MeanAbsoluteError")),
    ComponentSpec("mse", "metric", (), ("mean_squared_error", "MeanSquaredError")),
)

EARLY_STOPPING = ComponentSpec(
    "EarlyStopping",
    "callback",
    (
        Arg("monitor", Str(), "val_loss", positional=True),
        Arg("patience", Int(min=0), 5, positional=True),
        Arg("min_delta", NON_NEGATIVE, 0.0),
        Arg("mode", Choice(("auto", "min", "max")), "auto"),
        Arg("restore_best_weights", Bool(), True),
    ),
    ("early_stopping",),
)

_DEVICE_RE = re.compile(r"^(auto|cpu|mps|(cuda|gpu)(:\d+)?)$")


def normalize_device(value: Any) -> str:
    """ "auto", "cpu", "mps", "cuda" or "cuda:N" ("gpu" is accepted for "cuda")."""
    if isinstance(value, SymbolValue):
        value = value.name
    if not isinstance(value, str) or not _DEVICE_RE.match(value.strip().lower()):
        raise ArgTypeError(
            '"auto", "cpu", "cuda", "cuda:N" or "mps"', detail=did_you_mean(str(value), ["auto", "cpu", "cuda", "mps"])
        )
    return value.strip().lower().replace("gpu", "cuda")


DEVICE = Custom('"auto", "cpu", "cuda", "cuda:N" or "mps"', normalize_device)


def _early_stopping(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value or None
    if isinstance(value, CallValue) and _norm(value.func) == _norm("EarlyStopping"):
        return value  # bound by the resolver
    raise ArgTypeError("true, false or EarlyStopping(monitor=..., patience=...)")


TRAIN_SCHEMA = (
    Arg("epochs", Int(min=1), 10, doc="passes over the training data"),
    Arg("batch_size", Int(min=1), 32, doc="samples per step"),
    Arg(
        "validation_split",
        Float(0.0, 1.0, max_open=True),
        0.0,
        aliases=("val_split",),
        doc="fraction held out for validation",
    ),
    Arg("test_split", Float(0.0, 1.0, max_open=True), 0.0, doc="fraction held out for a final test"),
    Arg("shuffle", Bool(), True, doc="reshuffle training data every epoch"),
    Arg("seed", Optional_(Int(min=0)), None, doc="random seed (weights, shuffling, dropout)"),
    Arg(
        "early_stopping",
        Custom("true or EarlyStopping(...)", _early_stopping),
        None,
        doc="stop when a metric stops improving",
    ),
    Arg(
        "clip_norm",
        Optional_(POSITIVE),
        None,
        aliases=("clipnorm", "gradient_clip_norm", "gradient_clip", "max_grad_norm"),
        doc="clip the global gradient norm",
    ),
    Arg(
        "clip_value",
        Optional_(POSITIVE),
        None,
        aliases=("clipvalue", "gradient_clip_value"),
        doc="clip each gradient element",
    ),
    Arg("data", Optional_(Str("a dataset name or path")), None, aliases=("dataset",), doc="dataset name or path"),
    Arg("checkpoint_every", Int(min=1), 1, doc="epochs between checkpoints"),
    Arg(
        "search_method",
        Choice(("random", "grid", "bayesian", "tpe"), {"optuna": "tpe"}),
        "tpe",
        doc="hyperparameter search strategy",
    ),
    Arg("trials", Int(min=1), 20, aliases=("n_trials",), doc="hyperparameter search trials"),
)
TRAIN_HPO_LIST_KEYS = frozenset({"epochs", "batch_size", "validation_split", "clip_norm", "clip_value"})

EXECUTION_SCHEMA = (
    Arg("device", DEVICE, "auto", doc='"auto", "cpu", "cuda", "cuda:N" or "mps"'),
    Arg(
        "precision",
        Choice(
            ("float32", "float64", "mixed"),
            {"fp32": "float32", "fp64": "float64", "amp": "mixed", "fp16": "mixed", "bf16": "mixed"},
        ),
        "float32",
        aliases=("dtype",),
    ),
    Arg(
        "devices",
        OneOf((Int(min=1), Choice(("auto",)))),
        1,
        aliases=("gpus", "nproc"),
        doc="processes/devices for data parallel training",
    ),
    Arg("compile", Bool(), False, doc="compile the model (torch.compile / jit)"),
)

LOSS_TABLE = _index(LOSSES)
OPTIMIZER_TABLE = _index(OPTIMIZERS)
SCHEDULE_TABLE = _SCHEDULE_TABLE
METRIC_TABLE = _index(METRICS)
CALLBACK_TABLE = _index((EARLY_STOPPING,))


def find_component(table: dict[str, ComponentSpec], name: str) -> ComponentSpec | None:
    return table.get(_norm(name))


def component_names(specs: Sequence[ComponentSpec]) -> list[str]:
    return [n for s in specs for n in (s.name, *s.aliases)]
