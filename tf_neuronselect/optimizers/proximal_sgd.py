"""SGD (with momentum / Nesterov) followed by the closed-form proximal step of each penalty."""

import keras

from tf_neuronselect.api_export import neuronselect_export
from tf_neuronselect.optimizers.proximal_step import ProximalStepMixin


@neuronselect_export
class ProximalSGD(ProximalStepMixin, keras.optimizers.SGD):
    """``keras.optimizers.SGD`` plus a proximal step: after each update, every variable whose
    regularizer is a ``tf_neuronselect`` penalty is replaced by ``penalty.prox(variable, lr)``.

    This is proximal (stochastic) gradient descent (Parikh & Boyd 2014) as used by Alvarez &
    Salzmann (2016): whole units reach exactly zero instead of hovering near it. The non-smooth
    part of those penalties is then left out of the loss so it is not applied twice. Other
    regularizers (e.g. ``keras.regularizers.L2``) stay ordinary loss terms. Takes the arguments
    of ``keras.optimizers.SGD`` and ``prox_warmup_steps``: an int >= 0, the prox's step ramped
    linearly from 0 to the learning rate over that many steps (0, the default: no ramp), so
    units are judged once the network has learned something.
    """
