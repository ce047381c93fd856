"""Transformer components of the NumPy runtime against PyTorch CPU, side by side in one run, one thread each.

Sizes of the seed roadmap (d_model 512, 8 heads):
1. MultiHeadAttention forward (self-attention), batch 2, sequence 16 (target: within 1.3x); measured
   without gradient recording in both (torch.no_grad + eval, need_weights=False, which lets PyTorch
   take its fused inference path) and, for information, with gradient recording.
2. Sinusoidal PositionalEncoding forward, batch 2, sequence 16 (PyTorch: the tutorial's module).
3. LayerNormalization forward, batch 2, sequence 10.
4. Pre-norm residual block x + MHA(LN(x)) forward, batch 2, sequence 10.
5. TransformerEncoder layer forward + backward, batch 2, sequence 16, ff_dim 2048, training mode
   (target: within 2x), with dropout 0 and with PyTorch's default dropout 0.1.

Our side runs through `neural.runtime.model.Model` built from DSL text, as a user's network would.
Each measurement is the median of many runs after a warm-up; the two frameworks alternate run by
run so that load from other processes hits both alike. NumPy's BLAS is limited to one thread through
the environment, which must be set before NumPy loads: the script re-runs itself with it.

    .venv/bin/python benchmarks/bench_transformer.py [--runs N]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")
D_MODEL, HEADS, FF_DIM = 512, 8, 2048
Case = tuple[Callable[[], object], Callable[[], object]]


def single_threaded() -> bool:
    return all(os.environ.get(v) == "1" for v in THREAD_VARS)


def side_by_side(ours: Callable[[], object], theirs: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median seconds of each after a warm-up of each, alternating."""
    for _ in range(5):
        ours()
        theirs()
    a, b = [], []
    for _ in range(runs):
        start = time.perf_counter()
        ours()
        a.append(time.perf_counter() - start)
        start = time.perf_counter()
        theirs()
        b.append(time.perf_counter() - start)
    return statistics.median(a), statistics.median(b)


def model_of(layers: str, shape: tuple[int, ...]) -> Any:
    import numpy as np

    from neural.runtime.model import Model
    from neural.testing import analyse_snippet

    return Model(analyse_snippet(layers, shape), dtype=np.float32)


def torch_mha(model: Any, node: str, prefix: str = "") -> Any:
    """nn.MultiheadAttention holding the weights of our `node` (in_proj = cat(q, k, v))."""
    import numpy as np
    import torch

    module = torch.nn.MultiheadAttention(D_MODEL, HEADS, batch_first=True)
    p = {name: t.data for name, t in model.params.items()}
    base = f"{node}.{prefix}"
    with torch.no_grad():
        module.in_proj_weight.copy_(torch.tensor(np.concatenate([p[f"{base}{n}_proj.weight"] for n in "qkv"])))
        module.in_proj_bias.copy_(torch.tensor(np.concatenate([p[f"{base}{n}_proj.bias"] for n in "qkv"])))
        module.out_proj.weight.copy_(torch.tensor(p[f"{base}out_proj.weight"]))
        module.out_proj.bias.copy_(torch.tensor(p[f"{base}out_proj.bias"]))
    return module


def data(shape: tuple[int, ...]) -> Any:
    import numpy as np

    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


def mha_forward(record: bool) -> Case:
    import torch

    from neural.runtime.tensor import Tensor, no_grad

    model = model_of(f"MultiHeadAttention({HEADS})", (16, D_MODEL))
    module = torch_mha(model, "multi_head_attention_1")
    x = data((2, 16, D_MODEL))
    xt = torch.tensor(x, requires_grad=record)
    if record:
        module.train()
        inp = Tensor(x, requires_grad=True)
        return (lambda: model({"input": inp}), lambda: module(xt, xt, xt, need_weights=False))
    module.eval()

    def ours() -> object:
        with no_grad():
            return model({"input": x})

    def theirs() -> object:
        with torch.no_grad():
            return module(xt, xt, xt, need_weights=False)

    return ours, theirs


