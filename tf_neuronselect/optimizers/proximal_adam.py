"""Adam followed by the closed-form proximal step of each penalty."""

import keras

from tf_neuronselect.api_export import neuronselect_export
from tf_neuronselect.optimizers.proximal_step import ProximalStepMixin
from tf_neuronselect.utils import keras_private
from tf_neuronselect.utils.validation import validate_bool


@neuronselect_export
class ProximalAdam(ProximalStepMixin, keras.optimizers.Adam):
    """``keras.optimizers.Adam`` plus the proximal step of ``ProximalSGD``.

    By default the prox step is the base learning rate, not Adam's per-entry step: zeros stay
    exact, but Adam moves every weight about ``learning_rate`` a step whatever its gradient's
    size, so a group lasso wears down important and unimportant groups alike.

    ``adaptive_prox=True`` takes the prox in Adam's own metric (ProxGen, Yun et al. 2021):
    each entry's prox step is ``learning_rate`` over Adam's denominator ``sqrt(v_hat) +
    epsilon``, the step its gradient just took. L1 terms (``L1``, gates, the L1 part of a sparse
    group lasso) are then exact; a group, whose prox has no closed form in that metric, takes the
    step of its mean denominator. A group then dies where its mean gradient is below the
    penalty's pull, as under SGD, so strengths are in gradient units: they differ from those of
    the default. Penalties without such a step (``DropNeuron``, ``Binarizing``) are refused.

    Args:
        adaptive_prox: bool, the prox in Adam's metric (above); default False.
        prox_warmup_steps: int >= 0, the prox ramped in over that many steps (see
            ``ProximalSGD``); 0 by default.
        *args, **kwargs: exactly the arguments of ``keras.optimizers.Adam``.
    """

    def __init__(self, *args, adaptive_prox=False, **kwargs):
        adaptive_prox = validate_bool(adaptive_prox, "adaptive_prox", "ProximalAdam")
        super().__init__(*args, **kwargs)
        self.adaptive_prox = bool(adaptive_prox)

    def _prox_metric_enabled(self):
        return self.adaptive_prox

    def _prox_metric(self, member_index, member):
        # Adam divides the bias-corrected momentum by sqrt(v) / sqrt(1 - beta_2^t) + epsilon
        # (written with alpha in keras.optimizers.Adam): the same denominator, per entry.
        dtype = member.dtype
        v = keras.ops.cast(keras_private.adam_second_moment(self, member_index), dtype)
        local_step = keras.ops.cast(self.iterations + 1, dtype)
        correction = keras.ops.sqrt(1 - keras.ops.power(keras.ops.cast(self.beta_2, dtype),
                                                        local_step))
        return (keras.ops.sqrt(v) + self.epsilon) / correction

    def get_config(self):
        config = super().get_config()
        config["adaptive_prox"] = self.adaptive_prox
        return config
