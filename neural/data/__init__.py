"""Training data for `neural train`: built-in, file and downloadable datasets fitted to a network.

    from neural.data import load_dataset
    data = load_dataset("digits", shaped_network, seed=0)
    parts = data.split(validation=0.2, test=0.1, seed=0)
    for batch in parts.train.batches(32, shuffle=True, rng=np.random.default_rng(0)):
        batch.x["input"], batch.y

See `loader.load_dataset` for the names and paths accepted, `files` and `downloads` for the
formats, and `datasets` for the conventions that fit arrays to a network. Nothing here unpickles.
"""

from neural.data.datasets import (
    Batch,
    DataError,
    Dataset,
    Splits,
    Task,
    fit_inputs,
    fit_targets,
    task_of,
    vocabulary_size,
)
from neural.data.downloads import ENV_VAR, SHA256, default_cache_dir
from neural.data.loader import KNOWN_DATASETS, canonical_name, load_dataset

__all__ = [
    "ENV_VAR",
    "KNOWN_DATASETS",
    "SHA256",
    "Batch",
    "DataError",
    "Dataset",
    "Splits",
    "Task",
    "canonical_name",
    "default_cache_dir",
    "fit_inputs",
    "fit_targets",
    "load_dataset",
    "task_of",
    "vocabulary_size",
]
