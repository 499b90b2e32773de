"""Image classification data for demos and benchmarks, found without blind downloads.

``load(name)`` looks, in order, at:

1. ``path`` (argument) or the ``NEURONSELECT_DATA`` environment variable: an ``.npz`` file in
   ``keras.datasets.mnist``'s layout (``x_train``, ``y_train``, ``x_test``, ``y_test``), a
   directory holding ``<name>.npz``, or a directory holding the four IDX files (optionally
   ``.gz``);
2. tensorflow-datasets, only if it already has the data prepared (``download=False``), or if a
   2-second connection check says its download servers are reachable;
3. otherwise it raises a ``FileNotFoundError`` that says how to provide the data.

``load("digits")`` uses scikit-learn's bundled 8x8 digits and works offline anywhere.
"""

import dataclasses
import gzip
import os
import pathlib
import socket

import numpy as np

NAMES = ("mnist", "fashion_mnist", "cifar10", "digits")
ENV_VAR = "NEURONSELECT_DATA"
_IDX_FILES = {
    "x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte",
}


@dataclasses.dataclass
class Data:
    """Train and test arrays (images float32 in [0, 1], channels last; labels int32)."""

    name: str
    source: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def input_shape(self):
        return self.x_train.shape[1:]

    @property
    def num_classes(self):
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    def as_tf_data(self, batch_size=128, shuffle_seed=0):
        """``(train, test)`` as batched ``tf.data.Dataset`` pipelines (train shuffled)."""
        import tensorflow as tf

        train = tf.data.Dataset.from_tensor_slices((self.x_train, self.y_train))
        train = train.shuffle(len(self.x_train), seed=shuffle_seed).batch(batch_size)
        test = tf.data.Dataset.from_tensor_slices((self.x_test, self.y_test)).batch(batch_size)
        return train.prefetch(2), test.prefetch(2)


def _normalize(name, source, x_train, y_train, x_test, y_test):
    def images(x):
        x = np.asarray(x, dtype="float32")
        scale = 255.0 if x.max() > 1.0 else 1.0
        return (x / scale)[..., None] if x.ndim == 3 else x / scale

    return Data(name, source, images(x_train), np.asarray(y_train, "int32").reshape(-1),
                images(x_test), np.asarray(y_test, "int32").reshape(-1))


def _read_idx(path):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        raw = handle.read()
    dims = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def _find_idx(directory):
    found = {}
    for key, stem in _IDX_FILES.items():
        candidates = [directory / stem, directory / f"{stem}.gz"]
        existing = [c for c in candidates if c.is_file()]
        if not existing:
            return None
        found[key] = existing[0]
    return found


def _load_local(name, location):
    location = pathlib.Path(location).expanduser()
    npz = location if location.suffix == ".npz" else location / f"{name}.npz"
    if npz.is_file():
        with np.load(npz) as arrays:
            missing = [k for k in _IDX_FILES if k not in arrays]
            if missing:
                raise ValueError(
                    f"Expected {npz} to hold arrays {sorted(_IDX_FILES)} (keras.datasets layout). "
                    f"Received keys {sorted(arrays.keys())}; missing {missing}."
                )
            return _normalize(name, str(npz), *(arrays[k] for k in _IDX_FILES))
    if location.is_dir():
        files = _find_idx(location)
        if files is not None:
            return _normalize(name, str(location), *(_read_idx(files[k]) for k in _IDX_FILES))
    return None


def _load_digits():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images.astype("float32") / 16.0
    order = np.random.default_rng(0).permutation(len(images))
    split = int(0.8 * len(images))
    train, test = order[:split], order[split:]
    return Data("digits", "scikit-learn bundled digits (8x8)", images[train][..., None],
                bunch.target[train].astype("int32"), images[test][..., None],
                bunch.target[test].astype("int32"))


def _online(host="storage.googleapis.com", port=443, timeout=2.0):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _load_tfds(name):
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        return None
    for download in (False, True):
        if download and not _online():
            return None
        try:
            splits = tfds.load(name, split=["train", "test"], batch_size=-1, as_supervised=True,
                               download=download)
        except Exception:  # tfds raises AssertionError/DatasetNotFoundError when not prepared
            continue
        (x_train, y_train), (x_test, y_test) = tfds.as_numpy(splits)
        return _normalize(name, "tensorflow-datasets", x_train, y_train, x_test, y_test)
    return None


def load(name="mnist", path=None):
    """Loads ``name`` (one of ``NAMES``) as a ``Data`` object; see the module doc for sources."""
    if name not in NAMES:
        raise ValueError(f"Expected a dataset name in {list(NAMES)}. Received: name={name!r}.")
    if name == "digits":
        return _load_digits()
    location = path or os.environ.get(ENV_VAR)
    if location:
        data = _load_local(name, location)
        if data is not None:
            return data
        if path:
            raise FileNotFoundError(
                f"Expected {name} data at {path}: an .npz in keras.datasets layout, a directory "
                f"holding {name}.npz, or the four IDX files. Found none of these."
            )
    data = _load_tfds(name)
    if data is not None:
        return data
    raise FileNotFoundError(
        f"Could not find the {name} data: no local copy (pass path=... or set {ENV_VAR} to an "
        f"{name}.npz file or its directory) and tensorflow-datasets has not prepared it and "
        f"cannot download it from here. Use load('digits') to run offline."
    )
