"""The `neural` command. Heavy imports happen inside commands so that `neural --help` stays fast."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from neural import __version__

EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


class State:
    debug = False


def _color() -> bool:
    return sys.stderr.isatty() and "NO_COLOR" not in os.environ


def fail(exc: Exception) -> NoReturn:
    """Print a user error (or an internal one) and exit with the matching code."""
    from neural.errors import NeuralError, format_error

    if isinstance(exc, NeuralError):
        click.echo(format_error(exc, color=_color()), err=True)
        raise SystemExit(EXIT_INVALID)
    if State.debug:
        raise exc
    click.echo(f"neural: internal error: {type(exc).__name__}: {exc}", err=True)
    click.echo("  (this is a bug in neural; run again with --debug for a traceback)", err=True)
    raise SystemExit(EXIT_INTERNAL)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="neural")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for internal errors.")
def cli(debug: bool) -> None:
    """Neural: shape-checked neural networks, compiled to PyTorch, Keras, JAX/Flax and ONNX,
    or trained on the built-in NumPy runtime.

    \b
    Start with:   neural check model.neural
                  neural summary model.neural
    """
    State.debug = debug


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--network", "network", default=None, help="Only check this network.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on success.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: the resolved IR with every shape, for tools.",
)
def check(files: Sequence[str], network: str | None, quiet: bool, fmt: str) -> None:
    """Parse, resolve and shape-check FILES (every small hyperparameter variant too)."""
    from neural.api import check_loaded
    from neural.errors import NeuralError, format_error
    from neural.report import network_json
    from neural.resolve.loader import load_file

    failed = False
    results: list[dict[str, Any]] = []
    for path in files:
        try:
            shaped = check_loaded(load_file(path), network=network)
        except NeuralError as exc:
            failed = True
            if fmt == "json":
                errors = getattr(exc, "errors", (exc,))
                results.append({"path": path, "ok": False, "errors": [e.to_json() for e in errors]})
            else:
                click.echo(format_error(exc, color=_color()), err=True)
            continue
        except Exception as exc:
            fail(exc)
        if fmt == "json":
            results.append({"path": path, "ok": True, "networks": [network_json(s) for s in shaped]})
        elif not quiet:
            parts = ", ".join(f"{s.network.name} ({s.params:,} params)" for s in shaped)
            click.echo(f"{path}: OK: {parts}")
    if fmt == "json":
        click.echo(json.dumps(results[0] if len(results) == 1 else results, indent=2))
    if failed:
        raise SystemExit(EXIT_INVALID)


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--network", "network", default=None, help="Network to summarize (default: the first).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def summary(file: str, network: str | None, fmt: str) -> None:
    """Layer-by-layer table: output shapes, parameters, MACs, state and weight memory."""
    from neural.api import analyse, load

    try:
        shaped = analyse(load(file).network(network))
    except Exception as exc:
        fail(exc)
    if fmt == "json":
        from neural.report import summary_json

        click.echo(json.dumps(summary_json(shaped), indent=2))
        return
    from neural.cli.tables import print_summary

    print_summary(shaped)


@cli.command(name="compile")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--backend",
    type=click.Choice(["pytorch", "tensorflow", "jax", "onnx"]),
    default="pytorch",
    show_default=True,
    help="Target framework.",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write the module here (default: stdout)."
)
@click.option("--network", default=None, help="Network to compile (default: the first).")
def compile_command(file: str, backend: str, output: str | None, network: str | None) -> None:
    """Generate a runnable, readable model module for FILE (with --backend onnx: an ONNX model, as `export`)."""
    if backend == "onnx":
        _export_onnx(file, output, network)
        return
    import importlib

    from neural.api import analyse, load

    codegen = importlib.import_module(
        f"neural.targets.{backend}.codegen"
    )  # pytorch, tensorflow or jax: no framework import
    try:
        shaped = analyse(load(file).network(network))
        code = codegen.format_code(codegen.generate(shaped, source=file))
    except Exception as exc:
        fail(exc)
    if output is None:
        click.echo(code, nl=False)
        return
    from pathlib import Path

    from neural.training.checkpoint import atomic_write_text

    atomic_write_text(Path(output), code)
    click.echo(f"wrote {output} ({shaped.network.name}, {shaped.params:,} parameters)", err=True)


def _export_onnx(
    file: str | None, output: str | None, network: str | None, run: str | None = None, opset: int = 17, seed: int = 0
) -> None:
    """Export to ONNX, verified against PyTorch; print what was written and the measured difference."""
    from neural.errors import NeuralError

    if output is None:
        raise click.UsageError("an ONNX model is binary: give the file to write with -o model.onnx")
    try:
        from neural.targets.onnx.export import TOLERANCE, export_file
    except ImportError as exc:
        fail(
            NeuralError(f"ONNX export needs torch, onnx and onnxruntime: pip install 'neural-lang[torch,onnx]' ({exc})")
        )
    try:
        exported = export_file(file, network=network, run=run, opset=opset, seed=seed)
        exported.save(output)
    except Exception as exc:
        fail(exc)
    click.echo(f"wrote {output} ({exported.describe()}; weights: {exported.weights})", err=True)
    click.echo(
        f"checked with onnx.checker (full shape inference); onnxruntime agrees with PyTorch: largest difference "
        f"{exported.difference:.1e} relative to the outputs (tolerance {TOLERANCE:.0e})",
        err=True,
    )


@cli.command(name="export")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["onnx"]), default="onnx", show_default=True, help="Model format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="Write the model here.")
@click.option("--network", default=None, help="Network to export (default: the first, or the run's).")
@click.option(
    "--run",
    "run",
    type=click.Path(file_okay=False),
    default=None,
    help="Export the trained weights of this run directory (default: fresh weights); FILE is then optional.",
)
@click.option("--opset", type=click.IntRange(17, 20), default=17, show_default=True, help="ONNX opset version.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the fresh weights.")
def export_command(
    file: str | None, fmt: str, output: str, network: str | None, run: str | None, opset: int, seed: int
) -> None:
    """Export FILE's network as an ONNX model: named inputs and outputs, a dynamic batch axis, checked
    with onnx.checker and verified in onnxruntime against the PyTorch backend."""
    _export_onnx(file, output, network, run, opset, seed)


@cli.command(name="compare")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--backends", default="numpy,pytorch", show_default=True, help="Comma-separated backends, or `all`.")
@click.option("--tolerance", type=float, default=1e-4, show_default=True, help="Largest relative difference allowed.")
@click.option("--network", default=None, help="Network to compare (default: the first).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def compare_command(file: str, backends: str, tolerance: float, network: str | None, seed: int, fmt: str) -> None:
    """Run the same weights and input through several backends; exit 1 above the tolerance."""
    from neural.api import analyse, load
    from neural.compare import compare, parse_backends, report_rows

    try:
        shaped = analyse(load(file).network(network))
        results = compare(shaped, parse_backends(backends), tolerance=tolerance, seed=seed)
    except Exception as exc:
        fail(exc)
    if fmt == "json":
        click.echo(json.dumps(report_rows(results), indent=2))
    else:
        click.echo(f"{'backend':<12}{'outputs':>12}{'after one step':>16}  (largest difference vs numpy, relative)")
        for r in results:
            step = "n/a" if r.step is None else f"{r.step:.2e}"
            status = "ok" if r.ok else "ABOVE TOLERANCE"
            note = f"  {r.note}" if r.note else ""
            click.echo(f"{r.backend:<12}{r.forward:>12.2e}{step:>16}  {status}{note}")
    if not all(r.ok for r in results):
        raise SystemExit(EXIT_INVALID)


def _reporter(quiet: bool) -> Any:
    from neural.training.events import SilentReporter

    if quiet:
        return SilentReporter()
    from neural.cli.progress import ConsoleReporter

    return ConsoleReporter()


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--network", default=None, help="Network to train (default: the first).")
@click.option(
    "--backend",
    type=click.Choice(["auto", "numpy", "pytorch", "jax", "tensorflow"]),
    default="auto",
    show_default=True,
    help="auto: PyTorch when installed, else the built-in NumPy runtime.",
)
@click.option(
    "--data",
    default=None,
    help="digits, synthetic[:N], mnist, fashion_mnist, cifar10, or a .npz/.npy/.csv file or image folder.",
)
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Override the train block.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Override the train block.")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Override the train block.")
@click.option(
    "--out", type=click.Path(file_okay=False), default=None, help="Run directory (default runs/<network>-<time>)."
)
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@click.option("--dtype", type=click.Choice(["float32", "float64"]), default="float32", show_default=True)
@click.option("--target", default=None, help="Target column of a .csv dataset.")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
def train(
    file: str,
    network: str | None,
    backend: str,
    data: str | None,
    epochs: int | None,
    batch_size: int | None,
    seed: int | None,
    out: str | None,
    resume: bool,
    dtype: str,
    target: str | None,
    quiet: bool,
) -> None:
    """Train the network in FILE and save the run (metrics, checkpoints, model)."""
    from neural.training.loop import TrainingInterrupted
    from neural.training.session import train as run_training

    reporter = _reporter(quiet)
    try:
        result = run_training(
            file,
            network=network,
            backend=backend,
            data=data,
            epochs=epochs,
            batch_size=batch_size,
            seed=seed,
            out=out,
            resume=resume,
            dtype=dtype,
            reporter=reporter,
            data_options={"target": target} if target else None,
        )
    except TrainingInterrupted as exc:
        from neural.errors import format_error

        click.echo(format_error(exc, color=_color()), err=True)
        raise SystemExit(130) from None
    except Exception as exc:
        fail(exc)
    if not quiet:
        click.echo(f"saved: {result.run.path}  (model {result.run.model.name}, metrics metrics.json)")


@cli.command(name="eval")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--data", default=None, help="Evaluate on this dataset instead of the run's own held-out split.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def evaluate_command(run_dir: str, data: str | None, batch_size: int | None, fmt: str) -> None:
    """Evaluate a saved run: loss and metrics."""
    from neural.training.session import evaluate_run

    try:
        result = evaluate_run(run_dir, data=data, batch_size=batch_size)
    except Exception as exc:
        fail(exc)
    if fmt == "json":
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"{result['data']}: {result['samples']} samples")
    for key, value in result.items():
        if key not in ("data", "samples"):
            click.echo(f"  {key:<16}{value:.4f}")


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.argument("input_file", metavar="INPUT", type=click.Path(dir_okay=False))
@click.option("--output", type=click.Path(dir_okay=False), default=None, help="Write all outputs to this .npy file.")
@click.option("--limit", type=click.IntRange(min=1), default=10, show_default=True, help="Samples to print.")
def predict(run_dir: str, input_file: str, output: str | None, limit: int) -> None:
    """Run a saved model on INPUT (.npy, .npz, .csv or an image)."""
    import numpy as np

    from neural.training.session import open_run, predict_run, read_inputs

    try:
        inputs = read_inputs(input_file, open_run(run_dir).shaped)
        outputs = predict_run(run_dir, inputs)
    except Exception as exc:
        fail(exc)
    if output:
        np.save(output, outputs)
        click.echo(f"wrote {outputs.shape} outputs to {output}")
    classes = outputs.ndim == 2 and outputs.shape[1] > 1
    for i, row in enumerate(outputs[:limit]):
        if classes:
            best = int(np.argmax(row))
            click.echo(f"sample {i}: class {best} ({float(row[best]):.4f})")
        else:
            values = ", ".join(f"{float(v):.4f}" for v in np.ravel(row)[:8])
            click.echo(f"sample {i}: {values}")


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: usage errors exit 2, invalid programs 1, internal errors 3."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="neural", standalone_mode=False)
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(EXIT_USAGE) from None
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        raise SystemExit(130) from None
    except SystemExit:
        raise
    except Exception as exc:
        fail(exc)


if __name__ == "__main__":
    main()
