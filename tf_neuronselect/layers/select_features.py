"""``SelectFeatures``: keeps the listed features of one axis, the model-input end of
``shrink(model, prune_inputs=True)``."""

import keras
from keras import ops

from tf_neuronselect.api_export import neuronselect_export


@neuronselect_export
class SelectFeatures(keras.layers.Layer):
    """Keeps features ``indices`` (in that order) of axis ``axis``: ``ops.take(x, indices,
    axis)``. No weights; the indices are part of the config.

    ``tf_neuronselect.shrink(model, prune_inputs=True)`` puts one right after a model input
    (or after a Flatten reading one) so the model keeps its input signature while the next
    layer's kernel only holds rows for the features it uses. A saved model containing it
    needs ``tf_neuronselect`` importable to load.

    Args:
        indices: non-empty sequence of distinct non-negative ints, the features kept.
        axis: the axis they index (not the batch axis 0); default the last.
        **kwargs: base layer keyword arguments such as ``name``.
    """

    def __init__(self, indices, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.indices = _validate_indices(indices)
        self.axis = _validate_axis(axis)

    def build(self, input_shape):
        axis = self.axis if self.axis >= 0 else len(input_shape) + self.axis
        if not 0 < axis < len(input_shape):
            raise ValueError(
                f"SelectFeatures '{self.name}': expected `axis` to name a non-batch axis of "
                f"the input. Received: axis={self.axis} for input_shape={input_shape}. "
                "How to fix: pass axis=-1 (the features) or another axis >= 1 of the input."
            )
        size = input_shape[axis]
        if size is not None and max(self.indices) >= size:
            raise ValueError(
                f"SelectFeatures '{self.name}': expected every index to be < {size}, the "
                f"size of axis {self.axis}. Received: largest index {max(self.indices)}. "
                "How to fix: pass indices of features the input has."
            )

    def call(self, inputs):
        indices = ops.convert_to_tensor(self.indices, dtype="int32")
        return ops.take(inputs, indices, axis=self.axis)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        shape[self.axis] = len(self.indices)
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config.update({"indices": list(self.indices), "axis": self.axis})
        return config


def _validate_indices(indices):
    try:
        values = [int(i) for i in indices]
        exact = all(int(i) == i and not isinstance(i, bool) for i in indices)
    except (TypeError, ValueError):
        values, exact = None, False
    if not values or not exact or min(values) < 0 or len(set(values)) != len(values):
        raise ValueError(
            "SelectFeatures: expected `indices` to be a non-empty sequence of distinct "
            f"non-negative ints. Received: indices={indices!r}. How to fix: pass e.g. "
            "indices=[0, 3, 7]."
        )
    return values


def _validate_axis(axis):
    if isinstance(axis, bool) or not isinstance(axis, int) or axis == 0:
        raise ValueError(
            "SelectFeatures: expected `axis` to be a non-zero int (axis 0 is the batch). "
            f"Received: axis={axis!r}. How to fix: pass axis=-1."
        )
    return axis
