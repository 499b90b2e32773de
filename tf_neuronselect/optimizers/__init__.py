from tf_neuronselect.optimizers.proximal_adam import ProximalAdam
from tf_neuronselect.optimizers.proximal_sgd import ProximalSGD

__all__ = ["ProximalAdam", "ProximalSGD"]
