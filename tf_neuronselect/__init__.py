"""tf_neuronselect: learn how many neurons each Keras layer needs while it trains, then remove
the dead ones and export compact models.

This module is the package's facade: it re-exports the public names and wires the TFLite timer
into ``LatencyBudget`` (training code does not import TensorFlow). No module inside the package
imports it.
"""

from tf_neuronselect import analysis
from tf_neuronselect import datasets
from tf_neuronselect import grouping
from tf_neuronselect import ops
from tf_neuronselect import pruning
from tf_neuronselect import selection
from tf_neuronselect import surgery
from tf_neuronselect import training
from tf_neuronselect.analysis.groups import UnitGroup
from tf_neuronselect.analysis.groups import unit_groups
from tf_neuronselect.exporting import BenchmarkResult
from tf_neuronselect.exporting import TFLiteTimer
from tf_neuronselect.exporting import benchmark_tflite as benchmark
from tf_neuronselect.exporting import export
from tf_neuronselect.exporting import tflite_latency_ms
from tf_neuronselect.layers import Gate
from tf_neuronselect.layers import GatedMultiHeadAttention
from tf_neuronselect.layers import SelectFeatures
from tf_neuronselect.layers import TriStateReLU
from tf_neuronselect.layers import UnitInterval
from tf_neuronselect.optimizers import ProximalAdam
from tf_neuronselect.optimizers import ProximalSGD
from tf_neuronselect.penalties import add_penalty
from tf_neuronselect.pruning import prune
from tf_neuronselect.regularizers import Binarizing
from tf_neuronselect.regularizers import DropNeuron
from tf_neuronselect.regularizers import GroupLasso
from tf_neuronselect.regularizers import L1
from tf_neuronselect.regularizers import ProximalPenalty
from tf_neuronselect.regularizers import SparseGroupLasso
from tf_neuronselect.regularizers import UnitGroupPenalty
from tf_neuronselect.surgery import Plan
from tf_neuronselect.surgery import Report
from tf_neuronselect.surgery import add_gates
from tf_neuronselect.surgery import count_macs
from tf_neuronselect.surgery import make_plan
from tf_neuronselect.surgery import register_slicer
from tf_neuronselect.surgery import report
from tf_neuronselect.surgery import shrink
from tf_neuronselect.training import BudgetController
from tf_neuronselect.training import LatencyBudget
from tf_neuronselect.training import NeuronHistory
from tf_neuronselect.training import SizeBudget
from tf_neuronselect.training import apply_layer_strengths
from tf_neuronselect.training import compress
from tf_neuronselect.training import fit_with_shrinking
from tf_neuronselect.training import layer_strengths
from tf_neuronselect.training import set_default_timer
from tf_neuronselect.training import shrink_for_training
from tf_neuronselect.version import __version__

set_default_timer(TFLiteTimer)

__all__ = [
    "BenchmarkResult",
    "Binarizing",
    "BudgetController",
    "DropNeuron",
    "Gate",
    "GatedMultiHeadAttention",
    "GroupLasso",
    "L1",
    "LatencyBudget",
    "NeuronHistory",
    "Plan",
    "ProximalAdam",
    "ProximalPenalty",
    "ProximalSGD",
    "Report",
    "SelectFeatures",
    "SizeBudget",
    "SparseGroupLasso",
    "TFLiteTimer",
    "TriStateReLU",
    "UnitGroup",
    "UnitGroupPenalty",
    "UnitInterval",
    "__version__",
    "add_gates",
    "add_penalty",
    "analysis",
    "apply_layer_strengths",
    "benchmark",
    "compress",
    "count_macs",
    "datasets",
    "export",
    "fit_with_shrinking",
    "grouping",
    "layer_strengths",
    "make_plan",
    "ops",
    "prune",
    "pruning",
    "register_slicer",
    "report",
    "selection",
    "shrink",
    "shrink_for_training",
    "surgery",
    "tflite_latency_ms",
    "training",
    "unit_groups",
]
