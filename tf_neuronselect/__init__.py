"""tf_neuronselect: learn how many neurons each Keras layer needs while it trains, then remove
the dead ones and export compact models."""

from tf_neuronselect import callbacks
from tf_neuronselect import datasets
from tf_neuronselect import grouping
from tf_neuronselect import ops
from tf_neuronselect import selection
from tf_neuronselect import surgery
from tf_neuronselect.callbacks import NeuronHistory
from tf_neuronselect.layers import Gate
from tf_neuronselect.layers import SelectFeatures
from tf_neuronselect.layers import TriStateReLU
from tf_neuronselect.layers import UnitInterval
from tf_neuronselect.optimizers import ProximalAdam
from tf_neuronselect.optimizers import ProximalSGD
from tf_neuronselect.penalties import add_penalty
from tf_neuronselect.regularizers import Binarizing
from tf_neuronselect.regularizers import DropNeuron
from tf_neuronselect.regularizers import GroupLasso
from tf_neuronselect.regularizers import L1
from tf_neuronselect.regularizers import ProximalPenalty
from tf_neuronselect.regularizers import SparseGroupLasso
from tf_neuronselect.selection import Report
from tf_neuronselect.surgery import Plan
from tf_neuronselect.surgery import make_plan
from tf_neuronselect.surgery import register_slicer
from tf_neuronselect.surgery import report
from tf_neuronselect.surgery import shrink
from tf_neuronselect.exporting import BenchmarkResult
from tf_neuronselect.exporting import LatencyBudget
from tf_neuronselect.exporting import benchmark_tflite as benchmark
from tf_neuronselect.exporting import count_macs
from tf_neuronselect.exporting import export
from tf_neuronselect.exporting import tflite_latency_ms
from tf_neuronselect import training
from tf_neuronselect.training import BudgetController
from tf_neuronselect.training import SizeBudget
from tf_neuronselect.training import apply_layer_strengths
from tf_neuronselect.training import fit_with_shrinking
from tf_neuronselect.training import layer_strengths
from tf_neuronselect.training import shrink_for_training

__version__ = "0.1.0"

__all__ = [
    "BenchmarkResult",
    "Binarizing",
    "DropNeuron",
    "Gate",
    "GroupLasso",
    "L1",
    "NeuronHistory",
    "ProximalAdam",
    "ProximalPenalty",
    "Plan",
    "ProximalSGD",
    "Report",
    "SelectFeatures",
    "SparseGroupLasso",
    "TriStateReLU",
    "UnitInterval",
    "add_penalty",
    "benchmark",
    "callbacks",
    "count_macs",
    "datasets",
    "export",
    "grouping",
    "make_plan",
    "ops",
    "register_slicer",
    "report",
    "selection",
    "shrink",
    "surgery",
    "training",
    "SizeBudget",
    "BudgetController",
    "LatencyBudget",
    "tflite_latency_ms",
    "apply_layer_strengths",
    "fit_with_shrinking",
    "layer_strengths",
    "shrink_for_training",
]
