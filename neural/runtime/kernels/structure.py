"""Kernels of the structural layers: TimeDistributed and SqueezeExcitation."""

from __future__ import annotations

from neural.errors import BackendError
from neural.ir import Node
from neural.layers.nested import NestedLayer
from neural.runtime import activations, ops
from neural.runtime.kernels import Call, get_kernel, kernel
from neural.runtime.tensor import Tensor


@kernel("TimeDistributed")
def time_distributed(call: Call) -> Tensor:
    """(N, T, *step) -> (N, T, *step_out): the inner layer's own kernel on the (N * T, *step) batch.

    The inner layer shares the wrapper's weights and state (same local names); the reshapes are views.
    """
    inner: NestedLayer = call.config.layer
    node = Node(
        name=call.node.name,
        kind=inner.kind,
        config=inner.config,
        inputs=call.node.inputs,
        span=inner.span if inner.span is not None else call.node.span,
        scope=call.node.scope,
        device=call.node.device,
    )
    x = call.x
    n, steps = x.shape[0], x.shape[1]
    flat = ops.reshape(x, (n * steps, *x.shape[2:]))
    inner_call = Call(
        node=node,
        inputs=[flat],
        params=call.params,
        state=call.state,
        training=call.training,
        rng=call.rng,
        ctx=call.ctx,
        input_shapes=tuple(s[1:] for s in call.input_shapes[:1]),
        output_shapes=tuple(s[1:] for s in call.output_shapes[:1]),
        extra=call.extra,
    )
    result = get_kernel(node)(inner_call)
    if isinstance(result, tuple):
        raise BackendError(
            f"TimeDistributed wraps a layer with one output; {inner.kind} gave {len(result)}", call.node.span
        )
    return ops.reshape(result, (n, steps, *result.shape[1:]))


@kernel("SqueezeExcitation")
def squeeze_excitation(call: Call) -> Tensor:
    """(N, *spatial, C) (or (N, C, *spatial) channels-first) -> same shape, as torchvision.ops.SqueezeExcitation.

    scale = gate(fc2(activation(fc1(mean over spatial axes)))); output = x * scale per channel.
    The 1x1 convolution weights (S, C, 1, ...) act as (S, C) matrices.
    """
    cfg = call.config
    p = call.params
    x = call.x
    channels_last = call.ctx.channels_last
    spatial = tuple(range(1, x.ndim - 1)) if channels_last else tuple(range(2, x.ndim))
    channels = x.shape[-1] if channels_last else x.shape[1]
    pooled = ops.mean(x, axis=spatial)
    w1, w2 = p["fc1.weight"], p["fc2.weight"]
    hidden = ops.linear(pooled, ops.reshape(w1, (w1.shape[0], w1.shape[1])), p["fc1.bias"])
    hidden = activations.apply(cfg.activation or "linear", hidden, weight=p.get("activation.weight"), channel_axis=-1)
    scale = ops.linear(hidden, ops.reshape(w2, (w2.shape[0], w2.shape[1])), p["fc2.bias"])
    scale = activations.apply(cfg.gate, scale)
    shape = [x.shape[0]] + [1] * (x.ndim - 1)
    shape[-1 if channels_last else 1] = channels
    return ops.mul(x, ops.reshape(scale, tuple(shape)))
