"""The library's front door: load, check and analyse `.neural` programs."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from neural.config.values import describe
from neural.errors import NeuralError, raise_collected
from neural.ir import HpoParam, Network, Program
from neural.resolve.loader import Loaded, load_file, load_text
from neural.resolve.resolver import resolve
from neural.shapes.engine import ShapedNetwork, infer

MAX_HPO_COMBINATIONS = 64


def load(path: str | Path, *, hpo: Mapping[str, Any] | None = None) -> Program:
    """Parse and resolve a file (imports and macros included) into the IR."""
    return resolve(load_file(path), hpo)


def loads(text: str, path: str = "<string>", *, hpo: Mapping[str, Any] | None = None) -> Program:
    """Parse and resolve source text into the IR."""
    return resolve(load_text(text, path), hpo)


def analyse(network: Network) -> ShapedNetwork:
    """Shapes, parameters, state and MACs of every layer."""
    return infer(network)


def check_loaded(loaded: Loaded, *, network: str | None = None) -> list[ShapedNetwork]:
    """Resolve and shape-check every network, and every small HPO variant of it.

    Finite search spaces with at most 64 combinations are checked exhaustively; larger or
    continuous ones at their bounds. A failing variant is reported with the values that broke it.
    """
    program = resolve(loaded, None, networks=[network] if network else None)
    if network:
        program.network(network)
    shaped: list[ShapedNetwork] = []
    errors: list[NeuralError] = []
    for net in program.networks:
        try:
            shaped.append(infer(net))
        except NeuralError as exc:
            errors.append(exc)
            continue
        errors.extend(_check_hpo_variants(loaded, net))
    raise_collected(errors)
    return shaped


def check(path: str | Path, *, network: str | None = None) -> list[ShapedNetwork]:
    return check_loaded(load_file(path), network=network)


def hpo_assignments(params: Sequence[HpoParam]) -> list[dict[str, Any]]:
    """The HPO value combinations `neural check` verifies (see `check_loaded`)."""
    if not params:
        return []
    finite = [p.space.values(limit=MAX_HPO_COMBINATIONS + 1) for p in params]
    if (
        all(v is not None for v in finite)
        and math.prod(len(v) for v in finite if v is not None) <= MAX_HPO_COMBINATIONS
    ):
        grids = [v for v in finite if v is not None]
    else:
        bounds = [p.space.bounds() for p in params]
        if math.prod(len(b) for b in bounds) <= MAX_HPO_COMBINATIONS:
            grids = [tuple(b) for b in bounds]
        else:
            combos: list[dict[str, Any]] = []
            for p in params:
                for value in p.space.bounds():
                    combos.append({p.key: value})
            return combos
    return [dict(zip((p.key for p in params), combo)) for combo in itertools.product(*grids)]


def _check_hpo_variants(loaded: Loaded, net: Network) -> list[NeuralError]:
    for assignment in hpo_assignments(net.hpo):
        try:
            variant = resolve(loaded, assignment, networks=[net.name]).network(net.name)
            infer(variant)
        except NeuralError as exc:
            labels = {p.key: p for p in net.hpo}
            chosen = ", ".join(f"{labels[k].label}={describe(v)}" for k, v in assignment.items() if k in labels)
            errors = exc.errors if hasattr(exc, "errors") else (exc,)
            for err in errors:
                err.notes = (*err.notes, f"with hyperparameters {chosen}")
            return list(errors)
    return []
