"""Optimizers step for step against torch.optim, with schedules, and state save/load."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from training_helpers import component

from neural.errors import InvalidValueError
from neural.ir import Component
from neural.runtime.model import Model
from neural.runtime.tensor import Tensor
from neural.testing import analyse_snippet
from neural.training.losses import build_loss
from neural.training.optimizers import Optimizer, build_optimizer

SHAPES = [(3, 4), (4,), (2, 1, 3)]
STEPS = 10
TOLERANCE = {np.float64: (1e-10, 1e-12), np.float32: (1e-6, 1e-7)}

# (our Component, the torch.optim constructor with the same settings)
CASES: list[tuple[Component, Callable[[Any, list[Any]], Any]]] = [
    (component("SGD", learning_rate=0.1), lambda t, p: t.optim.SGD(p, lr=0.1)),
    (component("SGD", learning_rate=0.1, momentum=0.9), lambda t, p: t.optim.SGD(p, lr=0.1, momentum=0.9)),
    (
        component("SGD", learning_rate=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4),
        lambda t, p: t.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4),
    ),
    (component("Adam", learning_rate=0.01), lambda t, p: t.optim.Adam(p, lr=0.01, betas=(0.9, 0.999), eps=1e-8)),
    (
        component("Adam", learning_rate=0.02, beta_1=0.8, beta_2=0.99, epsilon=1e-6, weight_decay=0.01, amsgrad=True),
        lambda t, p: t.optim.Adam(p, lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01, amsgrad=True),
    ),
    (
        component("AdamW", learning_rate=0.01),
        lambda t, p: t.optim.AdamW(p, lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01),
    ),
    (
        component("AdamW", learning_rate=0.01, weight_decay=0.1, amsgrad=True),
        lambda t, p: t.optim.AdamW(p, lr=0.01, weight_decay=0.1, amsgrad=True),
    ),
    (component("RMSprop", learning_rate=0.01), lambda t, p: t.optim.RMSprop(p, lr=0.01, alpha=0.99, eps=1e-8)),
    (
        component("RMSprop", learning_rate=0.01, rho=0.9, momentum=0.9, epsilon=1e-7, centered=True, weight_decay=0.01),
        lambda t, p: t.optim.RMSprop(p, lr=0.01, alpha=0.9, momentum=0.9, eps=1e-7, centered=True, weight_decay=0.01),
    ),
    (component("Adagrad", learning_rate=0.1), lambda t, p: t.optim.Adagrad(p, lr=0.1, eps=1e-10)),
    (
        component("Adagrad", learning_rate=0.1, initial_accumulator_value=0.1, epsilon=1e-8, weight_decay=0.01),
        lambda t, p: t.optim.Adagrad(p, lr=0.1, initial_accumulator_value=0.1, eps=1e-8, weight_decay=0.01),
    ),
]
IDS = [f"{c.name}-{i}" for i, (c, _) in enumerate(CASES)]


def problem(dtype: Any, seed: int = 0, steps: int = STEPS) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    """Initial parameter values and one list of gradients per step."""
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)]
    return init, grads


def our_params(init: list[np.ndarray]) -> dict[str, Tensor]:
    return {f"p{i}": Tensor(a.copy(), requires_grad=True, name=f"p{i}") for i, a in enumerate(init)}


def set_grads(params: dict[str, Tensor], grads: list[np.ndarray]) -> None:
    for p, g in zip(params.values(), grads):
        p.grad = g.copy()


def compare_with_torch(
    torch: Any, ours: Optimizer, theirs: Any, tparams: list[Any], grads: list[list[np.ndarray]], scheduler: Any = None
) -> None:
    """Step both with the same gradients; parameters must agree after every step."""
    rtol, atol = TOLERANCE[next(iter(ours.params.values())).dtype.type]
    for step, step_grads in enumerate(grads):
        set_grads(ours.params, step_grads)
        ours.step()
        for p, g in zip(tparams, step_grads):
            p.grad = torch.tensor(g)
        theirs.step()
        if scheduler is not None:
            scheduler.step()
        for name, (mine, reference) in zip(ours.params, zip(ours.params.values(), tparams)):
            np.testing.assert_allclose(
                mine.data, reference.detach().numpy(), rtol=rtol, atol=atol, err_msg=f"{name} after step {step + 1}"
            )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("spec", "reference"), CASES, ids=IDS)
def test_steps_match_torch(torch: Any, spec: Component, reference: Callable[[Any, list[Any]], Any], dtype: Any) -> None:
    init, grads = problem(dtype)
    ours = build_optimizer(spec, our_params(init))
    tparams = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    compare_with_torch(torch, ours, reference(torch, tparams), tparams, grads)


def test_schedule_sets_the_rate_of_each_step(torch: Any) -> None:
    init, grads = problem(np.float64)
    spec = component("Adam", learning_rate=component("StepDecay", 0.05, step_size=3, gamma=0.5))
    ours = build_optimizer(spec, our_params(init))
    tparams = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    theirs = torch.optim.Adam(tparams, lr=0.05)
    compare_with_torch(
        torch, ours, theirs, tparams, grads, torch.optim.lr_scheduler.StepLR(theirs, step_size=3, gamma=0.5)
    )
    assert ours.lr == pytest.approx(0.05 * 0.5**3)


def test_one_cycle_drives_sgd_like_torch(torch: Any) -> None:
    init, grads = problem(np.float64)
    spec = component("SGD", learning_rate=component("OneCycle", 0.5, total_steps=STEPS), momentum=0.9)
    ours = build_optimizer(spec, our_params(init))
    tparams = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    theirs = torch.optim.SGD(tparams, lr=0.5, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(theirs, max_lr=0.5, total_steps=STEPS, cycle_momentum=False)
    compare_with_torch(torch, ours, theirs, tparams, grads, scheduler)


def test_parameters_without_gradients_are_skipped() -> None:
    init, grads = problem(np.float64)
    params = our_params(init)
    opt = build_optimizer(component("Adam", learning_rate=0.1), params)
    set_grads(params, grads[0])
    params["p1"].grad = None
    opt.step()
    np.testing.assert_array_equal(params["p1"].data, init[1])
    assert "p1" not in opt.state and opt.steps == {"p0": 1, "p2": 1}
    assert not np.array_equal(params["p0"].data, init[0])


@pytest.mark.parametrize(("spec", "reference"), CASES, ids=IDS)
def test_state_round_trip_resumes_exactly(spec: Component, reference: Any) -> None:
    init, grads = problem(np.float32)
    straight = build_optimizer(spec, our_params(init))
    for g in grads:
        set_grads(straight.params, g)
        straight.step()
    first = build_optimizer(spec, our_params(init))
    for g in grads[:4]:
        set_grads(first.params, g)
        first.step()
    scalars, arrays = first.state_dict()
    scalars = json.loads(json.dumps(scalars))  # must be JSON-able
    resumed = build_optimizer(spec, {n: Tensor(p.data.copy(), requires_grad=True) for n, p in first.params.items()})
    resumed.load_state_dict(scalars, arrays)
    for g in grads[4:]:
        set_grads(resumed.params, g)
        resumed.step()
    for a, b in zip(straight.params.values(), resumed.params.values()):
        np.testing.assert_array_equal(a.data, b.data)
    assert resumed.iterations == STEPS


def test_state_arrays_are_named_by_parameter_and_fit_safetensors(tmp_path: Any) -> None:
    from safetensors.numpy import load_file, save_file

    init, grads = problem(np.float32)
    opt = build_optimizer(component("Adam", amsgrad=True), our_params(init))
    set_grads(opt.params, grads[0])
    opt.step()
    scalars, arrays = opt.state_dict()
    assert set(arrays) == {f"p{i}/{b}" for i in range(3) for b in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")}
    assert scalars["name"] == "Adam" and scalars["iterations"] == 1 and scalars["steps"] == {"p0": 1, "p1": 1, "p2": 1}
    save_file(arrays, str(tmp_path / "state.safetensors"))
    loaded = load_file(str(tmp_path / "state.safetensors"))
    np.testing.assert_array_equal(loaded["p0/exp_avg"], arrays["p0/exp_avg"])


def test_loading_a_mismatched_state_is_an_error() -> None:
    init, _ = problem(np.float32)
    opt = build_optimizer(component("Adam"), our_params(init))
    with pytest.raises(InvalidValueError, match="Adam optimizer from the state of 'SGD'"):
        opt.load_state_dict({"name": "SGD", "iterations": 0}, {})
    with pytest.raises(InvalidValueError, match="unknown parameter `q`"):
        opt.load_state_dict({"name": "Adam", "iterations": 1}, {"q/exp_avg": np.zeros(3)})
    with pytest.raises(InvalidValueError, match="shape"):
        opt.load_state_dict({"name": "Adam", "iterations": 1}, {"p1/exp_avg": np.zeros(3)})


def test_nesterov_needs_momentum() -> None:
    with pytest.raises(InvalidValueError, match="momentum"):
        build_optimizer(component("SGD", nesterov=True), our_params(problem(np.float32)[0]))


def test_training_a_model_lowers_its_loss() -> None:
    model = Model(analyse_snippet('Dense(8, activation="tanh")\nDense(3)', (4,)), dtype=np.float32, seed=0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0).astype(int)
    loss = build_loss(component("sparse_categorical_crossentropy", from_logits=True))
    opt = build_optimizer(component("Adam", learning_rate=0.05), dict(model.named_parameters()))
    values = []
    for _ in range(30):
        model.zero_grad()
        value = loss(model(x, training=True), y)  # type: ignore[arg-type]
        value.backward()
        opt.step()
        values.append(float(value.data))
    assert values[-1] < 0.5 * values[0]
