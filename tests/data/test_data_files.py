"""Datasets from files: .npz, .npy pairs, .csv and image folders; unreadable files; no pickle."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from neural.data import DataError, load_dataset
from neural.shapes.engine import ShapedNetwork

Build = Callable[[str], ShapedNetwork]

TWO_INPUTS = """
network Two {
  input {
    image: (4, 4, 1)
    features: (3,)
  }
  layers:
    Flatten()(image)
    a = Dense(4)
    b = Dense(4)(features)
    Concatenate()(a, b)
    Output(2, "softmax")
  loss: "sparse_categorical_crossentropy"
}
"""


def test_npz_with_x_and_y(tmp_path: Path, classifier: ShapedNetwork) -> None:
    path = tmp_path / "data.npz"
    np.savez(path, x=np.random.default_rng(0).random((6, 64)), y=np.arange(6))
    data = load_dataset(str(path), classifier, seed=0)
    assert data.x["input"].shape == (6, 8, 8, 1) and data.y.tolist() == list(range(6))
    assert data.test is None


def test_npz_named_after_inputs(tmp_path: Path, build: Build) -> None:
    path = tmp_path / "two.npz"
    np.savez(path, image=np.zeros((5, 4, 4, 1)), features=np.ones((5, 3)), y=np.array([0, 1, 0, 1, 1]))
    data = load_dataset(path, build(TWO_INPUTS), seed=0)
    assert data.sample_shapes == {"image": (4, 4, 1), "features": (3,)}


def test_npz_missing_input_lists_what_it_holds(tmp_path: Path, build: Build) -> None:
    path = tmp_path / "two.npz"
    np.savez(path, image=np.zeros((5, 4, 4, 1)), y=np.zeros(5))
    with pytest.raises(DataError, match="no inputs array") as info:
        load_dataset(path, build(TWO_INPUTS), seed=0)
    assert info.value.hint is not None and "`image`" in info.value.hint


def test_npz_keras_style_with_test_split(tmp_path: Path, classifier: ShapedNetwork) -> None:
    path = tmp_path / "mnist_like.npz"
    np.savez(
        path,
        x_train=np.full((8, 8, 8), 255, np.uint8),
        y_train=np.arange(8),
        x_test=np.zeros((2, 8, 8), np.uint8),
        y_test=np.array([1, 2]),
    )
    data = load_dataset(path, classifier, seed=0)
    assert len(data) == 8 and float(data.x["input"].max()) == 1.0
    assert data.test is not None and len(data.test) == 2 and data.test.y.tolist() == [1, 2]
    assert data.split(test=0.1, seed=0).test is data.test


def test_npz_shape_mismatch(tmp_path: Path, classifier: ShapedNetwork) -> None:
    path = tmp_path / "wrong.npz"
    np.savez(path, x=np.zeros((3, 5, 5)), y=np.zeros(3))
    with pytest.raises(
        DataError, match=r"dataset wrong.npz has samples of shape \(5, 5\); network Classifier expects \(8, 8, 1\)"
    ):
        load_dataset(path, classifier, seed=0)


def test_npz_with_object_arrays_is_refused(tmp_path: Path, flat: ShapedNetwork) -> None:
    path = tmp_path / "objects.npz"
    np.savez(path, x=np.array([{"a": 1}, None], dtype=object), y=np.zeros(2))
    with pytest.raises(DataError, match="never loaded"):
        load_dataset(path, flat, seed=0)


def test_npy_pair_by_convention_and_explicit(tmp_path: Path, flat: ShapedNetwork) -> None:
    np.save(tmp_path / "train.npy", np.ones((4, 4), np.float32))
    np.save(tmp_path / "train_labels.npy", np.array([0, 1, 2, 1]))
    data = load_dataset(str(tmp_path / "train.npy"), flat, seed=0)
    assert data.y.tolist() == [0, 1, 2, 1]
    np.save(tmp_path / "other.npy", np.array([2, 2, 2, 2]))
    data = load_dataset(str(tmp_path / "train.npy"), flat, seed=0, labels=str(tmp_path / "other.npy"))
    assert data.y.tolist() == [2, 2, 2, 2]


def test_npy_without_labels_names_the_expected_file(tmp_path: Path, flat: ShapedNetwork) -> None:
    np.save(tmp_path / "alone.npy", np.ones((4, 4)))
    with pytest.raises(DataError, match=r"alone_labels\.npy"):
        load_dataset(str(tmp_path / "alone.npy"), flat, seed=0)


def test_pickled_npy_is_refused(tmp_path: Path, flat: ShapedNetwork) -> None:
    np.save(tmp_path / "obj.npy", np.array([object()] * 4, dtype=object), allow_pickle=True)
    np.save(tmp_path / "obj_labels.npy", np.zeros(4))
    with pytest.raises(DataError, match="never loaded"):
        load_dataset(str(tmp_path / "obj.npy"), flat, seed=0)


def test_csv_default_target_column_and_class_names(tmp_path: Path, flat: ShapedNetwork) -> None:
    path = tmp_path / "iris.csv"
    path.write_text("a,b,c,d,species\n1,2,3,4,setosa\n5,6,7,8,virginica\n1,1,1,1,setosa\n0,0,0,0,versicolor\n")
    data = load_dataset(str(path), flat, seed=0)
    assert data.class_names == ("setosa", "versicolor", "virginica")
    assert data.y.tolist() == [0, 2, 0, 1]
    np.testing.assert_array_equal(data.x["input"][1], [5, 6, 7, 8])


def test_csv_label_column_anywhere_and_named_target(tmp_path: Path, flat: ShapedNetwork) -> None:
    path = tmp_path / "t.csv"
    path.write_text("Label,a,b,c,d\n1,1,2,3,4\n2,5,6,7,8\n")
    data = load_dataset(str(path), flat, seed=0)
    assert data.y.tolist() == [1, 2]
    np.testing.assert_array_equal(data.x["input"][0], [1, 2, 3, 4])
    path.write_text("a,kind,b,c,d\n1,1,2,3,4\n5,2,6,7,8\n")
    data = load_dataset(str(path), flat, seed=0, target="kind")
    assert data.y.tolist() == [1, 2]
    with pytest.raises(DataError, match="no column `knd`") as info:
        load_dataset(str(path), flat, seed=0, target="knd")
    assert info.value.hint == "did you mean `kind`?"


def test_csv_features_reshaped_to_the_input(tmp_path: Path, build: Build) -> None:
    net = build('network G { input: (2, 2, 1) layers: Flatten() Output(2, "softmax") }')
    path = tmp_path / "g.csv"
    path.write_text("p0,p1,p2,p3,label\n1,2,3,4,1\n")
    data = load_dataset(str(path), net, seed=0)
    assert data.x["input"].shape == (1, 2, 2, 1)


def test_csv_errors_name_line_and_column(tmp_path: Path, flat: ShapedNetwork) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("a,b,c,d,label\n1,2,3,4,0\n1,x,3,4,1\n")
    with pytest.raises(DataError, match=r"bad.csv:3: column `b` holds 'x', not a number"):
        load_dataset(str(path), flat, seed=0)
    path.write_text("a,b,c,d,label\n\n1,2,3,4,0\n\n1,2,3,4,x\n1,2,3,?,1\n")
    with pytest.raises(DataError, match=r"bad.csv:6: column `d` holds '\?', not a number"):
        load_dataset(str(path), flat, seed=0)
    path.write_text("a,b,c,d,label\n1,2,3,0\n")
    with pytest.raises(DataError, match="row has 4 values; the header has 5 columns"):
        load_dataset(str(path), flat, seed=0)
    path.write_text("")
    with pytest.raises(DataError, match="empty"):
        load_dataset(str(path), flat, seed=0)
    path.write_text("a,b,label\n1,2,0\n")
    with pytest.raises(DataError, match=r"samples of shape \(2,\); network Flat expects \(4,\)"):
        load_dataset(str(path), flat, seed=0)


def test_csv_regression_targets(tmp_path: Path, build: Build) -> None:
    net = build('network R { input: (2,) layers: Output(1) loss: "mse" }')
    path = tmp_path / "r.csv"
    path.write_text("x1,x2,target\n1,2,0.5\n3,4,1.5\n")
    data = load_dataset(str(path), net, seed=0)
    assert data.y.dtype == np.float32 and data.y.tolist() == [[0.5], [1.5]]


def _write_images(root: Path, mode: str, size: tuple[int, int], classes: dict[str, int]) -> None:
    Image = pytest.importorskip("PIL.Image", reason="image folders need Pillow (the datasets extra)")
    for cls, count in classes.items():
        (root / cls).mkdir(parents=True)
        for i in range(count):
            colour = (i * 40) % 256
            fill = colour if mode == "L" else (colour, 255, 0)
            Image.new(mode, size, fill).save(root / cls / f"{i}.png")


def test_image_folder_grey_resized(tmp_path: Path, classifier: ShapedNetwork) -> None:
    _write_images(tmp_path / "shapes", "RGB", (16, 12), {"circle": 2, "square": 3})
    (tmp_path / "shapes" / "circle" / "notes.txt").write_text("not an image")
    data = load_dataset(str(tmp_path / "shapes"), classifier, seed=0)
    assert data.x["input"].shape == (5, 8, 8, 1)
    assert data.class_names == ("circle", "square") and data.y.tolist() == [0, 0, 1, 1, 1]
    assert float(data.x["input"].min()) >= 0.0 and float(data.x["input"].max()) <= 1.0


def test_image_folder_rgb_channels_first_with_test_split(tmp_path: Path, build: Build) -> None:
    net = build('network CF { layout: channels_first input: (3, 6, 6) layers: Flatten() Output(2, "softmax") }')
    _write_images(tmp_path / "pics" / "train", "RGB", (6, 6), {"a": 2, "b": 2})
    _write_images(tmp_path / "pics" / "test", "RGB", (6, 6), {"a": 1, "b": 1})
    data = load_dataset(str(tmp_path / "pics"), net, seed=0)
    assert data.x["input"].shape == (4, 3, 6, 6)
    np.testing.assert_allclose(data.x["input"][0, :, 0, 0], [0.0, 1.0, 0.0])  # (0, 255, 0) in RGB order
    assert data.test is not None and data.test.y.tolist() == [0, 1]


def test_unreadable_image_is_a_clear_error(tmp_path: Path, classifier: ShapedNetwork) -> None:
    _write_images(tmp_path / "pics", "L", (8, 8), {"a": 1})
    (tmp_path / "pics" / "a" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"cannot read image .*broken.png"):
        load_dataset(str(tmp_path / "pics"), classifier, seed=0)


def test_image_folder_without_pillow(
    tmp_path: Path, classifier: ShapedNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_images(tmp_path / "pics", "L", (8, 8), {"a": 1})
    monkeypatch.setitem(__import__("sys").modules, "PIL", None)
    with pytest.raises(DataError, match="Pillow") as info:
        load_dataset(str(tmp_path / "pics"), classifier, seed=0)
    assert info.value.hint is not None and "neural-lang[datasets]" in info.value.hint


def test_empty_image_folder(tmp_path: Path, classifier: ShapedNetwork) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no class folders"):
        load_dataset(str(tmp_path / "empty"), classifier, seed=0)


def test_unreadable_files(tmp_path: Path, classifier: ShapedNetwork) -> None:
    bad = tmp_path / "garbage.npz"
    bad.write_bytes(b"\x00\x01 not a zip")
    with pytest.raises(DataError, match=r"cannot read dataset file .*garbage\.npz"):
        load_dataset(str(bad), classifier, seed=0)
    bad_npy = tmp_path / "garbage.npy"
    bad_npy.write_bytes(b"nope")
    (tmp_path / "garbage_labels.npy").write_bytes(b"nope")
    with pytest.raises(DataError, match=r"cannot read dataset file .*garbage\.npy"):
        load_dataset(str(bad_npy), classifier, seed=0)
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(str(tmp_path / "missing.csv"), classifier, seed=0)
    other = tmp_path / "data.parquet"
    other.write_bytes(b"")
    with pytest.raises(DataError, match=r"unsupported file type `\.parquet`"):
        load_dataset(str(other), classifier, seed=0)
