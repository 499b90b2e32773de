"""ShrinkNets' filter layer: ``x * max(0, theta)`` with one theta per channel (Leclerc et al.)."""

import keras
from keras import ops

from tf_neuronselect.api_export import neuronselect_export
from tf_neuronselect.regularizers.l1 import L1
from tf_neuronselect.utils.validation import validate_non_negative_float


@neuronselect_export
class Gate(keras.layers.Layer):
    """Multiplies each channel of the last axis by ``max(0, theta)``, theta initialised to 1.

    An L1 penalty ``l1 * sum(|theta|)`` is attached to theta; with ``ProximalSGD`` /
    ``ProximalAdam`` it is applied as a soft threshold, so thetas reach exactly zero instead of
    oscillating around it. A channel whose theta is <= 0 gets no gradient through the ``max`` and
    stays dead for good; ``tf_neuronselect.shrink`` removes it and folds the live thetas into
    the neighbouring layers. Place it after a Dense or Conv1D/2D/3D layer (channels_last).

    Args:
        l1: strength of the L1 penalty on theta (``lambda`` in the paper, the one size knob).
        **kwargs: base layer keyword arguments such as ``name``.
    """

    def __init__(self, l1=0.0, **kwargs):
        super().__init__(**kwargs)
        self.l1 = validate_non_negative_float(l1, "l1", "Gate")
        self.supports_masking = True

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(
                f"Gate '{self.name}': expected the last (channel) axis of the input to be "
                f"known. Received: input_shape={input_shape}. Give the input a fixed number "
                "of channels, e.g. keras.Input((None, 16))."
            )
        self.theta = self.add_weight(
            name="theta",
            shape=(channels,),
            initializer="ones",
            regularizer=L1(self.l1) if self.l1 else None,
        )

    def call(self, inputs):
        return inputs * ops.cast(ops.relu(self.theta), inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"l1": self.l1})
        return config
