"""Keras values as NumPy arrays: what the selection, the rewriter and the callbacks read."""

import keras
import numpy as np


def to_numpy(value):
    """A Keras variable (or tensor, or array) as a NumPy array."""
    return np.asarray(keras.ops.convert_to_numpy(value))
