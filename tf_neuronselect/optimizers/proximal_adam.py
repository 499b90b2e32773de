"""Adam followed by the closed-form proximal step of each penalty."""

import keras

from tf_neuronselect.api_export import neuronselect_export
from tf_neuronselect.optimizers.proximal_step import ProximalStepMixin


@neuronselect_export
class ProximalAdam(ProximalStepMixin, keras.optimizers.Adam):
    """``keras.optimizers.Adam`` plus the proximal step of ``ProximalSGD`` (step = learning rate).

    The prox uses the base learning rate, not Adam's per-coordinate step, the usual heuristic for
    proximal adaptive methods: zeros stay exact, but the effective strength differs from SGD's.
    Takes exactly the arguments of ``keras.optimizers.Adam``.
    """
