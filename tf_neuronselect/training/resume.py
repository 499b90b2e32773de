"""The data of the rest of an epoch that a removal interrupted (``shrink_every_steps``).

``model.fit`` cannot start in the middle of an epoch, so the rest of it is a fit of its own:
- arrays (NumPy, tensors, or lists / dicts of them) with ``shuffle=False``: the examples
  after the ``done`` batches, exactly as the epoch would have gone on;
- arrays with shuffling (Keras's default): ``steps_per_epoch`` = the batches left, drawn
  from a fresh shuffle (Keras does not say which examples the interrupted part used);
- a ``tf.data.Dataset``: ``dataset.skip(done)`` (a reshuffling dataset draws a fresh order);
- any data with ``steps_per_epoch=S``: ``S - done`` steps, from where a new ``fit`` starts.
Python generators and ``keras.utils.PyDataset`` cannot be resumed and are refused.
"""

import math

import keras


def _is_dataset(x):
    # Duck-typed: training code does not import TensorFlow.
    return hasattr(x, "skip") and hasattr(x, "element_spec")


def _is_array_like(x):
    leaves = keras.tree.flatten(x) if x is not None else []
    return bool(leaves) and all(len(getattr(leaf, "shape", ())) >= 1 for leaf in leaves)


def _length(x):
    return int(keras.tree.flatten(x)[0].shape[0])


def _sliced(x, start, stop=None):
    return None if x is None else keras.tree.map_structure(lambda a: a[start:stop], x)


def check_resumable(x, fit_kwargs):
    """Raises ``ValueError`` unless an epoch of ``x`` can be continued after some batches."""
    if fit_kwargs.get("steps_per_epoch") or _is_dataset(x) or _is_array_like(x):
        return
    raise ValueError(
        "fit_with_shrinking: expected arrays, tensors or a tf.data.Dataset (or any data with "
        "`steps_per_epoch`) when `shrink_every_steps` is set, so that an epoch can go on "
        f"after a removal. Received: x of type {type(x).__name__}. How to fix: pass arrays or "
        "a tf.data.Dataset, pass steps_per_epoch, or remove at epoch ends only "
        "(shrink_every_steps=None)."
    )


def split_validation(x, y, fit_kwargs):
    """``validation_split`` turned into ``validation_data`` up front, as Keras splits arrays
    (the last fraction, before shuffling), so the rest of an epoch never re-splits."""
    split = fit_kwargs.get("validation_split")
    if not split or not _is_array_like(x):
        return x, y, fit_kwargs
    kwargs = dict(fit_kwargs)
    del kwargs["validation_split"]
    at = int(math.floor(_length(x) * (1.0 - split)))
    weights = kwargs.get("sample_weight")
    kwargs["validation_data"] = tuple(
        part for part in (_sliced(x, at), _sliced(y, at), _sliced(weights, at))
        if part is not None)
    if weights is not None:
        kwargs["sample_weight"] = _sliced(weights, 0, at)
    return _sliced(x, 0, at), _sliced(y, 0, at), kwargs


def rest_of_epoch(x, y, fit_kwargs, done):
    """``(x, y, fit_kwargs)`` for a fit of the batches of an epoch after the first ``done``."""
    kwargs = dict(fit_kwargs)
    if kwargs.get("steps_per_epoch"):
        kwargs["steps_per_epoch"] -= done
        return x, y, kwargs
    if _is_dataset(x):
        return x.skip(done), y, kwargs
    batch = kwargs.get("batch_size") or 32
    if kwargs.get("shuffle", True):
        kwargs["steps_per_epoch"] = math.ceil(_length(x) / batch) - done
        return x, y, kwargs
    start = done * batch
    kwargs["sample_weight"] = _sliced(kwargs.get("sample_weight"), start)
    return _sliced(x, start), _sliced(y, start), kwargs
