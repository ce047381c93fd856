"""Convolution speed of the NumPy runtime against PyTorch CPU, side by side in one run, one thread each.

1. Conv2D forward + backward: batch 32, 28x28x16 -> 32 filters 3x3 "same" (target: within 3x).
2. One epoch of the digits CNN (examples/digits_cnn.neural: two 3x3 convolutions, max pooling, dense
   layers) on 1,797 8x8 images, batch 32, softmax cross-entropy and plain SGD in both (target: within 3x).

Each measurement is the median of several runs after a warm-up; the two frameworks alternate run by
run so that load from other processes hits both alike. NumPy's BLAS is limited to one thread through
the environment, which must be set before NumPy loads: the script re-runs itself with it.

    .venv/bin/python benchmarks/bench_conv.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def single_threaded() -> bool:
    return all(os.environ.get(v) == "1" for v in THREAD_VARS)


def side_by_side(ours: Callable[[], object], theirs: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median seconds of each after one warm-up call of each, alternating."""
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


def conv2d_case(runs: int) -> tuple[float, float]:
    import numpy as np
    import torch

    from neural.runtime.model import Model
    from neural.runtime.tensor import Tensor
    from neural.testing import analyse_snippet

    model = Model(analyse_snippet('Conv2D(32, 3, padding="same")', (28, 28, 16)), dtype=np.float32)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 28, 28, 16)).astype(np.float32)
    up = rng.standard_normal((32, 28, 28, 32)).astype(np.float32)

    module = torch.nn.Conv2d(16, 32, 3, padding=1)
    xt = torch.tensor(np.moveaxis(x, -1, 1).copy(), requires_grad=True)
    upt = torch.tensor(np.moveaxis(up, -1, 1).copy())

    upstream = Tensor(up)

    def ours() -> None:
        model.zero_grad()
        inputs = Tensor(x, requires_grad=True)
        out = model({"input": inputs})
        assert isinstance(out, Tensor)
        (out * upstream).sum().backward()

    def theirs() -> None:
        module.zero_grad()
        xt.grad = None
        (module(xt) * upt).sum().backward()

    return side_by_side(ours, theirs, runs)


def digits() -> tuple[object, object]:
    """The scikit-learn digits (8x8, scaled to [0, 1]) or, without scikit-learn, random data of that shape."""
    import numpy as np

    try:
        from sklearn.datasets import load_digits

        data = load_digits()
        return (data.images / 16.0).astype(np.float32), data.target.astype(np.int64)
    except ImportError:
        rng = np.random.default_rng(0)
        return rng.random((1797, 8, 8)).astype(np.float32), rng.integers(0, 10, 1797)


def digits_epoch_case(runs: int) -> tuple[float, float]:
    import numpy as np
    import torch
    from torch import nn

    from neural.runtime import ops
    from neural.runtime.model import Model
    from neural.runtime.tensor import Tensor
    from neural.testing import analyse_snippet

    layers = (
        'Conv2D(32, 3, "relu", padding="same")\nConv2D(32, 3, "relu", padding="same")\nMaxPooling2D(2)\n'
        'Flatten()\nDense(64, "relu")\nDense(10)'
    )
    model = Model(analyse_snippet(layers, (8, 8, 1)), dtype=np.float32)
    images, labels = digits()
    x = images[..., None]
    batch, lr = 32, 0.01

    def ours() -> None:
        for start in range(0, len(x), batch):
            xb, yb = x[start : start + batch], labels[start : start + batch]
            model.zero_grad()
            logits = model({"input": xb}, training=True)
            assert isinstance(logits, Tensor)
            picked = ops.getitem(ops.log_softmax(logits, -1), (np.arange(len(yb)), yb))
            loss = ops.neg(ops.mean(picked))
            loss.backward()
            for p in model.parameters():
                assert p.grad is not None
                p.data -= lr * p.grad

    torch_model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 16, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )
    opt = torch.optim.SGD(torch_model.parameters(), lr=lr)
    xt = torch.tensor(np.moveaxis(x, -1, 1).copy())
    yt = torch.tensor(labels)
    loss_fn = nn.CrossEntropyLoss()

    def theirs() -> None:
        for start in range(0, len(xt), batch):
            opt.zero_grad()
            loss_fn(torch_model(xt[start : start + batch]), yt[start : start + batch]).backward()
            opt.step()

    return side_by_side(ours, theirs, runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    if not single_threaded():
        env = {**os.environ, **dict.fromkeys(THREAD_VARS, "1")}
        raise SystemExit(subprocess.call([sys.executable, __file__, *sys.argv[1:]], env=env))
    import torch

    torch.set_num_threads(1)
    sys.path.insert(0, str(ROOT))
    print(f"one thread each; median of {args.runs} runs after a warm-up (torch {torch.__version__})")
    print(f"{'case':<44}{'numpy':>11}{'torch':>11}{'ratio':>8}{'target':>8}")
    cases = [
        ("Conv2D fwd+bwd 32x28x28x16 -> 32, 3x3 same", conv2d_case, args.runs),
        ("digits CNN, one epoch (1797 images, b=32)", digits_epoch_case, max(3, args.runs // 3)),
    ]
    for name, case, runs in cases:
        ours, theirs = case(runs)
        ratio = ours / theirs
        verdict = "ok" if ratio <= 3.0 else "MISS"
        print(f"{name:<44}{ours * 1e3:>9.1f}ms{theirs * 1e3:>9.1f}ms{ratio:>7.2f}x{'3x ' + verdict:>8}")


if __name__ == "__main__":
    main()
