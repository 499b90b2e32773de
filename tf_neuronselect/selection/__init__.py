"""What is dead: per-unit verdicts from the weights (no graph knowledge)."""

from tf_neuronselect.selection.dead import UnitStatus
from tf_neuronselect.selection.dead import check_finite
from tf_neuronselect.selection.dead import layer_status
from tf_neuronselect.selection.dead import unused_inputs
from tf_neuronselect.selection.report import LayerReport
from tf_neuronselect.selection.report import Report

__all__ = [
    "LayerReport", "Report", "UnitStatus", "check_finite", "layer_status", "unused_inputs",
]
