"""A measured-latency budget: the strengths are steered by the TFLite latency of the model
``shrink`` would give now, timed with LiteRT on this machine."""

import tempfile
from pathlib import Path

from tf_neuronselect.exporting import benchmark
from tf_neuronselect.exporting import saved_model
from tf_neuronselect.exporting import tflite
from tf_neuronselect.surgery.rewrite import shrink
from tf_neuronselect.training.budget import BudgetController


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"LatencyBudget: expected `{name}` to be a positive int. Received: "
            f"{name}={value!r}. How to fix: pass e.g. {name}=1."
        )
    return value


def tflite_latency_ms(model, batch_size=1, num_threads=1, rounds=5, iterations=50, warmup=10):
    """Median milliseconds per ``invoke`` of ``model`` converted to a float32 TFLite file,
    run by LiteRT with ``num_threads`` threads on a batch of ``batch_size`` random inputs."""
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        saved_model.write_saved_model(model, scratch / "saved_model")
        path = scratch / "model.tflite"
        path.write_bytes(tflite.convert_saved_model(scratch / "saved_model"))
        call = benchmark.litert_call(path, batch_size, num_threads)
        (median,) = benchmark.interleaved_medians([call], rounds, iterations, warmup)
    return median * 1e3


class LatencyBudget(BudgetController):
    """A latency target in milliseconds: ``LatencyBudget(milliseconds=0.05)``.

    At each update the model is shrunk (``tf_neuronselect.shrink``, stock layers only),
    converted to a float32 TFLite file and timed with LiteRT on this machine (median of
    ``rounds`` rounds of ``iterations`` calls at ``batch_size``). An update costs a
    conversion (about a second for LeNet-5) plus the timing, so prefer a few updates per
    epoch at most. Latency has a floor (interpreter overhead, the layers that cannot
    shrink): a target below it drives every removable unit out, and the controller's
    rollbacks then hold the model at the smallest size it reached above the band. Timings
    are noisy on a busy machine; ``rounds`` and ``iterations`` trade update cost for
    steadier measurements. See ``BudgetController`` for the control rule and the other
    arguments.
    """

    key = "latency_ms"

    def __init__(self, milliseconds, batch_size=1, num_threads=1, rounds=5, iterations=50,
                 **kwargs):
        super().__init__(**kwargs)
        if isinstance(milliseconds, bool) or not isinstance(milliseconds, (int, float)) or \
                not milliseconds > 0:
            raise ValueError(
                "LatencyBudget: expected `milliseconds` to be a positive number. Received: "
                f"milliseconds={milliseconds!r}. How to fix: time the dense model first, e.g. "
                "tflite_latency_ms(model), and ask for a fraction of it."
            )
        self.target = float(milliseconds)
        self.batch_size = _positive_int(batch_size, "batch_size")
        self.num_threads = _positive_int(num_threads, "num_threads")
        self.rounds = _positive_int(rounds, "rounds")
        self.iterations = _positive_int(iterations, "iterations")

    def size(self):
        return tflite_latency_ms(shrink(self.model, tol=self.tol), self.batch_size,
                                 self.num_threads, self.rounds, self.iterations)
