"""Pruning a trained model: importance scores over unit groups, one-shot or iterative ``prune``
to a target, and bias compensation."""

from tf_neuronselect.pruning.importance import KINDS
from tf_neuronselect.pruning.importance import group_importance
from tf_neuronselect.pruning.prune import prune

__all__ = ["KINDS", "group_importance", "prune"]
