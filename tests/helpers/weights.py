"""Reaching into a layer's weights by path, to kill units by hand in tests."""

import keras


def weights_by_path(layer):
    """``{path inside the layer: variable}`` (``"value/kernel"``, ``"attention_output/kernel"``)."""
    return {w.path.split("/", 1)[1]: w for w in layer.weights}


def zero_entries(variable, index):
    """Sets ``variable[index]`` to 0 (NumPy indexing)."""
    value = keras.ops.convert_to_numpy(variable).copy()
    value[index] = 0.0
    variable.assign(value)