def positional_encoding() -> Case:
    import torch

    from neural.runtime.tensor import no_grad

    model = model_of("PositionalEncoding()", (16, D_MODEL))
    position = torch.arange(64).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, D_MODEL, 2) * (-math.log(10000.0) / D_MODEL))
    pe = torch.zeros(64, D_MODEL)
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    x = data((2, 16, D_MODEL))
    xt = torch.tensor(x)

    def ours() -> object:
        with no_grad():
            return model({"input": x})

    def theirs() -> object:
        with torch.no_grad():
            return xt + pe[: xt.size(1)]

    return ours, theirs


def layer_norm() -> Case:
    import torch

    from neural.runtime.tensor import no_grad

    model = model_of("LayerNormalization()", (10, D_MODEL))
    module = torch.nn.LayerNorm(D_MODEL)
    x = data((2, 10, D_MODEL))
    xt = torch.tensor(x)

    def ours() -> object:
        with no_grad():
            return model({"input": x})

    def theirs() -> object:
        with torch.no_grad():
            return module(xt)

    return ours, theirs


def pre_norm_residual() -> Case:
    import torch

    from neural.runtime.tensor import no_grad

    model = model_of(f"Residual {{\nLayerNormalization()\nMultiHeadAttention({HEADS})\n}}", (10, D_MODEL))
    attention = torch_mha(model, "multi_head_attention_1").eval()
    norm = torch.nn.LayerNorm(D_MODEL)
    x = data((2, 10, D_MODEL))
    xt = torch.tensor(x)

    def ours() -> object:
        with no_grad():
            return model({"input": x})

    def theirs() -> object:
        with torch.no_grad():
            h = norm(xt)
            return xt + attention(h, h, h, need_weights=False)[0]

    return ours, theirs


def encoder_train(rate: float) -> Case:
    import numpy as np
    import torch

    from neural.runtime.gradcheck import run_pass

    model = model_of(f"TransformerEncoder({HEADS}, {FF_DIM}, {rate})", (16, D_MODEL))
    module = torch.nn.TransformerEncoderLayer(D_MODEL, HEADS, FF_DIM, rate, batch_first=True)
    module.train()
    x = data((2, 16, D_MODEL))
    up = np.random.default_rng(1).standard_normal((2, 16, D_MODEL)).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    upt = torch.tensor(up)

    def ours() -> object:
        return run_pass(model, {"input": x}, [up], training=True)

    def theirs() -> object:
        module.zero_grad()
        xt.grad = None
        (module(xt) * upt).sum().backward()
        return None

    return ours, theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    if not single_threaded():
        env = {**os.environ, **dict.fromkeys(THREAD_VARS, "1")}
        raise SystemExit(subprocess.call([sys.executable, __file__, *sys.argv[1:]], env=env))
    import torch

    torch.set_num_threads(1)
    sys.path.insert(0, str(ROOT))
    print(f"one thread each; median of {args.runs} runs after a warm-up (torch {torch.__version__})")
    print(f"{'case':<52}{'numpy':>10}{'torch':>10}{'ratio':>8}{'target':>10}")
    cases: list[tuple[str, Callable[[], Case], float | None, int]] = [
        ("MHA forward b2 T16 d512 h8 (no grad)", lambda: mha_forward(False), 1.3, args.runs),
        ("MHA forward b2 T16 d512 h8 (recording grad)", lambda: mha_forward(True), None, args.runs),
        ("PositionalEncoding sinusoidal fwd b2 T16 d512", positional_encoding, None, args.runs),
        ("LayerNorm forward b2 T10 d512", layer_norm, None, args.runs),
        ("pre-norm residual x + MHA(LN(x)) fwd b2 T10 d512", pre_norm_residual, None, args.runs),
        ("TransformerEncoder fwd+bwd b2 T16 d512 ff2048 p=0", lambda: encoder_train(0.0), 2.0, max(20, args.runs // 3)),
        (
            "TransformerEncoder fwd+bwd b2 T16 d512 ff2048 p=0.1",
            lambda: encoder_train(0.1),
            2.0,
            max(20, args.runs // 3),
        ),
    ]
    for name, build, target, runs in cases:
        ours, theirs = side_by_side(*build(), runs)
        ratio = ours / theirs
        verdict = "-" if target is None else f"{target:g}x " + ("ok" if ratio <= target else "MISS")
        print(f"{name:<52}{ours * 1e6:>8.0f}us{theirs * 1e6:>8.0f}us{ratio:>7.2f}x{verdict:>10}")


if __name__ == "__main__":
    main()
