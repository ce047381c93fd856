"""`mnist`, `fashion_mnist` and `cifar10`: downloaded once, verified by SHA-256, cached, parsed without pickle.

Cache: `cache_dir` argument, else the `NEURAL_DATA_DIR` environment variable, else
`~/.cache/neural/datasets`; each dataset's files live in `<cache>/<dataset>/<file name>`, exactly
as published, so a file copied there by hand is used as it is (after the checksum check).

Integrity: every file is checked against the SHA-256 in `SHA256` (keyed `dataset/file`) before
it is used. A download goes to a temporary file in the same folder, is checked, and only then
renamed into place, so an interrupted or corrupt download never leaves a file under the
cached name. A cached file whose checksum is wrong is downloaded again (and replaced only by a
verified copy).

Formats:
- MNIST and Fashion-MNIST: four gzip-compressed IDX files. IDX: two zero bytes, a type byte
  (0x08 = unsigned byte), a byte with the number of dimensions, each dimension as a big-endian
  uint32, then the values in row-major order. Images (N, 28, 28) uint8, labels (N,) uint8.
- CIFAR-10: the *binary* version `cifar-10-binary.tar.gz` (the python version stores pickles,
  which are never loaded). Inside `cifar-10-batches-bin/`: `data_batch_1.bin` ...
  `data_batch_5.bin` (training) and `test_batch.bin`, each a run of 3073-byte records: one label
  byte (0-9), then 1024 red, 1024 green and 1024 blue bytes of a 32x32 image in row-major
  order; `batches.meta.txt` lists the class names, one a line. Read from the archive in
  memory: nothing is extracted to disk.

Images become (N, H, W, C) channels last (transposed for a channels_first network), uint8
scaled to [0, 1]; the official test files become the dataset's shipped `test` set.

Tests and mirrors inject `fetch` (how a URL is copied into a file) and `checksums`
(overrides of `SHA256`); the default `fetch` uses urllib.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import shutil
import struct
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from neural.data.builtin import single_input
from neural.data.datasets import DataError, Dataset, fit_inputs, fit_targets, task_of
from neural.shapes.engine import ShapedNetwork

ENV_VAR = "NEURAL_DATA_DIR"
DOWNLOAD_TIMEOUT_S = 60.0

Fetch = Callable[[str, Path], None]
"""Copy the resource at a URL into a file (created or overwritten); raise OSError on failure."""

# SHA-256 of each file exactly as published, keyed `dataset/file name`. Nothing is used unless it
# matches. MNIST's authors publish no checksums; Zalando (Fashion-MNIST) and Krizhevsky
# (CIFAR-10) publish MD5 sums (noted beside each). These SHA-256 values are the ones used by
# torchvision / TensorFlow Datasets and many independent projects, which agree on every digit.
SHA256: dict[str, str] = {
    "mnist/train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "mnist/train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "mnist/t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "mnist/t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    # published MD5 8d4fb7e6c68d591d4c3dfef9ec88bf0d
    "fashion_mnist/train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    # published MD5 25c81989df183df01b3e8a0aad5dffbe
    "fashion_mnist/train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    # published MD5 bef4ecab320f06d8554ea6380940ec79
    "fashion_mnist/t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    # published MD5 bb300cfdad3c16e7a12a480ee83cd310
    "fashion_mnist/t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    # published MD5 c32a1d4ab5d03f1284b67883e8d87530
    "cifar10/cifar-10-binary.tar.gz": "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
}

MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
FASHION_MNIST_MIRRORS = (
    "https://fashion-mnist.s3.eu-central-1.amazonaws.com/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
)
CIFAR10_MIRRORS = ("https://www.cs.toronto.edu/~kriz/",)

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
CIFAR10_ARCHIVE = "cifar-10-binary.tar.gz"
CIFAR10_TRAIN_BATCHES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
CIFAR10_TEST_BATCH = "test_batch.bin"
CIFAR10_META = "batches.meta.txt"
CIFAR10_SIDE = 32
CIFAR10_RECORD = 1 + 3 * CIFAR10_SIDE * CIFAR10_SIDE


@dataclass(frozen=True)
class RemoteDataset:
    """A downloadable dataset: its files (names as published), mirrors tried in order, classes."""

    name: str
    files: tuple[str, ...]
    mirrors: tuple[str, ...]
    classes: tuple[str, ...]


REMOTE: dict[str, RemoteDataset] = {
    "mnist": RemoteDataset("mnist", tuple(IDX_FILES.values()), MNIST_MIRRORS, tuple(str(d) for d in range(10))),
    "fashion_mnist": RemoteDataset(
        "fashion_mnist",
        tuple(IDX_FILES.values()),
        FASHION_MNIST_MIRRORS,
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    ),
    "cifar10": RemoteDataset(
        "cifar10",
        (CIFAR10_ARCHIVE,),
        CIFAR10_MIRRORS,
        ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
    ),
}


def default_cache_dir() -> Path:
    """`$NEURAL_DATA_DIR`, else `~/.cache/neural/datasets`."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "neural" / "datasets"


