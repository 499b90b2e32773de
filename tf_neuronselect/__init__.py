"""tf_neuronselect: learn how many neurons each Keras layer needs while it trains, then remove
the dead ones and export compact models."""

from tf_neuronselect import grouping
from tf_neuronselect import ops
from tf_neuronselect.layers import Gate
from tf_neuronselect.layers import TriStateReLU
from tf_neuronselect.layers import UnitInterval
from tf_neuronselect.optimizers import ProximalAdam
from tf_neuronselect.optimizers import ProximalSGD
from tf_neuronselect.penalties import add_penalty
from tf_neuronselect.regularizers import Binarizing
from tf_neuronselect.regularizers import DropNeuron
from tf_neuronselect.regularizers import GroupLasso
from tf_neuronselect.regularizers import L1
from tf_neuronselect.regularizers import ProximalPenalty
from tf_neuronselect.regularizers import SparseGroupLasso

__version__ = "0.1.0"

__all__ = [
    "Binarizing",
    "DropNeuron",
    "Gate",
    "GroupLasso",
    "L1",
    "ProximalAdam",
    "ProximalPenalty",
    "ProximalSGD",
    "SparseGroupLasso",
    "TriStateReLU",
    "UnitInterval",
    "add_penalty",
    "grouping",
    "ops",
]
