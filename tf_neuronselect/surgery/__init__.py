"""Model rewriting: plan which channels go, rebuild a smaller stock model.

The slicer classes and ``register_slicer`` live in ``tf_neuronselect.analysis`` (how channels
flow through a layer is read before any rewriting); they are re-exported here, where users
declare how their own layers are narrowed."""

from tf_neuronselect.analysis import Elementwise
from tf_neuronselect.analysis import ModelGraph
from tf_neuronselect.analysis import PinnedSlicer
from tf_neuronselect.analysis import SameConstant
from tf_neuronselect.analysis import Scale
from tf_neuronselect.analysis import Slicer
from tf_neuronselect.analysis import UnitSlicer
from tf_neuronselect.analysis import get_slicer
from tf_neuronselect.analysis import register_slicer
from tf_neuronselect.surgery.costs import count_macs
from tf_neuronselect.surgery.gates import add_gates
from tf_neuronselect.surgery.plan import LayerPlan
from tf_neuronselect.surgery.plan import Plan
from tf_neuronselect.surgery.planner import make_plan
from tf_neuronselect.surgery.reporting import LayerReport
from tf_neuronselect.surgery.reporting import Report
from tf_neuronselect.surgery.reporting import model_size
from tf_neuronselect.surgery.reporting import report
from tf_neuronselect.surgery.rewrite import shrink

__all__ = [
    "Elementwise", "LayerPlan", "LayerReport", "ModelGraph", "PinnedSlicer", "Plan", "Report",
    "SameConstant", "Scale", "Slicer", "UnitSlicer", "add_gates", "count_macs", "get_slicer", "make_plan",
    "model_size", "register_slicer", "report", "shrink",
]
