"""mnist / fashion_mnist / cifar10 from tiny local files in the published formats; never the network."""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import struct
import tarfile
import urllib.error
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from neural.data import SHA256, DataError, default_cache_dir, load_dataset
from neural.data.downloads import REMOTE, read_cifar10_binary, read_idx
from neural.shapes.engine import ShapedNetwork

Build = Callable[[str], ShapedNetwork]
Files = dict[str, bytes]

SMALL_GREY = (
    'network Small { input: (4, 4, 1) layers: Flatten() Output(10, "softmax") loss: "sparse_categorical_crossentropy" }'
)
SMALL_RGB = (
    'network Rgb { input: (32, 32, 3) layers: Flatten() Output(10, "softmax") loss: "sparse_categorical_crossentropy" }'
)


def idx_bytes(array: np.ndarray) -> bytes:
    """`array` (uint8) as a gzip-compressed IDX file."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def mnist_files(train: int = 5, test: int = 2) -> Files:
    rng = np.random.default_rng(0)
    return {
        "train-images-idx3-ubyte.gz": idx_bytes(rng.integers(0, 256, (train, 4, 4), dtype=np.uint8)),
        "train-labels-idx1-ubyte.gz": idx_bytes(np.arange(train, dtype=np.uint8) % 10),
        "t10k-images-idx3-ubyte.gz": idx_bytes(np.full((test, 4, 4), 255, np.uint8)),
        "t10k-labels-idx1-ubyte.gz": idx_bytes(np.arange(test, dtype=np.uint8) + 3),
    }


def cifar_record(label: int, red: int, green: int, blue: int) -> bytes:
    planes = np.zeros((3, 32, 32), np.uint8)
    planes[0], planes[1], planes[2] = red, green, blue
    planes[0, 0, 1] = 7  # one marked pixel: row 0, column 1, red
    return bytes([label]) + planes.tobytes()


def cifar_archive() -> bytes:
    members = {f"cifar-10-batches-bin/data_batch_{i}.bin": cifar_record(i, 10 * i, 1, 2) * 2 for i in range(1, 6)}
    members["cifar-10-batches-bin/test_batch.bin"] = cifar_record(9, 255, 0, 0)
    members["cifar-10-batches-bin/batches.meta.txt"] = (
        b"\n".join(n.encode() for n in REMOTE["cifar10"].classes) + b"\n\n"
    )
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def sums(dataset: str, files: Files) -> dict[str, str]:
    return {f"{dataset}/{name}": hashlib.sha256(content).hexdigest() for name, content in files.items()}


class FakeServer:
    """A `fetch` that serves `files` by the URL's last component and records every request."""

    def __init__(self, files: Files) -> None:
        self.files = files
        self.requests: list[str] = []

    def __call__(self, url: str, dest: Path) -> None:
        self.requests.append(url)
        dest.write_bytes(self.files[url.rsplit("/", 1)[-1]])


def never(url: str, dest: Path) -> None:
    raise AssertionError(f"unexpected download of {url}")


def cache_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_published_checksum_table_is_complete() -> None:
    for remote in REMOTE.values():
        for name in remote.files:
            assert re.fullmatch(r"[0-9a-f]{64}", SHA256[f"{remote.name}/{name}"])


def test_mnist_downloads_once_then_uses_the_cache(tmp_path: Path, build: Build) -> None:
    files = mnist_files()
    server = FakeServer(files)
    net = build(SMALL_GREY)
    data = load_dataset("mnist", net, seed=0, cache_dir=tmp_path, fetch=server, checksums=sums("mnist", files))
    assert len(server.requests) == 4 and all(u.startswith("https://") for u in server.requests)
    assert cache_files(tmp_path) == sorted(f"mnist/{n}" for n in files)
    assert data.x["input"].shape == (5, 4, 4, 1) and data.x["input"].dtype == np.float32
    assert data.y.tolist() == [0, 1, 2, 3, 4]
    assert data.test is not None and data.test.y.tolist() == [3, 4]
    assert float(data.test.x["input"].min()) == 1.0  # 255 -> 1.0
    assert data.class_names == tuple("0123456789")
    again = load_dataset("mnist", net, seed=0, cache_dir=tmp_path, fetch=never, checksums=sums("mnist", files))
    np.testing.assert_array_equal(again.x["input"], data.x["input"])


