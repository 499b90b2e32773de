from tf_neuronselect.ops.proximal import group_norms
from tf_neuronselect.ops.proximal import group_soft_threshold
from tf_neuronselect.ops.proximal import soft_threshold

__all__ = ["group_norms", "group_soft_threshold", "soft_threshold"]
