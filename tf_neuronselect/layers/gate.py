"""ShrinkNets' filter layer: ``x * max(0, theta)`` with one theta per channel (Leclerc et al.)."""

import keras
from keras import ops

from tf_neuronselect.api_export import neuronselect_export
from tf_neuronselect.regularizers.l1 import L1
from tf_neuronselect.utils.validation import validate_non_negative_float
from tf_neuronselect.utils.validation import validate_positive_float


@neuronselect_export
class Gate(keras.layers.Layer):
    """Multiplies each channel of the last axis by ``max(0, theta)``, theta initialised to 1.

    An L1 penalty ``l1 * sum(|theta|)`` is attached to theta; with ``ProximalSGD`` /
    ``ProximalAdam`` it is applied as a soft threshold, so thetas reach exactly zero instead of
    oscillating around it. A channel whose theta is <= 0 gets no gradient through the ``max`` and
    stays dead for good; ``tf_neuronselect.shrink`` removes it and folds the live thetas into
    the neighbouring layers. Place it after a Dense or Conv1D/2D/3D layer (channels_last).

    How early gates die: under SGD a gate nobody needs loses ``lr * l1`` per step, so it
    closes after about ``1 / (lr * l1)`` steps, 20,000 at ``lr=0.05, l1=1e-3``: at the
    strengths that keep the accuracy, units die late and training pays for the wide network
    most of the way. ``learning_rate_multiplier=k`` multiplies theta's whole gradient (loss
    and L1 term) by ``k``, which under SGD (momentum, Nesterov and ``ProximalSGD`` included) is
    exactly a learning rate ``k * lr`` for the gates alone: the same gates survive (a gate dies
    where its loss gradient is below ``l1``, whatever the step size), after ``1 / (k * lr *
    l1)`` steps instead. ShrinkNets' MNIST MLP (``benchmarks/bench_shrink_during_training.py``)
    closes its gates within half an epoch with ``k * lr * l1`` near 1/250; much larger ``k``
    makes the gates noisy and costs accuracy. Adam-type optimizers normalise the gradient, so
    there the multiplier only strengthens ``ProximalAdam``'s soft threshold: leave it at 1.

    Args:
        l1: strength of the L1 penalty on theta (``lambda`` in the paper, the one size knob).
        learning_rate_multiplier: float > 0, the gates' learning rate relative to the
            optimizer's (see above); 1 trains them like every other weight.
        **kwargs: base layer keyword arguments such as ``name``.
    """

    def __init__(self, l1=0.0, learning_rate_multiplier=1.0, **kwargs):
        super().__init__(**kwargs)
        self.l1 = validate_non_negative_float(l1, "l1", "Gate")
        self.learning_rate_multiplier = validate_positive_float(
            learning_rate_multiplier, "learning_rate_multiplier", "Gate", example=100.0)
        self.supports_masking = True

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(
                f"Gate '{self.name}': expected the last (channel) axis of the input to be "
                f"known. Received: input_shape={input_shape}. Give the input a fixed number "
                "of channels, e.g. keras.Input((None, 16))."
            )
        # The penalty carries the multiplier too, so the whole gradient of theta is scaled.
        strength = self.l1 * self.learning_rate_multiplier
        self.theta = self.add_weight(
            name="theta",
            shape=(channels,),
            initializer="ones",
            regularizer=L1(strength) if strength else None,
        )

    def call(self, inputs):
        theta = ops.convert_to_tensor(self.theta)
        if self.learning_rate_multiplier != 1.0:
            theta = scaled_gradient(theta, self.learning_rate_multiplier)
        return inputs * ops.cast(ops.relu(theta), inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"l1": self.l1,
                       "learning_rate_multiplier": self.learning_rate_multiplier})
        return config


def scaled_gradient(x, factor):
    """``x`` in the forward pass, ``factor`` times the gradient in the backward pass.

    ``stop_gradient(x) + factor * (x - stop_gradient(x))`` is exactly ``x`` in floating point
    (the difference is exactly 0), so the trained network and the one ``shrink`` folds agree.
    """
    frozen = ops.stop_gradient(x)
    return frozen + factor * (x - frozen)