def urllib_fetch(url: str, dest: Path) -> None:
    """The default `Fetch`: stream `url` into `dest` with urllib."""
    request = urllib.request.Request(url, headers={"User-Agent": "neural-lang"})
    with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S) as response, dest.open("wb") as out:
        shutil.copyfileobj(response, out, 1 << 20)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ensure_file(
    dataset: str,
    file_name: str,
    mirrors: tuple[str, ...],
    *,
    cache_dir: Path,
    fetch: Fetch,
    checksums: Mapping[str, str],
) -> Path:
    """The verified cached copy of one published file, downloading it first if needed."""
    key = f"{dataset}/{file_name}"
    expected = checksums.get(key)
    target = cache_dir / dataset / file_name
    if not expected:
        raise DataError(
            f"no known SHA-256 checksum for {key}; unverified data is never used",
            hint=f"add its checksum to neural.data.downloads.SHA256 (file expected at {target})",
        )
    expected = expected.lower()
    stale: str | None = None
    if target.is_file():
        try:
            actual = sha256_of(target)
        except OSError as exc:
            raise DataError(f"cannot read cached dataset file {target}: {exc.strerror or exc}") from exc
        if actual == expected:
            return target
        stale = actual
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(
            f"cannot create the dataset cache folder {target.parent}: {exc.strerror or exc}",
            hint=f"choose another folder with {ENV_VAR}=... or the cache directory option",
        ) from exc
    network_errors: list[str] = []
    mismatches: list[str] = []
    for mirror in mirrors:
        url = mirror + file_name
        fd, tmp_name = tempfile.mkstemp(prefix=f".{file_name}.", suffix=".part", dir=target.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            fetch(url, tmp)
            actual = sha256_of(tmp)
            if actual != expected:
                mismatches.append(f"{url} gave a file with SHA-256 {actual}")
                continue
            os.replace(tmp, target)
            return target
        except (OSError, http.client.HTTPException, ValueError) as exc:
            network_errors.append(f"{url}: {_reason(exc)}")
        finally:
            tmp.unlink(missing_ok=True)
    stale_note = [f"the cached {target} has SHA-256 {stale}, not the expected one"] if stale else []
    if mismatches:
        raise DataError(
            f"checksum mismatch for {key}: expected SHA-256 {expected}",
            hint="the download was corrupted or the file changed upstream; nothing was saved to the cache",
            notes=(*stale_note, *mismatches, *network_errors),
        )
    raise DataError(
        f"cannot download {key}; are you offline?",
        hint=f"connect to the internet and retry, or place the file at {target} by hand (SHA-256 {expected})",
        notes=(*stale_note, *network_errors),
    )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return str(exc) or type(exc).__name__


def read_idx(path: Path) -> np.ndarray:
    """One gzip-compressed IDX file as an array."""
    try:
        with gzip.open(path, "rb") as handle:
            data = handle.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"cannot read {path}: not a gzip-compressed IDX file ({exc})") from exc
    types = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in types:
        raise DataError(f"{path} is not an IDX file (bad magic number)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path} is truncated (incomplete IDX header)")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(types[data[2]])
    count = int(np.prod(dims, dtype=np.int64)) if dims else 1
    if len(data) - header != count * dtype.itemsize:
        raise DataError(
            f"{path} holds {len(data) - header} bytes of data; its IDX header announces {count * dtype.itemsize}"
        )
    values = np.frombuffer(data, dtype=dtype, count=count, offset=header).reshape(dims)
    return values.astype(dtype.newbyteorder("="))


