"""One training step of the same network on every installed backend, side by side in one run.

Each backend trains through its in-process `neural train` implementation (the TrainingBackend the
training loop drives): forward, loss, backward and optimizer step on one batch. One thread each,
median of several steps after warm-up steps (which also absorb jit compilation).

    .venv/bin/python benchmarks/bench_backends.py [--runs N] [--file examples/digits_cnn.neural] [--batch 32]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "XLA_FLAGS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)
BACKENDS = ("numpy", "pytorch", "tensorflow", "jax")


def single_threaded_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "TF_NUM_INTRAOP_THREADS": "1",
            "TF_NUM_INTEROP_THREADS": "1",
            "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
            "NEURAL_BENCH_CHILD": "1",
        }
    )
    return env


def measure(backend: str, path: Path, batch: int, runs: int, warmup: int) -> float | None:
    import numpy as np

    from neural.api import analyse, load
    from neural.errors import NeuralError
    from neural.training.session import choose_backend

    if backend == "pytorch":
        import torch

        torch.set_num_threads(1)
    shaped = analyse(load(path).network())
    try:
        _, factory, _ = choose_backend(backend)
    except NeuralError:
        return None
    trainer = factory(shaped, seed=0)
    rng = np.random.default_rng(0)
    spec = shaped.network.inputs[0]
    x = {spec.name: rng.standard_normal((batch, *spec.shape)).astype(np.float32)}
    classes = shaped.output_shapes[0][-1] or 2
    y = rng.integers(0, classes, size=batch)
    for _ in range(warmup):
        trainer.train_batch(x, y)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        trainer.train_batch(x, y)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--file", type=Path, default=ROOT / "examples" / "digits_cnn.neural")
    parser.add_argument("--backend", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.backend:  # child process: one backend, one thread
        value = measure(args.backend, args.file, args.batch, args.runs, args.warmup)
        print("unavailable" if value is None else f"{value:.6f}")
        return
    print(
        f"one training step of {args.file.name}, batch {args.batch}: median of {args.runs} after {args.warmup} warm-up steps, one thread"
    )
    results: dict[str, float | None] = {}
    for backend in BACKENDS:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--backend",
                backend,
                "--file",
                str(args.file),
                "--batch",
                str(args.batch),
                "--runs",
                str(args.runs),
                "--warmup",
                str(args.warmup),
            ],
            capture_output=True,
            text=True,
            env=single_threaded_env(),
            check=False,
        )
        line = out.stdout.strip().splitlines()[-1] if out.returncode == 0 and out.stdout.strip() else "unavailable"
        results[backend] = None if line == "unavailable" else float(line)
    base = results.get("pytorch")
    print(f"{'backend':<12}{'ms/step':>10}{'vs pytorch':>12}")
    for backend, value in results.items():
        if value is None:
            print(f"{backend:<12}{'n/a':>10}")
            continue
        ratio = f"{value / base:.2f}" if base else "n/a"
        print(f"{backend:<12}{value * 1000:>10.2f}{ratio:>12}")


if __name__ == "__main__":
    main()
