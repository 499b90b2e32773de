"""The tri-state ReLU binarizing penalty ``strength * sum(w * (1 - w))`` (Srinivas & Babu)."""

from keras import ops

from tf_neuronselect.api_export import neuronselect_export
from tf_neuronselect.regularizers.base import ProximalPenalty
from tf_neuronselect.utils.validation import validate_non_negative_float


@neuronselect_export
class Binarizing(ProximalPenalty):
    """``strength * sum(w * (1 - w))``: a downward parabola on [0, 1] that pushes each gate to 0
    or 1. Smooth, so it always stays in the loss; its prox is the identity.

    Args:
        strength: non-negative float (``lambda_b`` in the paper).
    """

    def __init__(self, strength=1e-3):
        super().__init__()
        self.strength = validate_non_negative_float(strength, "strength", "Binarizing")

    def smooth_penalty(self, x):
        return ops.cast(self.strength, x.dtype) * ops.sum(x * (1.0 - x))

    def nonsmooth_penalty(self, x):
        return ops.zeros((), dtype=x.dtype)

    def nonsmooth_gradient(self, x):
        return ops.zeros_like(x)

    def prox(self, x, step, bias=None):
        return x, bias

    def get_config(self):
        return {"strength": self.strength}