def read_idx_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(N, H, W) images and (N,) labels from a pair of IDX files."""
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1:
        raise DataError(
            f"{images_path} and {labels_path} hold arrays of shapes {images.shape} and {labels.shape}; "
            "expected (N, height, width) images and (N,) labels"
        )
    if images.shape[0] != labels.shape[0]:
        raise DataError(
            f"{images_path} holds {images.shape[0]} images but {labels_path} holds {labels.shape[0]} labels"
        )
    return images, labels.astype(np.int64)


def read_cifar10_binary(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    """(train images, train labels, test images, test labels, class names) of the binary CIFAR-10 archive.

    Images are (N, 32, 32, 3) uint8, channels last.
    """
    batches: dict[str, bytes] = {}
    meta: bytes | None = None
    wanted = {*CIFAR10_TRAIN_BATCHES, CIFAR10_TEST_BATCH}
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                if not member.isfile():
                    continue
                base = PurePosixPath(member.name).name
                if base in wanted or base == CIFAR10_META:
                    handle = archive.extractfile(member)
                    if handle is None:
                        continue
                    content = handle.read()
                    if base == CIFAR10_META:
                        meta = content
                    else:
                        batches[base] = content
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise DataError(f"cannot read {path}: not a readable CIFAR-10 binary archive ({exc})") from exc
    missing = sorted(wanted - set(batches))
    if missing:
        raise DataError(
            f"{path} lacks " + ", ".join(missing), hint="expected the CIFAR-10 binary version (cifar-10-binary.tar.gz)"
        )
    train = [_cifar_records(path, name, batches[name]) for name in CIFAR10_TRAIN_BATCHES]
    test_x, test_y = _cifar_records(path, CIFAR10_TEST_BATCH, batches[CIFAR10_TEST_BATCH])
    train_x = np.concatenate([x for x, _ in train])
    train_y = np.concatenate([y for _, y in train])
    names: tuple[str, ...] = ()
    if meta is not None:
        names = tuple(line.strip() for line in meta.decode("utf-8", "replace").splitlines() if line.strip())
    return train_x, train_y, test_x, test_y, names


def _cifar_records(path: Path, member: str, content: bytes) -> tuple[np.ndarray, np.ndarray]:
    if len(content) % CIFAR10_RECORD:
        raise DataError(
            f"{path}: {member} holds {len(content)} bytes, not a whole number of {CIFAR10_RECORD}-byte records"
        )
    records = np.frombuffer(content, dtype=np.uint8).reshape(-1, CIFAR10_RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.size and int(labels.max()) > 9:
        raise DataError(f"{path}: {member} has label {int(labels.max())}; CIFAR-10 labels are 0-9")
    side = CIFAR10_SIDE
    images = records[:, 1:].reshape(-1, 3, side, side).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def load_remote(
    name: str,
    shaped: ShapedNetwork,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    fetch: Fetch | None = None,
    checksums: Mapping[str, str] | None = None,
) -> Dataset:
    """Download (once), verify and load `mnist`, `fashion_mnist` or `cifar10` for `shaped`."""
    remote = REMOTE[name]
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    table = {**SHA256, **(checksums or {})}
    paths = {
        file_name: ensure_file(
            name, file_name, remote.mirrors, cache_dir=root, fetch=fetch or urllib_fetch, checksums=table
        )
        for file_name in remote.files
    }
    classes = remote.classes
    if name == "cifar10":
        train_x, train_y, test_x, test_y, names = read_cifar10_binary(paths[CIFAR10_ARCHIVE])
        if len(names) == len(classes):
            classes = names
    else:
        train_x, train_y = read_idx_pair(paths[IDX_FILES["train_images"]], paths[IDX_FILES["train_labels"]])
        test_x, test_y = read_idx_pair(paths[IDX_FILES["test_images"]], paths[IDX_FILES["test_labels"]])
        train_x, test_x = train_x[..., None], test_x[..., None]
    task = task_of(shaped)

    def build(x: np.ndarray, y: np.ndarray, test: Dataset | None) -> Dataset:
        inputs = fit_inputs(name, single_input(name, shaped, x), shaped, images=True)
        return Dataset(name, inputs, fit_targets(name, y, shaped, task), task, classes, test=test)

    return build(train_x, train_y, build(test_x, test_y, None))
