"""Name and path resolution in `load_dataset`."""

from __future__ import annotations

from pathlib import Path

import pytest

from neural.data import KNOWN_DATASETS, DataError, canonical_name, load_dataset
from neural.errors import format_error
from neural.shapes.engine import ShapedNetwork


def test_known_names_and_aliases() -> None:
    assert KNOWN_DATASETS == ("digits", "synthetic", "mnist", "fashion_mnist", "cifar10")
    assert canonical_name("MNIST") == "mnist"
    assert canonical_name("fashion-mnist") == "fashion_mnist"
    assert canonical_name("FashionMNIST") == "fashion_mnist"
    assert canonical_name("CIFAR-10") == "cifar10"
    assert canonical_name("imagenet") is None


def test_unknown_name_lists_known_ones_and_suggests_the_nearest(flat: ShapedNetwork) -> None:
    with pytest.raises(DataError) as info:
        load_dataset("mnsit", flat, seed=0)
    err = info.value
    assert err.message == "unknown dataset `mnsit`; known datasets: digits, synthetic, mnist, fashion_mnist, cifar10"
    assert err.hint == "did you mean `mnist`?"
    assert "hint: did you mean `mnist`?" in format_error(err)
    with pytest.raises(DataError, match="unknown dataset `imagenet`") as info:
        load_dataset("imagenet", flat, seed=0)
    assert info.value.hint is not None and ".npz" in info.value.hint


def test_missing_path(tmp_path: Path, flat: ShapedNetwork) -> None:
    with pytest.raises(DataError, match="does not exist") as info:
        load_dataset(str(tmp_path / "nope.npz"), flat, seed=0)
    assert info.value.hint is not None and "digits" in info.value.hint
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(tmp_path / "digits", flat, seed=0)  # a Path is always a path, never a name
