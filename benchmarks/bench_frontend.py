"""Front-end speed: parse + resolve + shape-check in process, and whole-process CLI start-up.

Prints the median of several runs after a warm-up. Targets (issue 2): 1,000 layers in at most 50 ms
in process; `neural check` on a small file at most 0.4 s; `neural --help` at most 0.15 s.

    .venv/bin/python benchmarks/bench_frontend.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "examples" / "digits_cnn.neural"


def thousand_layer_source() -> str:
    """1,000 distinct layer statements (no repetition shortcuts)."""
    lines = ["network Deep {", "  input: (64,)", "  layers:"]
    for i in range(500):
        lines.append(f'    Dense({64 + (i % 3)}, activation="relu")')
        lines.append(f"    Dropout({0.1 + (i % 5) / 100})")
    lines += ['  loss: "mse"', "  optimizer: Adam(learning_rate=0.001)", "}"]
    return "\n".join(lines) + "\n"


def median_seconds(fn: object, runs: int) -> float:
    call = fn  # type: ignore[assignment]
    call()  # type: ignore[operator]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def stage_times(source: str, runs: int) -> dict[str, float]:
    from neural.resolve.loader import load_text
    from neural.resolve.resolver import resolve
    from neural.shapes.engine import infer
    from neural.source import decode_source
    from neural.syntax import reference
    from neural.syntax.parser import parse_source

    src = decode_source("deep.neural", source.encode())
    loaded = load_text(source, "deep.neural")
    program = resolve(loaded)
    return {
        "parse": median_seconds(lambda: parse_source(src), runs),
        "parse_lark": median_seconds(lambda: reference.parse_source(src), runs),
        "resolve": median_seconds(lambda: resolve(loaded), runs),
        "shapes": median_seconds(lambda: infer(program.network()), runs),
        "total": median_seconds(lambda: infer(resolve(load_text(source, "deep.neural")).network()), runs),
    }


def compile_seconds(source: str, runs: int) -> float:
    """`neural compile --backend pytorch` of the 1,000-layer file as a whole process (formatting included)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "deep.neural"
        path.write_text(source)
        out = Path(tmp) / "deep.py"
        return process_seconds(["compile", str(path), "--backend", "pytorch", "-o", str(out)], runs)


def process_seconds(args: list[str], runs: int) -> float:
    exe = str(Path(sys.executable).with_name("neural"))
    return median_seconds(lambda: subprocess.run([exe, *args], check=True, capture_output=True), runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    stages = stage_times(thousand_layer_source(), runs)
    rows = [
        ("1,000 layers: parse", stages["parse"], None),
        ("1,000 layers: parse with Lark (reference)", stages["parse_lark"], None),
        ("1,000 layers: resolve", stages["resolve"], None),
        ("1,000 layers: shape-check", stages["shapes"], None),
        ("1,000 layers: parse+resolve+check", stages["total"], 0.050),
        ("neural check (small file), process", process_seconds(["check", "-q", str(SMALL)], runs), 0.400),
        ("neural --help, process", process_seconds(["--help"], runs), 0.150),
        ("neural compile 1,000 layers, process", compile_seconds(thousand_layer_source(), max(3, runs // 3)), None),
    ]
    print(f"median of {runs} runs after one warm-up (seconds)")
    print(f"{'measurement':<44}{'median':>10}{'target':>10}{'ratio':>8}")
    for name, value, target in rows:
        tail = f"{target:>10.3f}{value / target:>8.2f}" if target else ""
        print(f"{name:<44}{value:>10.4f}{tail}")


if __name__ == "__main__":
    main()
