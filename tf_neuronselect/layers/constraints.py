"""Clipping constraint for gates that live in [0, 1]."""

import keras
from keras import ops

from tf_neuronselect.api_export import neuronselect_export


@neuronselect_export
class UnitInterval(keras.constraints.Constraint):
    """Clips a weight to [0, 1] after every optimizer step (the tri-state ReLU gates)."""

    def __call__(self, w):
        return ops.clip(w, 0.0, 1.0)

    def get_config(self):
        return {}
