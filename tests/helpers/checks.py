"""Checks shared by the rewriting tests: same outputs, stock layers only."""

import keras
import numpy as np

import tf_neuronselect as ns


def assert_equivalent(model, shrunk, x, training=False):
    """``shrunk`` computes what ``model`` does on ``x``, to 1e-5 of the largest output."""
    before = keras.ops.convert_to_numpy(model(x, training=training))
    after = keras.ops.convert_to_numpy(shrunk(x, training=training))
    assert before.shape == after.shape
    tolerance = 1e-5 * max(1.0, float(np.max(np.abs(before))))
    assert np.max(np.abs(before - after)) <= tolerance


def assert_stock_only(shrunk):
    """No tf_neuronselect layer is left: the model loads with plain Keras."""
    for layer in shrunk.layers:
        assert not isinstance(layer, (ns.Gate, ns.TriStateReLU)), layer.name
        assert type(layer).__module__.startswith("keras."), type(layer)
