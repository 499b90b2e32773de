"""Training-side model selection: shrink while training, size budgets, per-layer strengths.

- ``fit_with_shrinking``: ``model.fit`` in chunks that removes dead units between chunks and
  carries the optimizer state (slots, step counter, schedule) over to the smaller model.
- ``SizeBudget``: a callback that adapts the penalty strengths until the model's parameter or
  multiply-add count lands within a tolerance of a target (``BudgetController`` is the
  controller; ``LatencyBudget`` steers by measured latency).
- ``NeuronHistory``: a callback recording the alive units (and sizes) while training.
- ``layer_strengths`` / ``apply_layer_strengths``: one strength per layer by a documented rule.
"""

from tf_neuronselect.training.budget import BudgetController
from tf_neuronselect.training.budget import SizeBudget
from tf_neuronselect.training.compression import CompressionRecord
from tf_neuronselect.training.compression import compress
from tf_neuronselect.training.history import NeuronHistory
from tf_neuronselect.training.latency_budget import LatencyBudget
from tf_neuronselect.training.latency_budget import set_default_timer
from tf_neuronselect.training.shrinking import ShrinkHistory
from tf_neuronselect.training.shrinking import fit_with_shrinking
from tf_neuronselect.training.shrinking import shrink_for_training
from tf_neuronselect.training.strengths import apply_layer_strengths
from tf_neuronselect.training.strengths import layer_strengths
from tf_neuronselect.training.strengths import scale_strengths
from tf_neuronselect.training.strengths import strength_of
from tf_neuronselect.training.strengths import with_strength
from tf_neuronselect.training.transfer import compile_like
from tf_neuronselect.training.transfer import slot_lists

__all__ = [
    "BudgetController", "CompressionRecord", "LatencyBudget", "NeuronHistory", "ShrinkHistory", "SizeBudget",
    "apply_layer_strengths", "compile_like", "compress", "fit_with_shrinking", "layer_strengths",
    "scale_strengths", "set_default_timer", "shrink_for_training", "slot_lists", "strength_of",
    "with_strength",
]
