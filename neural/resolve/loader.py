"""Files -> syntax trees: reads the main file, follows `import "other.neural"` and gathers macros."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from neural.errors import NameResolutionError, NeuralError, raise_collected
from neural.source import SourceFile, decode_source, read_source
from neural.syntax import ast
from neural.syntax.parser import parse_source


@dataclass
class Loaded:
    """The main module plus every macro visible to it (its own and imported ones)."""

    main: ast.Module
    source: SourceFile
    macros: dict[str, ast.DefineDecl] = field(default_factory=dict)


def load_file(path: str | Path) -> Loaded:
    return load_source(read_source(path))


def load_text(text: str, path: str = "<string>") -> Loaded:
    return load_source(decode_source(path, text.encode("utf-8")))


def load_source(source: SourceFile) -> Loaded:
    module = parse_source(source)
    loaded = Loaded(module, source)
    errors: list[NeuralError] = []
    _collect(module, loaded.macros, [_key(source.path)], errors)
    raise_collected(errors)
    return loaded


def _key(path: str) -> str:
    try:
        return str(Path(path).resolve())
    except OSError:
        return path


def _collect(
    module: ast.Module, macros: dict[str, ast.DefineDecl], stack: list[str], errors: list[NeuralError]
) -> None:
    from neural.layers.registry import lookup

    for item in module.items:
        if isinstance(item, ast.ImportDecl):
            _import(module, item, macros, stack, errors)
        elif isinstance(item, ast.DefineDecl):
            if lookup(item.name) is not None and lookup(item.name).kind == item.name:  # type: ignore[union-attr]
                errors.append(
                    NameResolutionError(
                        f"`{item.name}` is a built-in layer; give the macro another name", item.name_span
                    )
                )
            elif item.name in macros:
                first = macros[item.name].name_span
                errors.append(
                    NameResolutionError(f"macro `{item.name}` is defined twice (first at {first})", item.name_span)
                )
            else:
                macros[item.name] = item


def _import(
    module: ast.Module,
    item: ast.ImportDecl,
    macros: dict[str, ast.DefineDecl],
    stack: list[str],
    errors: list[NeuralError],
) -> None:
    base = Path(module.path).parent if module.path not in ("<string>", "<stdin>") else Path.cwd()
    target = (base / item.path).resolve()
    if not target.exists() and target.suffix != ".neural" and target.with_suffix(".neural").exists():
        target = target.with_suffix(".neural")
    key = str(target)
    if key in stack:
        errors.append(NameResolutionError(f"import cycle: {item.path} imports this file again", item.span))
        return
    if not target.is_file():
        errors.append(NameResolutionError(f"cannot import {item.path}: no such file ({target})", item.span))
        return
    try:
        imported = parse_source(read_source(target))
    except NeuralError as exc:
        errors.append(exc)
        return
    _collect(imported, macros, [*stack, key], errors)
