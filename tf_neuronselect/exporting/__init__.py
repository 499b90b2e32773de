"""Export of (compacted) Keras models: ``.keras``, SavedModel and TFLite files with a manifest,
and a LiteRT latency benchmark.

This is the only subpackage that imports TensorFlow (for the SavedModel runtime and the TFLite
converter); the exported files themselves need neither TensorFlow nor tf_neuronselect to run.
"""

from tf_neuronselect.exporting.api import export
from tf_neuronselect.exporting.benchmark import BenchmarkResult
from tf_neuronselect.exporting.benchmark import benchmark_tflite
from tf_neuronselect.exporting.latency import TFLiteTimer
from tf_neuronselect.exporting.latency import tflite_latency_ms
from tf_neuronselect.exporting.litert import run_tflite
from tf_neuronselect.exporting.saved_model import run_saved_model

__all__ = [
    "BenchmarkResult",
    "benchmark_tflite",
    "export",
    "run_saved_model",
    "run_tflite",
    "TFLiteTimer",
    "tflite_latency_ms",
]
