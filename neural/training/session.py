"""`neural train`, `neural eval` and `neural predict` as library calls (the CLI only renders them)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neural import __version__
from neural.api import analyse
from neural.data.datasets import Dataset
from neural.data.loader import load_dataset
from neural.errors import NeuralError
from neural.resolve.loader import load_text
from neural.resolve.resolver import resolve
from neural.shapes.engine import ShapedNetwork
from neural.source import read_source
from neural.training.backend import NumpyBackend, TrainingBackend, require_training_setup
from neural.training.checkpoint import load_checkpoint
from neural.training.events import Reporter, SilentReporter
from neural.training.loop import Trainer, TrainOptions, evaluate
from neural.training.memory import check_fits
from neural.training.rundir import RunDir, default_run_dir

BACKENDS = ("auto", "numpy", "pytorch", "jax", "tensorflow")
BackendFactory = Callable[..., TrainingBackend]


def _pytorch_factory() -> BackendFactory | None:
    """The PyTorch training backend, when both torch and Neural's PyTorch target are present."""
    try:
        if (
            importlib.util.find_spec("torch") is None
            or importlib.util.find_spec("neural.targets.pytorch.training") is None
        ):
            return None
    except ModuleNotFoundError:
        return None
    from neural.targets.pytorch.training import TorchBackend

    return TorchBackend


def _jax_factory() -> BackendFactory | None:
    """The JAX training backend, when jax, flax and optax are installed."""
    if any(importlib.util.find_spec(name) is None for name in ("jax", "flax", "optax")):
        return None
    from neural.targets.jax.training import JaxBackend

    return JaxBackend


def _tensorflow_factory() -> BackendFactory | None:
    """The TensorFlow/Keras training backend, when TensorFlow (with Keras 3) is installed."""
    if any(importlib.util.find_spec(name) is None for name in ("tensorflow", "keras")):
        return None
    from neural.targets.tensorflow.training import TensorFlowBackend

    return TensorFlowBackend


def choose_backend(requested: str) -> tuple[str, BackendFactory, str]:
    """(name, factory, reason) for `--backend`; `auto` takes PyTorch when available, else NumPy."""
    if requested not in BACKENDS:
        raise NeuralError(f"unknown backend `{requested}`; choose one of {', '.join(BACKENDS)}")
    if requested == "tensorflow":
        tensorflow_factory = _tensorflow_factory()
        if tensorflow_factory is None:
            raise NeuralError("the TensorFlow backend needs TensorFlow: pip install 'neural-lang[tensorflow]'")
        return "tensorflow", tensorflow_factory, "requested"
    if requested == "jax":
        jax_factory = _jax_factory()
        if jax_factory is None:
            raise NeuralError("the JAX backend needs jax, flax and optax: pip install 'neural-lang[jax]'")
        return "jax", jax_factory, "requested"
    if requested in ("auto", "pytorch"):
        torch_factory = _pytorch_factory()
        if torch_factory is not None:
            return "pytorch", torch_factory, "PyTorch is installed" if requested == "auto" else "requested"
        if requested == "pytorch":
            raise NeuralError("the PyTorch backend needs PyTorch: pip install 'neural-lang[torch]'")
        return "numpy", NumpyBackend, "PyTorch is not installed"
    return "numpy", NumpyBackend, "requested"


@dataclass
class TrainResult:
    run: RunDir
    final: dict[str, Any]
    backend: str


def _network(text: str, path: str, name: str | None, hpo: Mapping[str, Any] | None) -> ShapedNetwork:
    program = resolve(load_text(text, path), hpo)
    return analyse(program.network(name))


