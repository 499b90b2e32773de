"""A per-head ShrinkNets gate: ``MultiHeadAttention`` whose head h is multiplied by
``max(0, theta_h)`` before the output projection."""

import keras
from keras import ops

from tf_neuronselect.api_export import neuronselect_export
from tf_neuronselect.layers.gate import scaled_gradient
from tf_neuronselect.regularizers.l1 import L1
from tf_neuronselect.utils import keras_private
from tf_neuronselect.utils.validation import validate_non_negative_float
from tf_neuronselect.utils.validation import validate_positive_float


@neuronselect_export
class GatedMultiHeadAttention(keras.layers.MultiHeadAttention):
    """``keras.layers.MultiHeadAttention`` with one gate per head, as ``Gate`` has per channel.

    The output of head h (its attention-weighted values, ``(..., heads, value_dim)``) is
    multiplied by ``max(0, theta_h)`` before the output projection; theta starts at 1, so an
    untrained layer computes what the stock layer with the same weights computes. theta
    carries ``L1(l1 * learning_rate_multiplier)``, which ``ProximalSGD`` / ``ProximalAdam``
    apply as a soft threshold (theta reaches exactly 0), and ``learning_rate_multiplier``
    scales theta's gradient, exactly as for ``Gate``. A head whose theta is <= 0 outputs
    exactly zero: ``tf_neuronselect.shrink`` removes it and rebuilds a stock
    ``MultiHeadAttention`` with the live heads, their ``max(0, theta_h)`` folded into their
    rows of the output kernel. ``ns.add_gates(model, heads=True)`` puts these layers in place
    of a model's ``MultiHeadAttention`` layers.

    Args:
        num_heads, key_dim, ...: as ``keras.layers.MultiHeadAttention`` (``use_gate`` must
            stay False: Keras's own sigmoid gate projection is not sliced per head).
        l1: strength of the L1 penalty on theta.
        learning_rate_multiplier: float > 0, the gates' learning rate relative to the
            optimizer's (see ``Gate``).
    """

    def __init__(self, num_heads, key_dim, l1=0.0, learning_rate_multiplier=1.0, **kwargs):
        owner = "GatedMultiHeadAttention"
        l1 = validate_non_negative_float(l1, "l1", owner)
        multiplier = validate_positive_float(
            learning_rate_multiplier, "learning_rate_multiplier", owner, example=100.0)
        if kwargs.get("use_gate", False):
            raise ValueError(
                f"{owner}: expected use_gate=False. Received: use_gate="
                f"{kwargs['use_gate']!r}. How to fix: drop use_gate; Keras's gate projection "
                "mixes the heads' channels, so heads under it cannot be removed."
            )
        super().__init__(num_heads, key_dim, **kwargs)
        self.l1, self.learning_rate_multiplier = l1, multiplier

    def build(self, query_shape, value_shape, key_shape=None):
        super().build(query_shape, value_shape, key_shape)
        strength = self.l1 * self.learning_rate_multiplier  # scales theta's whole gradient
        self.theta = self.add_weight(
            name="theta", shape=(self.num_heads,), initializer="ones",
            regularizer=L1(strength) if strength else None)

    def head_factors(self):
        """``max(0, theta)`` as a tensor (one factor per head), with the scaled gradient."""
        theta = ops.convert_to_tensor(self.theta)
        if self.learning_rate_multiplier != 1.0:
            theta = scaled_gradient(theta, self.learning_rate_multiplier)
        return ops.relu(theta)

    # Overrides keras_private.ATTENTION_HOOK (MultiHeadAttention._compute_attention, the
    # per-head outputs before the output projection): see keras_private for why.
    def _compute_attention(self, query, key, value, *args, **kwargs):
        output, scores = keras_private.attention_heads_output(
            self, query, key, value, *args, **kwargs)
        factors = ops.cast(ops.reshape(self.head_factors(), (self.num_heads, 1)), output.dtype)
        return output * factors, scores

    def get_config(self):
        config = super().get_config()
        config.update({"l1": self.l1,
                       "learning_rate_multiplier": self.learning_rate_multiplier})
        return config
