"""A runnable model on the NumPy runtime, built from an analysed network."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from neural.errors import BackendError
from neural.layers.base import LayerContext
from neural.runtime.init import initialize
from neural.runtime.kernels import Call, get_kernel
from neural.runtime.tensor import Tensor, parameter
from neural.shapes.engine import ShapedNetwork


class Model:
    """Weights, state and a forward pass for one network.

    Weights are named `<node>.<weight>` with PyTorch's names and layouts (the checkpoint format
    shared by every backend). `forward` takes one array per network input (batch axis first, in
    the network's declared layout) and returns the output tensor(s).
    """

    def __init__(self, shaped: ShapedNetwork, *, dtype: Any = np.float32, seed: int = 0) -> None:
        self.shaped = shaped
        self.network = shaped.network
        self.dtype = np.dtype(dtype)
        self.ctx = LayerContext(self.network.layout)
        self.rng = np.random.default_rng(seed)
        self.kernels = {layer.node.name: get_kernel(layer.node) for layer in shaped.layers}
        self.layer_params: dict[str, dict[str, Tensor]] = {}
        self.layer_state: dict[str, dict[str, np.ndarray]] = {}
        init_rng = np.random.default_rng(seed)
        for layer in shaped.layers:
            values = initialize(layer, init_rng, self.dtype)
            name = layer.node.name
            self.layer_params[name] = {
                local: parameter(values[local], f"{name}.{local}") for local, w in layer.weights.items() if w.trainable
            }
            self.layer_state[name] = {local: values[local] for local, w in layer.weights.items() if not w.trainable}
        self.params: dict[str, Tensor] = {
            f"{node}.{local}": t for node, group in self.layer_params.items() for local, t in group.items()
        }

    @property
    def state(self) -> dict[str, np.ndarray]:
        """Non-trainable buffers (batch-norm running statistics) by full name."""
        return {f"{node}.{local}": a for node, group in self.layer_state.items() for local, a in group.items()}

    # --- weights ---
    def parameters(self) -> list[Tensor]:
        return list(self.params.values())

    def named_parameters(self) -> Iterator[tuple[str, Tensor]]:
        return iter(self.params.items())

    def state_dict(self) -> dict[str, np.ndarray]:
        """Every weight and state buffer by full name (copies)."""
        found = {name: p.data.copy() for name, p in self.params.items()}
        found.update({name: s.copy() for name, s in self.state.items()})
        return found

    def load_state_dict(self, values: Mapping[str, np.ndarray], *, strict: bool = True) -> None:
        """Replace weights; shapes must match; with `strict`, names must match exactly."""
        expected = set(self.params) | set(self.state)
        if strict:
            missing, unexpected = expected - set(values), set(values) - expected
            if missing or unexpected:
                raise BackendError(
                    f"checkpoint does not match network `{self.network.name}`: "
                    f"missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}"
                )
        state = self.state
        for name, value in values.items():
            target = self.params[name].data if name in self.params else state.get(name)
            if target is None:
                continue
            if tuple(np.shape(value)) != target.shape:
                raise BackendError(
                    f"weight {name} has shape {tuple(np.shape(value))}, the network needs {target.shape}"
                )
            target[...] = np.asarray(value, dtype=self.dtype)

    def zero_grad(self) -> None:
        for p in self.params.values():
            p.grad = None

    # --- forward ---
    def __call__(self, inputs: Mapping[str, Any] | Any, *, training: bool = False) -> Tensor | tuple[Tensor, ...]:
        return self.forward(inputs, training=training)

    def forward(self, inputs: Mapping[str, Any] | Any, *, training: bool = False) -> Tensor | tuple[Tensor, ...]:
        values = self._input_tensors(inputs)
        for layer in self.shaped.layers:
            node = layer.node
            call = Call(
                node=node,
                inputs=[values[ref.node][ref.index] for ref in node.inputs],
                params=self.layer_params[node.name],
                state=self.layer_state[node.name],
                training=training,
                rng=self.rng,
                ctx=self.ctx,
                input_shapes=layer.input_shapes,
                output_shapes=layer.output_shapes,
            )
            result = self.kernels[node.name](call)
            values[node.name] = result if isinstance(result, tuple) else (result,)
        outputs = tuple(values[ref.node][ref.index] for ref in self.network.outputs)
        return outputs[0] if len(outputs) == 1 else outputs

    def _input_tensors(self, inputs: Mapping[str, Any] | Any) -> dict[str, tuple[Tensor, ...]]:
        specs = self.network.inputs
        if not isinstance(inputs, Mapping):
            if len(specs) != 1:
                raise BackendError(f"network `{self.network.name}` has {len(specs)} inputs; pass a dict by name")
            inputs = {specs[0].name: inputs}
        values: dict[str, tuple[Tensor, ...]] = {}
        for spec in specs:
            if spec.name not in inputs:
                raise BackendError(f"missing input `{spec.name}`")
            raw = inputs[spec.name]
            data = raw.data if isinstance(raw, Tensor) else np.asarray(raw)
            data = data.astype(np.int64) if spec.dtype == "int64" else data.astype(self.dtype, copy=False)
            expected = spec.shape
            actual = data.shape[1:]
            if len(actual) != len(expected) or any(e is not None and e != a for e, a in zip(expected, actual)):
                raise BackendError(f"input `{spec.name}` expects samples of shape {expected}, received {actual}")
            values[spec.name] = (raw if isinstance(raw, Tensor) else Tensor(data),)
        return values