def train(
    path: str | Path,
    *,
    network: str | None = None,
    backend: str = "auto",
    data: str | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    seed: int | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    dtype: str = "float32",
    reporter: Reporter | None = None,
    data_options: Mapping[str, Any] | None = None,
) -> TrainResult:
    """Train the network in a `.neural` file; everything lands in a run directory."""
    reporter = reporter or SilentReporter()
    if resume:
        if out is None:
            raise NeuralError("--resume needs --out RUN_DIR (the run to continue)")
        return _resume(RunDir(Path(out)), reporter=reporter)
    source = read_source(path)
    shaped = _network(source.text, source.path, network, None)
    require_training_setup(shaped)
    net = shaped.network
    train_cfg = net.train
    dataset_name = data or train_cfg.get("data")
    if not dataset_name:
        raise NeuralError(
            f"no dataset for network {net.name}: pass --data (digits, synthetic, a file or a folder) or set `data:` in its train block"
        )
    name, factory, why = choose_backend(backend)
    options = TrainOptions.from_config(
        train_cfg, net.metrics, net.loss, epochs=epochs, batch_size=batch_size, seed=seed
    )
    settings = {
        "neural_version": __version__,
        "source_path": str(Path(source.path).resolve()),
        "network": net.name,
        "backend": name,
        "data": str(dataset_name),
        "data_options": dict(data_options or {}),
        "epochs": options.epochs,
        "batch_size": options.batch_size,
        "seed": options.seed,
        "dtype": dtype,
        "hpo": dict(net.hpo_values),
    }
    run = RunDir(Path(out) if out else default_run_dir(net.name))
    if run.checkpoint.exists():
        raise NeuralError(f"{run.path} already holds a run", hint="continue it with --resume, or choose another --out")
    if net.hpo:
        reporter.message("hyperparameters take their first value; `neural tune` searches them")
    reporter.message(f"backend: {name} ({why})")
    return _run(
        shaped, run, settings, options, factory, str(dataset_name), reporter, source_text=source.text, resume=False
    )


def _resume(run: RunDir, *, reporter: Reporter) -> TrainResult:
    if not run.file("run.json").exists():
        raise NeuralError(f"{run.path} is not a run directory (no run.json)")
    settings = run.settings()
    shaped = _network(run.source(), settings["source_path"], settings["network"], settings.get("hpo"))
    net = shaped.network
    options = TrainOptions.from_config(
        net.train,
        net.metrics,
        net.loss,
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        seed=settings["seed"],
    )
    name, factory, _ = choose_backend(settings["backend"])
    reporter.message(f"backend: {name}")
    return _run(shaped, run, settings, options, factory, settings["data"], reporter, source_text=None, resume=True)


def _run(
    shaped: ShapedNetwork,
    run: RunDir,
    settings: dict[str, Any],
    options: TrainOptions,
    factory: BackendFactory,
    dataset_name: str,
    reporter: Reporter,
    *,
    source_text: str | None,
    resume: bool,
) -> TrainResult:
    dtype = np.dtype(settings.get("dtype", "float32"))
    check_fits(shaped, options.batch_size, dtype.itemsize)
    dataset = load_dataset(dataset_name, shaped, seed=options.seed, **settings.get("data_options", {}))
    backend = factory(
        shaped,
        seed=options.seed,
        dtype=dtype,
        clip_norm=shaped.network.train.get("clip_norm"),
        clip_value=shaped.network.train.get("clip_value"),
    )
    if source_text is not None:
        run.create(source_text, settings)
    trainer = Trainer(backend, options, run, reporter)
    final = trainer.fit(dataset, resume=resume)
    return TrainResult(run, final, backend.name)


@dataclass
class LoadedRun:
    run: RunDir
    shaped: ShapedNetwork
    settings: dict[str, Any]
    weights: dict[str, np.ndarray]


def open_run(path: str | Path) -> LoadedRun:
    """A finished (or checkpointed) run: its network, settings and trained weights."""
    run = RunDir(Path(path))
    if not run.file("run.json").exists():
        raise NeuralError(f"{run.path} is not a run directory (no run.json)")
    settings = run.settings()
    shaped = _network(run.source(), settings["source_path"], settings["network"], settings.get("hpo"))
    weights_file = run.model if run.model.exists() else run.checkpoint
    if not weights_file.exists():
        raise NeuralError(f"{run.path} has no trained weights yet")
    weights = load_checkpoint(weights_file).weights
    return LoadedRun(run, shaped, settings, weights)


def _inference_backend(loaded: LoadedRun) -> NumpyBackend:
    dtype = np.dtype(loaded.settings.get("dtype", "float32"))
    backend = NumpyBackend(loaded.shaped, seed=int(loaded.settings.get("seed", 0)), dtype=dtype)
    backend.load_weights(loaded.weights)
    return backend


