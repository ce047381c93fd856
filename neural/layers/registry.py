"""The layer registry: kinds register themselves with `@register`; lookups suggest near misses."""

from __future__ import annotations

from collections.abc import Iterator

from neural.layers.base import LayerSpec

_SPECS: dict[str, LayerSpec] = {}
_NAMES: dict[str, str] = {}
_LOWER: dict[str, str] = {}


def register(cls: type[LayerSpec]) -> type[LayerSpec]:
    """Class decorator: add a layer kind (and its aliases) to the registry."""
    spec = cls()
    if not spec.kind or not spec.family:
        raise TypeError(f"{cls.__name__} needs `kind` and `family`")
    for name in (spec.kind, *spec.aliases):
        if name in _NAMES and _NAMES[name] != spec.kind:
            raise TypeError(f"layer name {name!r} is registered twice ({_NAMES[name]} and {spec.kind})")
        _NAMES[name] = spec.kind
        _LOWER.setdefault(name.lower(), spec.kind)
    _SPECS[spec.kind] = spec
    return cls


_LOADED: list[bool] = []


def _ensure_loaded() -> None:
    if not _LOADED:
        _LOADED.append(True)
        import neural.layers.catalogue  # noqa: F401  (registers every family)


def get_spec(kind: str) -> LayerSpec:
    """The spec of a canonical kind (KeyError if unknown)."""
    spec = _SPECS.get(kind)
    if spec is None:  # the resolver asks for every layer: the common case is one dictionary lookup
        _ensure_loaded()
        spec = _SPECS[kind]
    return spec


def lookup(name: str) -> LayerSpec | None:
    """The spec for a name as written (canonical, alias, or any capitalization), or None."""
    kind = _NAMES.get(name)
    if kind is None:
        _ensure_loaded()
        kind = _NAMES.get(name) or _LOWER.get(name.lower())
    return _SPECS[kind] if kind else None


def all_specs() -> Iterator[LayerSpec]:
    _ensure_loaded()
    return iter(sorted(_SPECS.values(), key=lambda s: (s.family, s.kind)))


def all_names() -> list[str]:
    _ensure_loaded()
    return list(_NAMES)
