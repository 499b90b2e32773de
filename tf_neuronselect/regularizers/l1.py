"""L1 penalty with a soft-threshold prox; the gate layers use it on their thetas."""

from keras import ops

from tf_neuronselect.api_export import neuronselect_export
from tf_neuronselect.ops.proximal import soft_threshold
from tf_neuronselect.regularizers.base import ProximalPenalty
from tf_neuronselect.utils.validation import validate_non_negative_float


@neuronselect_export
class L1(ProximalPenalty):
    """``strength * sum(|x|)``; under a proximal optimizer entries reach exactly zero.

    Args:
        strength: non-negative float.
    """

    def __init__(self, strength=0.01):
        super().__init__()
        self.strength = validate_non_negative_float(strength, "strength", "L1")

    def nonsmooth_penalty(self, x):
        return ops.cast(self.strength, x.dtype) * ops.sum(ops.abs(x))

    def nonsmooth_gradient(self, x):
        return ops.cast(self.strength, x.dtype) * ops.sign(x)

    def prox(self, x, step, bias=None):
        return soft_threshold(x, step * ops.cast(self.strength, x.dtype)), bias

    def metric_step(self, step, metric, bias_metric=None):
        # Separable, so the prox under a diagonal metric is exact: one step per entry.
        return step / metric

    def get_config(self):
        return {"strength": self.strength}
