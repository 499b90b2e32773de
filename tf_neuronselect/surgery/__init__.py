"""Model rewriting: read the graph, plan which channels go, rebuild a smaller stock model."""

from tf_neuronselect.surgery.costs import count_macs
from tf_neuronselect.surgery.graph import ModelGraph
from tf_neuronselect.surgery.plan import LayerPlan
from tf_neuronselect.surgery.plan import Plan
from tf_neuronselect.surgery.planner import make_plan
from tf_neuronselect.surgery.registry import get_slicer
from tf_neuronselect.surgery.registry import register_slicer
from tf_neuronselect.surgery.reporting import LayerReport
from tf_neuronselect.surgery.reporting import Report
from tf_neuronselect.surgery.reporting import model_size
from tf_neuronselect.surgery.reporting import report
from tf_neuronselect.surgery.rewrite import shrink
from tf_neuronselect.surgery.slicers import Elementwise
from tf_neuronselect.surgery.slicers import PinnedSlicer
from tf_neuronselect.surgery.slicers import SameConstant
from tf_neuronselect.surgery.slicers import Slicer
from tf_neuronselect.surgery.unit_slicer import UnitSlicer

__all__ = [
    "Elementwise", "LayerPlan", "LayerReport", "ModelGraph", "PinnedSlicer", "Plan", "Report",
    "SameConstant", "Slicer", "UnitSlicer", "count_macs", "get_slicer", "make_plan",
    "model_size", "register_slicer", "report", "shrink",
]
