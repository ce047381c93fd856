"""`load_dataset`: a dataset name or a path -> a `Dataset` fitted to a network."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from neural.data.builtin import load_digits, load_synthetic
from neural.data.datasets import DataError, Dataset
from neural.data.downloads import REMOTE, Fetch, load_remote
from neural.data.files import IMAGE_SUFFIXES, load_csv, load_image_folder, load_npy, load_npz
from neural.errors import suggest
from neural.shapes.engine import ShapedNetwork

BUILTIN = ("digits", "synthetic")
KNOWN_DATASETS: tuple[str, ...] = (*BUILTIN, *REMOTE)
FILE_SUFFIXES = (".npz", ".npy", ".csv")
_ALIASES = {
    "fashionmnist": "fashion_mnist",
    "fashion": "fashion_mnist",
    "cifar": "cifar10",
    "cifar_10": "cifar10",
}


def canonical_name(name: str) -> str | None:
    """The known dataset `name` refers to (`Fashion-MNIST` -> `fashion_mnist`), or None."""
    key = name.strip().lower().replace("-", "_")
    key = _ALIASES.get(key, _ALIASES.get(key.replace("_", ""), key))
    return key if key in KNOWN_DATASETS else None


def load_dataset(
    name_or_path: str | os.PathLike[str],
    network: ShapedNetwork,
    *,
    seed: int,
    size: int | None = None,
    target: str | None = None,
    labels: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    fetch: Fetch | None = None,
    checksums: Mapping[str, str] | None = None,
) -> Dataset:
    """Load a dataset by name or path and fit it to `network`'s inputs and output.

    Names: `digits`, `synthetic` (or `synthetic:N` for N samples), `mnist`, `fashion_mnist`,
    `cifar10`. Paths: `.npz`, `.npy` (with `DATA_labels.npy`, or `labels=`), `.csv` (target
    column `target=`), or a folder of class folders of images. Relative paths are relative to
    the working directory.

    - `seed`: drives `synthetic` (inputs and teacher); the other sources are deterministic.
    - `size`: number of `synthetic` samples (default 1000, fewer for very large inputs).
    - `cache_dir`, `fetch`, `checksums`: where downloads are cached (default `$NEURAL_DATA_DIR`
      or ~/.cache/neural/datasets), how a URL is fetched, and SHA-256 overrides keyed
      `dataset/file` (see `neural.data.downloads`).
    """
    text = os.fspath(name_or_path)
    if not isinstance(name_or_path, os.PathLike):
        base, sep, count = text.partition(":")
        if sep and canonical_name(base) == "synthetic":
            size = _parse_size(text, count)
            text = base
        known = canonical_name(text)
        if known is not None:
            if known == "digits":
                return load_digits(network)
            if known == "synthetic":
                return load_synthetic(network, seed=seed, size=size)
            return load_remote(known, network, cache_dir=cache_dir, fetch=fetch, checksums=checksums)
    path = Path(text).expanduser()
    if path.is_dir():
        return load_image_folder(path, network)
    suffix = path.suffix.lower()
    if path.exists() and not path.is_file():
        raise DataError(f"{path} is not a regular file or a folder")
    if not path.exists():
        if _looks_like_path(text):
            raise DataError(f"dataset file {path} does not exist", hint=_known_hint())
        nearest = suggest(text, KNOWN_DATASETS)
        raise DataError(
            f"unknown dataset `{text}`; known datasets: " + ", ".join(KNOWN_DATASETS),
            hint=f"did you mean `{nearest[0]}`?"
            if nearest
            else "or give a path to an .npz, .npy or .csv file, or a folder of images",
        )
    if suffix == ".npz":
        return load_npz(path, network)
    if suffix == ".npy":
        return load_npy(path, network, labels=Path(labels).expanduser() if labels is not None else None)
    if suffix == ".csv":
        return load_csv(path, network, target=target)
    raise DataError(
        f"cannot load {path}: unsupported file type `{suffix or path.name}`",
        hint="datasets are .npz, .npy (with DATA_labels.npy) or .csv files, or folders of class folders of images",
    )


def _parse_size(text: str, count: str) -> int:
    try:
        size = int(count)
    except ValueError:
        size = 0
    if size < 1:
        raise DataError(f"`{text}`: the number of synthetic samples must be a positive integer, as in `synthetic:500`")
    return size


def _looks_like_path(text: str) -> bool:
    suffix = Path(text).suffix.lower()
    return "/" in text or os.sep in text or suffix in FILE_SUFFIXES or suffix in IMAGE_SUFFIXES or text.startswith(".")


def _known_hint() -> str:
    return "known datasets: " + ", ".join(KNOWN_DATASETS) + "; files: .npz, .npy, .csv, or a folder of image folders"
