"""Reading a model: its graph, how channels couple through each layer (the slicer registry),
and the unit groups that follow. Pure: nothing here depends on the weights' values."""

from tf_neuronselect.analysis.graph import ModelGraph
from tf_neuronselect.analysis.registry import get_slicer
from tf_neuronselect.analysis.registry import register_slicer
from tf_neuronselect.analysis.slicers import Elementwise
from tf_neuronselect.analysis.slicers import PinnedSlicer
from tf_neuronselect.analysis.slicers import SameConstant
from tf_neuronselect.analysis.slicers import Scale
from tf_neuronselect.analysis.slicers import Slicer
from tf_neuronselect.analysis.unit_slicer import UnitSlicer

__all__ = [
    "Elementwise", "ModelGraph", "PinnedSlicer", "SameConstant", "Scale", "Slicer", "UnitSlicer",
    "get_slicer", "register_slicer",
]
