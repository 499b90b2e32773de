"""What is dead: per-unit verdicts from the weights (no graph knowledge)."""

from tf_neuronselect.selection.dead import UnitStatus
from tf_neuronselect.selection.dead import check_finite
from tf_neuronselect.selection.dead import layer_status
from tf_neuronselect.selection.dead import unused_inputs

__all__ = ["UnitStatus", "check_finite", "layer_status", "unused_inputs"]
