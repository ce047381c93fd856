"""Datasets from local files: .npz archives, .npy pairs, .csv tables and image folders.

Formats and conventions (all arrays batch first; nothing is ever unpickled):

- `.npz` (`numpy.savez`): the inputs as `x`, or one array per network input name, plus the
  targets as `y` (`labels`/`targets` also accepted). Keras-style `x_train`/`y_train` work too,
  and `x_test`/`y_test` (or `<input>_test` with `y_test`) become the shipped test set.
- `.npy` pairs: `data.npy` holds the inputs and `data_labels.npy` (same folder, same stem plus
  `_labels`) the targets; another labels file can be named explicitly (`labels=`).
- `.csv`: a header row, then one sample per row. The target column is the one named by
  `target=`, else a column called `label` or `target` (any case), else the last column. Every
  other column is a numeric feature; the features are reshaped to the input shape. Target
  values that are not numbers are class names, numbered in sorted order.
- Image folders: one sub-folder per class (sorted names are classes 0, 1, ...), image files
  inside (.png, .jpg, .jpeg, .bmp, .gif, .tif, .tiff, .webp). A folder holding `train/` and
  `test/` (each with class folders) ships its own test set. Images are read with Pillow,
  converted to grey (1 channel), RGB (3) or RGBA (4) by the input's channel count, resized to
  the input's height and width and scaled to [0, 1].

Integer pixel arrays (uint8) given for float inputs are scaled to [0, 1] in every format.
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from neural.data.builtin import single_input
from neural.data.datasets import DataError, Dataset, fit_inputs, fit_targets, task_of
from neural.errors import did_you_mean
from neural.layers.base import fmt_shape
from neural.shapes.engine import ShapedNetwork

TARGET_KEYS = ("y", "labels", "targets", "label", "target")
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
PILLOW_MODES = {1: "L", 3: "RGB", 4: "RGBA"}
LABELS_SUFFIX = "_labels"
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK"


def _unreadable(path: Path, exc: BaseException) -> DataError:
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return DataError(f"cannot read dataset file {path}: {reason}")


def _check_magic(path: Path, magic: bytes, what: str) -> None:
    """Refuse a file that is not of its kind before numpy sees it (numpy would try to unpickle it)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(magic))
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    if head != magic:
        raise DataError(f"cannot read dataset file {path}: not {what}")


def _load_npy(path: Path) -> np.ndarray:
    _check_magic(path, NPY_MAGIC, "an .npy file (numpy.save)")
    try:
        return np.asarray(np.load(path, allow_pickle=False))
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise DataError(
                f"{path} holds Python objects (a pickled array), which are never loaded",
                hint="save plain numeric arrays (numpy.save of an int or float array)",
            ) from exc
        raise _unreadable(path, exc) from exc
    except (OSError, EOFError) as exc:
        raise _unreadable(path, exc) from exc


def _build(
    name: str,
    shaped: ShapedNetwork,
    arrays: Mapping[str, np.ndarray],
    y: np.ndarray,
    *,
    class_names: tuple[str, ...] = (),
    test: Dataset | None = None,
) -> Dataset:
    task = task_of(shaped)
    x = fit_inputs(name, arrays, shaped)
    return Dataset(name, x, fit_targets(name, y, shaped, task), task, class_names, test=test)


# ---------------------------------------------------------------------------------------------
# .npz
# ---------------------------------------------------------------------------------------------