def evaluate_run(path: str | Path, *, data: str | None = None, batch_size: int | None = None) -> dict[str, Any]:
    """Loss and metrics of a saved run on `data` (default: the run's own test or validation split)."""
    loaded = open_run(path)
    net = loaded.shaped.network
    backend = _inference_backend(loaded)
    settings = loaded.settings
    size = batch_size or int(settings.get("batch_size", 32))
    seed = int(settings.get("seed", 0))
    dataset: Dataset
    if data is not None:
        dataset = load_dataset(data, loaded.shaped, seed=seed)
        which = f"{data} (all {len(dataset)} samples)"
    else:
        whole = load_dataset(settings["data"], loaded.shaped, seed=seed, **settings.get("data_options", {}))
        options = TrainOptions.from_config(net.train, net.metrics, net.loss, seed=seed)
        splits = whole.split(validation=options.validation_split, test=options.test_split, seed=seed)
        part = splits.test or splits.validation or splits.train
        which = "test split" if splits.test else "validation split" if splits.validation else "training data"
        dataset = part
    result = evaluate(backend, dataset, size, net.metrics, net.loss)
    return {"data": which, "samples": len(dataset), **result}


def predict_run(
    path: str | Path, inputs: Mapping[str, np.ndarray] | np.ndarray, *, batch_size: int = 256
) -> np.ndarray:
    """Outputs of a saved run's model for `inputs` (one array per network input, batch first)."""
    loaded = open_run(path)
    backend = _inference_backend(loaded)
    specs = loaded.shaped.network.inputs
    arrays = dict(inputs) if isinstance(inputs, Mapping) else {specs[0].name: inputs}
    n = len(next(iter(arrays.values())))
    outputs = [backend.predict({k: v[i : i + batch_size] for k, v in arrays.items()}) for i in range(0, n, batch_size)]
    return np.concatenate(outputs, axis=0)


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def read_inputs(path: str | Path, shaped: ShapedNetwork) -> dict[str, np.ndarray]:
    """Samples to predict on from a file: .npy (one sample or a batch), .npz (arrays named after
    the inputs, or `x`), .csv (one sample per row, numeric columns) or an image file."""
    from neural.data.datasets import fit_inputs

    p = Path(path)
    specs = shaped.network.inputs
    if not p.exists():
        raise NeuralError(f"no such file: {p}")
    suffix = p.suffix.lower()
    try:
        if suffix == ".npy":
            array = np.load(p, allow_pickle=False)
            arrays = {specs[0].name: array[None] if array.ndim == len(specs[0].shape) else array}
            return fit_inputs(p.name, arrays, shaped)
        if suffix == ".npz":
            with np.load(p, allow_pickle=False) as archive:
                found = {k: archive[k] for k in archive.files}
            if len(specs) == 1 and specs[0].name not in found and "x" in found:
                found = {specs[0].name: found["x"]}
            return fit_inputs(p.name, found, shaped)
        if suffix == ".csv":
            rows = np.genfromtxt(p, delimiter=",", skip_header=_has_header(p), dtype=np.float64, ndmin=2)
            return fit_inputs(p.name, {specs[0].name: rows}, shaped)
        if suffix in IMAGE_SUFFIXES:
            return fit_inputs(
                p.name, {specs[0].name: _read_image(p, specs[0].shape, shaped.network.layout)}, shaped, images=True
            )
    except (OSError, ValueError) as exc:
        raise NeuralError(f"cannot read {p}: {exc}") from None
    raise NeuralError(f"cannot predict from {p.name}: use .npy, .npz, .csv or an image ({', '.join(IMAGE_SUFFIXES)})")


def _has_header(path: Path) -> int:
    first = path.read_text(encoding="utf-8", errors="replace").split("\n", 1)[0]
    try:
        [float(v) for v in first.split(",") if v.strip()]
    except ValueError:
        return 1
    return 0


def _read_image(path: Path, shape: tuple[int | None, ...], layout: str) -> np.ndarray:
    """One image as a (1, H, W, C) float array in [0, 1], resized to the input's size."""
    try:
        from PIL import Image
    except ImportError:
        raise NeuralError("reading images needs Pillow: pip install 'neural-lang[datasets]'") from None
    dims = shape if layout == "channels_last" else (*shape[1:], shape[0])
    if len(dims) != 3 or any(d is None for d in dims):
        raise NeuralError(f"an image input needs a known (height, width, channels) shape; the network has {shape}")
    height, width, channels = (int(d) for d in dims if d is not None)
    with Image.open(path) as image:
        converted = image.convert("L" if channels == 1 else "RGB").resize((width, height))
        array = np.asarray(converted, dtype=np.float32) / 255.0
    return array.reshape(1, height, width, channels)