def test_fashion_mnist_from_a_prefilled_cache(tmp_path: Path, build: Build) -> None:
    files = mnist_files(train=3, test=1)
    (tmp_path / "fashion_mnist").mkdir()
    for name, content in files.items():
        (tmp_path / "fashion_mnist" / name).write_bytes(content)
    data = load_dataset(
        "Fashion-MNIST",
        build(SMALL_GREY),
        seed=0,
        cache_dir=tmp_path,
        fetch=never,
        checksums=sums("fashion_mnist", files),
    )
    assert len(data) == 3 and data.class_names[0] == "T-shirt/top"


def test_cache_directory_from_the_environment(tmp_path: Path, build: Build, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEURAL_DATA_DIR", str(tmp_path / "env-cache"))
    assert default_cache_dir() == tmp_path / "env-cache"
    files = mnist_files()
    load_dataset("mnist", build(SMALL_GREY), seed=0, fetch=FakeServer(files), checksums=sums("mnist", files))
    assert (tmp_path / "env-cache" / "mnist" / "t10k-labels-idx1-ubyte.gz").is_file()
    monkeypatch.delenv("NEURAL_DATA_DIR")
    assert default_cache_dir() == Path.home() / ".cache" / "neural" / "datasets"


def test_mnist_shape_mismatch_names_both_shapes(tmp_path: Path, build: Build) -> None:
    files = mnist_files()
    net = build('network DigitsCNN { input: (8, 8, 1) layers: Flatten() Output(10, "softmax") }')
    with pytest.raises(
        DataError, match=r"dataset mnist has samples of shape \(4, 4, 1\); network DigitsCNN expects \(8, 8, 1\)"
    ):
        load_dataset("mnist", net, seed=0, cache_dir=tmp_path, fetch=FakeServer(files), checksums=sums("mnist", files))


def test_checksum_mismatch_is_an_error_and_caches_nothing(tmp_path: Path, build: Build) -> None:
    files = mnist_files()
    expected = sums("mnist", files)
    tampered = dict(files)
    tampered["train-images-idx3-ubyte.gz"] = idx_bytes(np.zeros((5, 4, 4), np.uint8))
    with pytest.raises(DataError, match=r"checksum mismatch for mnist/train-images-idx3-ubyte\.gz") as info:
        load_dataset(
            "mnist", build(SMALL_GREY), seed=0, cache_dir=tmp_path, fetch=FakeServer(tampered), checksums=expected
        )
    assert "nothing was saved" in (info.value.hint or "")
    assert len(info.value.notes) == 2  # one line per mirror tried
    assert cache_files(tmp_path) == []


def test_real_checksums_reject_look_alike_files(tmp_path: Path, build: Build) -> None:
    with pytest.raises(DataError, match="checksum mismatch"):
        load_dataset("mnist", build(SMALL_GREY), seed=0, cache_dir=tmp_path, fetch=FakeServer(mnist_files()))
    assert cache_files(tmp_path) == []


def test_interrupted_download_leaves_no_file(tmp_path: Path, build: Build) -> None:
    files = mnist_files()

    def cut_off(url: str, dest: Path) -> None:
        dest.write_bytes(files[url.rsplit("/", 1)[-1]][:10])
        raise ConnectionResetError(104, "Connection reset by peer")

    with pytest.raises(DataError, match="cannot download mnist/"):
        load_dataset(
            "mnist", build(SMALL_GREY), seed=0, cache_dir=tmp_path, fetch=cut_off, checksums=sums("mnist", files)
        )
    assert cache_files(tmp_path) == []

    def interrupted(url: str, dest: Path) -> None:
        dest.write_bytes(b"partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        load_dataset(
            "mnist", build(SMALL_GREY), seed=0, cache_dir=tmp_path, fetch=interrupted, checksums=sums("mnist", files)
        )
    assert cache_files(tmp_path) == []


def test_offline_is_a_clear_error(tmp_path: Path, build: Build) -> None:
    def offline(url: str, dest: Path) -> None:
        raise urllib.error.URLError(OSError(-3, "Temporary failure in name resolution"))

    with pytest.raises(DataError, match="are you offline") as info:
        load_dataset("cifar10", build(SMALL_RGB), seed=0, cache_dir=tmp_path, fetch=offline)
    hint = info.value.hint or ""
    assert (
        str(tmp_path / "cifar10" / "cifar-10-binary.tar.gz") in hint
        and SHA256["cifar10/cifar-10-binary.tar.gz"] in hint
    )
    assert any("Temporary failure" in note for note in info.value.notes)


def test_corrupt_cached_file_is_downloaded_again(tmp_path: Path, build: Build) -> None:
    files = mnist_files()
    (tmp_path / "mnist").mkdir()
    for name, content in files.items():
        (tmp_path / "mnist" / name).write_bytes(content)
    (tmp_path / "mnist" / "train-images-idx3-ubyte.gz").write_bytes(b"corrupt")
    server = FakeServer(files)
    load_dataset("mnist", build(SMALL_GREY), seed=0, cache_dir=tmp_path, fetch=server, checksums=sums("mnist", files))
    assert server.requests == [REMOTE["mnist"].mirrors[0] + "train-images-idx3-ubyte.gz"]
    assert (tmp_path / "mnist" / "train-images-idx3-ubyte.gz").read_bytes() == files["train-images-idx3-ubyte.gz"]


def test_unknown_checksum_refuses_the_file(tmp_path: Path, build: Build) -> None:
    files = mnist_files()
    table = {**sums("mnist", files), "mnist/t10k-images-idx3-ubyte.gz": ""}
    with pytest.raises(DataError, match=r"no known SHA-256 checksum for mnist/t10k-images-idx3-ubyte\.gz"):
        load_dataset("mnist", build(SMALL_GREY), seed=0, cache_dir=tmp_path, fetch=FakeServer(files), checksums=table)


def test_cifar10_binary_layout(tmp_path: Path, build: Build) -> None:
    archive = cifar_archive()
    files = {"cifar-10-binary.tar.gz": archive}
    data = load_dataset(
        "cifar10",
        build(SMALL_RGB),
        seed=0,
        cache_dir=tmp_path,
        fetch=FakeServer(files),
        checksums=sums("cifar10", files),
    )
    x = data.x["input"]
    assert x.shape == (10, 32, 32, 3) and x.dtype == np.float32
    assert data.y.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    np.testing.assert_allclose(x[2, 5, 5], np.array([20, 1, 2]) / 255.0, rtol=1e-6)  # batch 2: red 20
    np.testing.assert_allclose(x[0, 0, 1, 0], 7 / 255.0, rtol=1e-6)  # row 0, column 1, red plane
    assert data.test is not None and data.test.y.tolist() == [9]
    assert data.class_names[0] == "airplane" and data.class_names[-1] == "truck"


def test_cifar10_channels_first(tmp_path: Path, build: Build) -> None:
    files = {"cifar-10-binary.tar.gz": cifar_archive()}
    net = build('network CF { layout: channels_first input: (3, 32, 32) layers: Flatten() Output(10, "softmax") }')
    data = load_dataset(
        "cifar10", net, seed=0, cache_dir=tmp_path, fetch=FakeServer(files), checksums=sums("cifar10", files)
    )
    np.testing.assert_allclose(data.x["input"][0, :, 0, 1], np.array([7, 1, 2]) / 255.0, rtol=1e-6)


def test_bad_archives_and_idx_files(tmp_path: Path) -> None:
    not_gzip = tmp_path / "a.gz"
    not_gzip.write_bytes(b"plain")
    with pytest.raises(DataError, match="not a gzip-compressed IDX file"):
        read_idx(not_gzip)
    bad_magic = tmp_path / "b.gz"
    bad_magic.write_bytes(gzip.compress(b"\x01\x02\x08\x01\x00\x00\x00\x01x"))
    with pytest.raises(DataError, match="bad magic number"):
        read_idx(bad_magic)
    truncated = tmp_path / "c.gz"
    truncated.write_bytes(gzip.compress(bytes([0, 0, 8, 1]) + struct.pack(">I", 10) + b"abc"))
    with pytest.raises(DataError, match="holds 3 bytes of data; its IDX header announces 10"):
        read_idx(truncated)
    not_tar = tmp_path / "d.tar.gz"
    not_tar.write_bytes(gzip.compress(b"not a tar"))
    with pytest.raises(DataError, match="not a readable CIFAR-10 binary archive"):
        read_cifar10_binary(not_tar)
