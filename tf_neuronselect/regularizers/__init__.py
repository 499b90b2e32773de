from tf_neuronselect.regularizers.base import ProximalPenalty
from tf_neuronselect.regularizers.binarizing import Binarizing
from tf_neuronselect.regularizers.drop_neuron import DropNeuron
from tf_neuronselect.regularizers.group_lasso import GroupLasso
from tf_neuronselect.regularizers.group_lasso import SparseGroupLasso
from tf_neuronselect.regularizers.l1 import L1
from tf_neuronselect.regularizers.unit_group_penalty import UnitGroupPenalty

__all__ = ["Binarizing", "DropNeuron", "GroupLasso", "L1", "ProximalPenalty",
           "SparseGroupLasso", "UnitGroupPenalty"]
