"""PyTorch emitters: core layers."""

from __future__ import annotations

from neural.targets.pytorch.emit import EmitContext, LayerCode, call, emitter, single
from neural.targets.pytorch.emitters.common import fused_activation, prelu_init


@emitter("Dense", "Output")
def dense(e: EmitContext) -> LayerCode:
    cfg = e.config
    features = e.in_shape[-1]
    return LayerCode(
        module=call("nn.Linear", features, cfg.units, **({} if cfg.use_bias else {"bias": False})),
        forward=lambda inputs, m: fused_activation(e, f"{m}({inputs[0]})", m, "lang"),
        needs="lang",
        produces="lang",
        init_after=prelu_init(e),
    )


@emitter("Identity")
def identity(e: EmitContext) -> LayerCode:
    return LayerCode(forward=single(lambda x: x))


@emitter("Flatten")
def flatten(e: EmitContext) -> LayerCode:
    return LayerCode(forward=single(lambda x: f"torch.flatten({x}, 1)"), needs="lang", produces="lang")


@emitter("Reshape")
def reshape(e: EmitContext) -> LayerCode:
    target = tuple(e.config.target_shape)
    return LayerCode(forward=single(lambda x: f"{x}.reshape({x}.shape[0], *{target!r})"), needs="lang", produces="lang")


@emitter("Permute")
def permute(e: EmitContext) -> LayerCode:
    dims = (0, *e.config.dims)
    return LayerCode(forward=single(lambda x: f"{x}.permute{dims!r}"), needs="lang", produces="lang")


@emitter("RepeatVector")
def repeat_vector(e: EmitContext) -> LayerCode:
    n = e.config.n
    return LayerCode(forward=single(lambda x: f"{x}.unsqueeze(1).expand(-1, {n!r}, -1)"), needs="lang", produces="lang")


@emitter("Embedding")
def embedding(e: EmitContext) -> LayerCode:
    cfg = e.config
    extra = {} if cfg.padding_idx is None else {"padding_idx": cfg.padding_idx}
    return LayerCode(
        module=call("nn.Embedding", cfg.input_dim, cfg.output_dim, **extra),
        forward=lambda inputs, m: f"{m}({inputs[0]}.long())",
        needs="lang",
        produces="lang",
    )
