"""The ``data=`` that data-driven importances and bias compensation read: a few batches.

Accepted: an array of inputs (or a list of arrays, one per model input), or a pair ``(x, y)``
of arrays (``y`` is needed by the Taylor importance). At most ``MAX_SAMPLES`` samples are used:
these statistics settle on a few hundred examples.
"""

import numpy as np

MAX_SAMPLES = 1024


def _is_pair(data):
    return isinstance(data, tuple) and len(data) == 2


def check_data(data, needs_labels, owner):
    """Raises ``ValueError`` when ``data`` is missing or has no labels where they are needed."""
    if data is None:
        raise ValueError(
            f"{owner}: expected `data=` (a few batches of inputs, or (x, y)) for a data-driven "
            "importance or bias compensation. Received: data=None. How to fix: pass e.g. "
            "data=(x_train[:512], y_train[:512]), or importance='l2'."
        )
    if needs_labels and not _is_pair(data):
        raise ValueError(
            f"{owner}: expected `data=(x, y)` with labels for the Taylor importance (it takes "
            f"the loss's gradient). Received: data of type {type(data).__name__}. How to fix: "
            "pass data=(x_train[:512], y_train[:512])."
        )


def inputs_of(data):
    """The inputs of ``data``, at most ``MAX_SAMPLES`` of them."""
    x = data[0] if _is_pair(data) else data
    return [np.asarray(a)[:MAX_SAMPLES] for a in x] if isinstance(x, list) else \
        np.asarray(x)[:MAX_SAMPLES]


def labels_of(data):
    """The labels of ``(x, y)`` data, at most ``MAX_SAMPLES`` of them."""
    return np.asarray(data[1])[:MAX_SAMPLES]
