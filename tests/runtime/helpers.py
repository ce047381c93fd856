"""Test helpers for runtime kernels: single-layer models, random data, PyTorch comparison."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from neural.layers.base import Shape
from neural.runtime.gradcheck import Pass, assert_close, run_pass
from neural.runtime.model import Model
from neural.testing import analyse_snippet

FORWARD_RTOL = 1e-5
GRAD_RTOL = 1e-4


def model_for(
    layers: str, *shapes: Shape, dtype: Any = np.float32, seed: int = 0, layout: str = "channels_last"
) -> Model:
    """A model of the DSL statements `layers` on inputs of the given shapes (named `input`, or a, b, ...)."""
    return Model(analyse_snippet(layers, *shapes, layout=layout), dtype=dtype, seed=seed)


def random_inputs(
    model: Model, batch: int = 2, seed: int = 1, int_high: int = 10, fill: Mapping[int | None, int] | None = None
) -> dict[str, np.ndarray]:
    """Random inputs for every network input; unknown sizes become 5 (or `fill[None]`)."""
    rng = np.random.default_rng(seed)
    found = {}
    for spec in model.network.inputs:
        shape = (batch, *((d if d is not None else (fill or {}).get(None, 5)) for d in spec.shape))
        if spec.dtype == "int64":
            found[spec.name] = rng.integers(0, int_high, size=shape)
        else:
            found[spec.name] = rng.standard_normal(shape).astype(model.dtype)
    return found


def torch_pass(
    module: Any,
    inputs: Sequence[np.ndarray],
    upstream: Sequence[np.ndarray],
    forward: Callable[..., Any] | None = None,
) -> Pass:
    """The same pass in PyTorch: inputs as given (already in torch's layout), grads of every parameter."""
    import torch

    tensors = [torch.tensor(x, requires_grad=bool(np.issubdtype(x.dtype, np.floating))) for x in inputs]
    result = (forward or module)(*tensors)
    outputs = list(result) if isinstance(result, (tuple, list)) else [result]
    total = sum((o * torch.tensor(u, dtype=o.dtype)).sum() for o, u in zip(outputs, upstream))
    total.backward()  # type: ignore[union-attr]
    return Pass(
        outputs=[o.detach().numpy() for o in outputs],
        input_grads={str(i): t.grad.numpy() for i, t in enumerate(tensors) if t.grad is not None},
        param_grads={n: p.grad.numpy() for n, p in module.named_parameters() if p.grad is not None},
    )


def load_into_torch(
    module: Any,
    model: Model,
    node: str,
    rename: Mapping[str, str] | None = None,
    transform: Mapping[str, Callable[[np.ndarray], np.ndarray]] | None = None,
) -> None:
    """Copy one node's weights into a torch module (names mapped by `rename`, values by `transform`)."""
    import torch

    state = {}
    for full, value in model.state_dict().items():
        if not full.startswith(node + "."):
            continue
        local = full[len(node) + 1 :]
        name = (rename or {}).get(local, local)
        fn = (transform or {}).get(local)
        state[name] = torch.tensor(fn(value) if fn else value)
    missing, unexpected = module.load_state_dict(state, strict=False)
    trainable = {n for n, _ in module.named_parameters()}
    assert not (set(missing) & trainable), f"torch parameters not loaded: {set(missing) & trainable}"
    assert not unexpected, f"unexpected torch names: {unexpected}"


def compare_passes(
    ours: Pass,
    theirs: Pass,
    *,
    param_names: Mapping[str, str],
    input_map: Mapping[str, str],
    output_transform: Callable[[np.ndarray], np.ndarray] | None = None,
    input_grad_transform: Callable[[np.ndarray], np.ndarray] | None = None,
    grad_transform: Mapping[str, Callable[[np.ndarray], np.ndarray]] | None = None,
) -> None:
    """Forward outputs within 1e-5 relative, every gradient within 1e-4 (see the issue's tolerances)."""
    for i, (a, b) in enumerate(zip(ours.outputs, theirs.outputs)):
        assert_close(a, output_transform(b) if output_transform else b, FORWARD_RTOL, f"output {i}")
    for ours_name, torch_index in input_map.items():
        theirs_grad = theirs.input_grads[torch_index]
        assert_close(
            ours.input_grads[ours_name],
            input_grad_transform(theirs_grad) if input_grad_transform else theirs_grad,
            GRAD_RTOL,
            f"gradient of input {ours_name}",
        )
    for ours_name, torch_name in param_names.items():
        theirs_grad = theirs.param_grads[torch_name]
        fn = (grad_transform or {}).get(ours_name)
        assert_close(
            ours.param_grads[ours_name], fn(theirs_grad) if fn else theirs_grad, GRAD_RTOL, f"gradient of {ours_name}"
        )


def ours_pass(
    model: Model, inputs: Mapping[str, np.ndarray], seed: int = 3, training: bool = False
) -> tuple[Pass, list[np.ndarray]]:
    """Our pass with a random upstream gradient; returns the pass and the upstream used."""
    rng = np.random.default_rng(seed)
    probe = model(dict(inputs), training=training)
    outs = list(probe) if isinstance(probe, tuple) else [probe]
    upstream = [rng.standard_normal(o.shape).astype(model.dtype) for o in outs]
    return run_pass(model, inputs, upstream, training=training), upstream


def nhwc_to_nchw(x: np.ndarray) -> np.ndarray:
    """Channels-last batch -> channels-first batch (any spatial rank)."""
    return np.ascontiguousarray(np.moveaxis(x, -1, 1))


def nchw_to_nhwc(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(x, 1, -1))
