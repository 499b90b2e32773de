from tf_neuronselect.layers.constraints import UnitInterval
from tf_neuronselect.layers.gate import Gate
from tf_neuronselect.layers.gated_attention import GatedMultiHeadAttention
from tf_neuronselect.layers.select_features import SelectFeatures
from tf_neuronselect.layers.tri_state_relu import TriStateReLU

__all__ = ["Gate", "GatedMultiHeadAttention", "SelectFeatures", "TriStateReLU", "UnitInterval"]