def load_npz(path: Path, shaped: ShapedNetwork) -> Dataset:
    name = path.name
    _check_magic(path, ZIP_MAGIC, "an .npz archive (numpy.savez)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: np.asarray(archive[key]) for key in archive.files}
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise DataError(f"{path} holds Python objects (pickled arrays), which are never loaded") from exc
        raise _unreadable(path, exc) from exc
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise _unreadable(path, exc) from exc
    train_x, train_y = _npz_part(name, arrays, shaped, "")
    test: Dataset | None = None
    if "y_test" in arrays:
        test_x, test_y = _npz_part(name, arrays, shaped, "_test")
        test = _build(name, shaped, test_x, test_y)
    return _build(name, shaped, train_x, train_y, test=test)


def _npz_part(
    name: str, arrays: Mapping[str, np.ndarray], shaped: ShapedNetwork, suffix: str
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    found = ", ".join(f"`{k}`" for k in arrays) or "no arrays"
    inputs = [spec.name for spec in shaped.network.inputs]
    if suffix:
        y_keys: tuple[str, ...] = ("y_test",)
    else:
        y_keys = (*TARGET_KEYS, "y_train")
    y_key = next((k for k in y_keys if k in arrays), None)
    if y_key is None:
        raise DataError(f"{name} has no targets array `y`", hint=f"it holds {found}")
    x_keys = ("x_test",) if suffix else ("x", "x_train")
    x_key = next((k for k in x_keys if k in arrays), None)
    if x_key is not None and len(inputs) == 1:
        return {inputs[0]: arrays[x_key]}, arrays[y_key]
    named = {spec: arrays[spec + suffix] for spec in inputs if spec + suffix in arrays}
    if len(named) == len(inputs):
        return named, arrays[y_key]
    if x_key is not None:
        raise DataError(
            f"{name} has one inputs array `{x_key}`; network {shaped.network.name} has {len(inputs)} inputs",
            hint="name the arrays after the inputs: " + ", ".join(f"`{i}{suffix}`" for i in inputs),
        )
    raise DataError(
        f"{name} has no inputs array: expected `x`{' or ' + ', '.join(f'`{i}`' for i in inputs) if inputs else ''}",
        hint=f"it holds {found}",
    )


# ---------------------------------------------------------------------------------------------
# .npy pairs
# ---------------------------------------------------------------------------------------------


def labels_path_for(path: Path) -> Path:
    """The labels file paired with `path` by convention: `data.npy` -> `data_labels.npy`."""
    return path.with_name(path.stem + LABELS_SUFFIX + path.suffix)


def load_npy(path: Path, shaped: ShapedNetwork, *, labels: Path | None = None) -> Dataset:
    labels_path = labels if labels is not None else labels_path_for(path)
    if not labels_path.is_file():
        raise DataError(
            f"no labels for {path}: expected the targets in {labels_path}",
            hint="an .npy dataset is a pair: DATA.npy with the inputs and DATA_labels.npy with the targets "
            "(or name the labels file explicitly)",
        )
    x = _load_npy(path)
    y = _load_npy(labels_path)
    return _build(path.name, shaped, single_input(path.name, shaped, x), y)


# ---------------------------------------------------------------------------------------------
# .csv
# ---------------------------------------------------------------------------------------------


def load_csv(path: Path, shaped: ShapedNetwork, *, target: str | None = None) -> Dataset:
    name = path.name
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise _unreadable(path, exc) from exc
    if not rows:
        raise DataError(f"{path} is empty; a .csv dataset needs a header row and one row per sample")
    header = [cell.strip() for cell in rows[0][1]]
    body = rows[1:]
    if not body:
        raise DataError(f"{path} has a header row but no samples")
    column = _target_column(path, header, target)
    width = len(header)
    for line, row in body:
        if len(row) != width:
            raise DataError(f"{path}:{line}: row has {len(row)} values; the header has {width} columns")
    raw_targets = [row[column].strip() for _, row in body]
    cells = [row[:column] + row[column + 1 :] for _, row in body]
    try:
        features = np.array(cells, dtype=np.float64)
    except ValueError:
        raise _bad_cell(path, header, column, body) from None
    y, class_names = _csv_targets(raw_targets)
    return _build(name, shaped, single_input(name, shaped, features), y, class_names=class_names)


def _bad_cell(path: Path, header: list[str], column: int, body: list[tuple[int, list[str]]]) -> DataError:
    """The error for the first feature cell that is not a number."""
    for line, row in body:
        for col, cell in enumerate(row):
            if col == column:
                continue
            try:
                float(cell)
            except ValueError:
                return DataError(
                    f"{path}:{line}: column `{header[col]}` holds {cell.strip()!r}, not a number",
                    hint=f"every column except the target (`{header[column]}`) must be numeric",
                )
    return DataError(f"{path}: the feature columns are not all numbers")


def _target_column(path: Path, header: list[str], target: str | None) -> int:
    if len(header) < 2:
        raise DataError(f"{path} has {len(header)} column; a .csv dataset needs feature columns and a target column")
    if target is not None:
        if target in header:
            return header.index(target)
        lowered = [h.lower() for h in header]
        if target.lower() in lowered:
            return lowered.index(target.lower())
        raise DataError(
            f"{path} has no column `{target}`",
            hint=did_you_mean(target, header) or "columns: " + ", ".join(header),
        )
    lowered = [h.lower() for h in header]
    for wanted in ("label", "target"):
        if wanted in lowered:
            return lowered.index(wanted)
    return len(header) - 1


def _csv_targets(raw: list[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    try:
        values = np.array([float(v) for v in raw], dtype=np.float64)
    except ValueError:
        if any(v == "" for v in raw):
            raise DataError("a .csv dataset has an empty target value") from None
        names = tuple(sorted(set(raw)))
        index = {n: i for i, n in enumerate(names)}
        return np.array([index[v] for v in raw], dtype=np.int64), names
    if np.all(values == np.round(values)) and np.all(np.isfinite(values)):
        return values.astype(np.int64), ()
    return values, ()


# ---------------------------------------------------------------------------------------------
# Image folders
# ---------------------------------------------------------------------------------------------


def _image_geometry(shaped: ShapedNetwork, dataset: str) -> tuple[int, int, int]:
    """(height, width, channels) the network's single input wants."""
    net = shaped.network
    if len(net.inputs) != 1:
        single_input(dataset, shaped, np.zeros(0))  # raises the several-inputs error
    spec = net.inputs[0]
    shape = spec.shape
    dims: tuple[int | None, int | None, int | None]
    if len(shape) == 2:
        dims = (shape[0], shape[1], 1)
    elif len(shape) == 3:
        dims = (shape[1], shape[2], shape[0]) if net.layout == "channels_first" else (shape[0], shape[1], shape[2])
    else:
        raise DataError(
            f"dataset {dataset} holds images; network {net.name} expects {fmt_shape(shape)}, not an image shape",
            hint="an image input is (height, width, channels), or (channels, height, width) with layout: channels_first",
        )
    height, width, channels = dims
    if height is None or width is None or channels is None:
        raise DataError(
            f"dataset {dataset} holds images; network {net.name} expects {fmt_shape(shape)}: height, width and channels must be fixed"
        )
    if channels not in PILLOW_MODES:
        raise DataError(
            f"dataset {dataset} holds images; network {net.name} expects {channels} channels (images have 1, 3 or 4)"
        )
    return int(height), int(width), int(channels)


def _class_folders(root: Path) -> list[Path]:
    try:
        return sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)
    except OSError as exc:
        raise _unreadable(root, exc) from exc


def load_image_folder(root: Path, shaped: ShapedNetwork) -> Dataset:
    name = root.name or str(root)
    geometry = _image_geometry(shaped, name)
    folders = _class_folders(root)
    names = {p.name for p in folders}
    if {"train", "test"} <= names:
        train_root, test_root = root / "train", root / "test"
        classes = tuple(p.name for p in _class_folders(train_root))
        test_classes = tuple(p.name for p in _class_folders(test_root))
        unknown = sorted(set(test_classes) - set(classes))
        if unknown:
            raise DataError(f"{test_root} has class folders missing from {train_root}: " + ", ".join(unknown))
        test = _image_dataset(name, test_root, classes, geometry, shaped)
        return _image_dataset(name, train_root, classes, geometry, shaped, test=test)
    return _image_dataset(name, root, tuple(p.name for p in folders), geometry, shaped)


def _image_dataset(
    name: str,
    root: Path,
    classes: tuple[str, ...],
    geometry: tuple[int, int, int],
    shaped: ShapedNetwork,
    *,
    test: Dataset | None = None,
) -> Dataset:
    if not classes:
        raise DataError(
            f"{root} has no class folders",
            hint="an image-folder dataset has one sub-folder per class, with the images of that class inside",
        )
    files: list[tuple[Path, int]] = []
    for label, cls in enumerate(classes):
        folder = root / cls
        if not folder.is_dir():
            continue
        try:
            found = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        except OSError as exc:
            raise _unreadable(folder, exc) from exc
        files.extend((p, label) for p in found)
    if not files:
        raise DataError(
            f"{root} has class folders but no images in them",
            hint="image files end in " + ", ".join(sorted(IMAGE_SUFFIXES)),
        )
    images = read_images([p for p, _ in files], geometry)
    labels = np.array([label for _, label in files], dtype=np.int64)
    task = task_of(shaped)
    x = fit_inputs(name, single_input(name, shaped, images), shaped, images=True)
    return Dataset(name, x, fit_targets(name, labels, shaped, task), task, classes, test=test)


def read_images(paths: list[Path], geometry: tuple[int, int, int]) -> np.ndarray:
    """Images as (N, height, width, channels) float32 in [0, 1] (channels last)."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError as exc:
        raise DataError(
            "reading an image folder needs Pillow, which is not installed",
            hint="install the datasets extra: pip install neural-lang[datasets]",
        ) from exc
    height, width, channels = geometry
    out = np.empty((len(paths), height, width, channels), dtype=np.float32)
    resample = Image.Resampling.BILINEAR
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as img:
                converted = img.convert(PILLOW_MODES[channels])
                if converted.size != (width, height):
                    converted = converted.resize((width, height), resample)
                pixels = np.asarray(converted, dtype=np.float32)
        except (OSError, UnidentifiedImageError, ValueError) as exc:
            raise DataError(f"cannot read image {path}: {exc}") from exc
        out[i] = pixels.reshape(height, width, channels) / np.float32(255.0)
    return out
