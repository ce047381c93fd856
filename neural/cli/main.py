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
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: the resolved IR with every shape, for tools.")
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
