"""JAX emitters: core layers (nnx.Linear, nnx.Embed, reshapes)."""

from __future__ import annotations

from neural.targets.jax.emit import EmitContext, LayerCode, WeightSlot, call, emitter, linear_slots, single, with_rngs
from neural.targets.jax.emitters.common import fused_activation, prelu_extras, prelu_slots


@emitter("Dense", "Output")
def dense(e: EmitContext) -> LayerCode:
    cfg = e.config
    features = e.in_shape[-1]
    return LayerCode(
        module=with_rngs(call("nnx.Linear", features, cfg.units, **({} if cfg.use_bias else {"use_bias": False}))),
        extras=prelu_extras(e),
        forward=lambda inputs, m: fused_activation(e, f"{m}({inputs[0]})", m, "lang"),
        needs="lang",
        produces="lang",
        weights={**linear_slots(bias=cfg.use_bias), **prelu_slots(e)},
    )


@emitter("Identity")
def identity(e: EmitContext) -> LayerCode:
    return LayerCode(forward=single(lambda x: x))


@emitter("Flatten")
def flatten(e: EmitContext) -> LayerCode:
    features = e.out_shape[0]
    return LayerCode(forward=single(lambda x: f"{x}.reshape(-1, {features!r})"), needs="lang", produces="lang")


@emitter("Reshape")
def reshape(e: EmitContext) -> LayerCode:
    if all(d is not None for d in e.out_shape):  # the batch axis is the only one left to infer
        target = ", ".join(repr(d) for d in e.out_shape)
        return LayerCode(forward=single(lambda x: f"{x}.reshape(-1, {target})"), needs="lang", produces="lang")
    target = ", ".join(repr(d) for d in e.config.target_shape)
    return LayerCode(forward=single(lambda x: f"{x}.reshape({x}.shape[0], {target})"), needs="lang", produces="lang")


@emitter("Permute")
def permute(e: EmitContext) -> LayerCode:
    dims = (0, *e.config.dims)
    return LayerCode(forward=single(lambda x: f"jnp.transpose({x}, {dims!r})"), needs="lang", produces="lang")


@emitter("RepeatVector")
def repeat_vector(e: EmitContext) -> LayerCode:
    n = e.config.n
    return LayerCode(
        forward=single(lambda x: f"jnp.repeat({x}[:, None, :], {n!r}, axis=1)"), needs="lang", produces="lang"
    )


@emitter("Embedding")
def embedding(e: EmitContext) -> LayerCode:
    cfg = e.config
    padding = cfg.padding_idx

    def forward(inputs: list[str] | tuple[str, ...], m: str) -> str:
        if padding is None:
            return f"{m}({inputs[0]})"
        return f"embed_with_padding({m}, {inputs[0]}, {padding!r})"

    return LayerCode(
        module=with_rngs(call("nnx.Embed", cfg.input_dim, cfg.output_dim)),
        forward=forward,  # type: ignore[arg-type]
        needs="lang",
        produces="lang",
        helpers=("embed_with_padding",) if padding is not None else (),
        weights={"weight": WeightSlot(("embedding",), "same")},
    )
