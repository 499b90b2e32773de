"""A measured-latency budget: the strengths are steered by the TFLite latency of the model
``shrink`` would give now, timed with LiteRT on this machine."""

import statistics
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


def _write_tflite(model, directory):
    directory = Path(directory)
    saved_model.write_saved_model(model, directory / "saved_model")
    path = directory / "model.tflite"
    path.write_bytes(tflite.convert_saved_model(directory / "saved_model"))
    return path


def _median_ms(paths, batch_size, num_threads, rounds, iterations, warmup):
    calls = [benchmark.litert_call(path, batch_size, num_threads) for path in paths]
    return [m * 1e3 for m in benchmark.interleaved_medians(calls, rounds, iterations, warmup)]


def _median_ratio(paths, batch_size, num_threads, rounds, iterations, warmup):
    """Median over interleaved rounds of (second file's time / first file's time): a ratio
    per round cancels load that changes between rounds."""
    calls = [benchmark.litert_call(path, batch_size, num_threads) for path in paths]
    ratios = []
    for _ in range(rounds):
        reference, current = benchmark.interleaved_medians(calls, 1, iterations, warmup)
        ratios.append(current / reference)
        warmup = 0
    return statistics.median(ratios)


def _signature(model):
    """What latency depends on: every layer's type and weight shapes (not the values)."""
    return tuple((type(layer).__name__, tuple(tuple(w.shape) for w in layer.weights))
                 for layer in model.layers)


def tflite_latency_ms(model, batch_size=1, num_threads=1, rounds=5, iterations=50, warmup=10):
    """Median milliseconds per ``invoke`` of ``model`` converted to a float32 TFLite file,
    run by LiteRT with ``num_threads`` threads on a batch of ``batch_size`` random inputs."""
    with tempfile.TemporaryDirectory() as scratch:
        path = _write_tflite(model, scratch)
        (median,) = _median_ms([path], batch_size, num_threads, rounds, iterations, warmup)
    return median


def _validate_target(milliseconds, fraction):
    if (milliseconds is None) == (fraction is None):
        raise ValueError(
            "LatencyBudget: expected exactly one target, `milliseconds` or `fraction`. "
            f"Received: milliseconds={milliseconds!r}, fraction={fraction!r}. How to fix: "
            "pass e.g. LatencyBudget(fraction=0.3) (of the model's latency when training "
            "starts) or LatencyBudget(milliseconds=0.05)."
        )
    key, value = ("milliseconds", milliseconds) if fraction is None else ("fraction", fraction)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(
            f"LatencyBudget: expected `{key}` to be a positive number. Received: "
            f"{key}={value!r}. How to fix: time the dense model first, e.g. "
            "tflite_latency_ms(model), and ask for a fraction of it."
        )
    return ("latency_ms" if fraction is None else "latency_fraction"), float(value)


class LatencyBudget(BudgetController):
    """A latency target: ``LatencyBudget(milliseconds=0.05)`` or ``LatencyBudget(fraction=0.3)``.

    At each update the model is shrunk (``tf_neuronselect.shrink``, stock layers only),
    converted to a float32 TFLite file and timed with LiteRT on this machine (median of
    ``rounds`` rounds of ``iterations`` calls at ``batch_size``). With ``fraction`` the
    target is relative to the model as it was when training started: that reference file is
    timed in the same interleaved rounds at every update and the size is the median of the
    per-round ratios, so a machine that gets busier or quieter during training moves both
    timings alike (prefer it on shared machines; ``milliseconds`` is an absolute target and
    moves with the load). Measurements of an architecture that did not change since the
    last update are pooled (median of all of them), so noise alone cannot move the size. An update costs a conversion (about a second for LeNet-5) plus the timing, so
    prefer a few updates per epoch at most. Latency has a floor (interpreter overhead, the
    layers that cannot shrink): a target below it drives every removable unit out, and the
    controller's rollbacks then hold the model at the smallest size it reached above the
    band. See ``BudgetController`` for the control rule and the other arguments.
    """

    def __init__(self, milliseconds=None, fraction=None, batch_size=1, num_threads=1,
                 rounds=5, iterations=50, **kwargs):
        super().__init__(**kwargs)
        self.key, self.target = _validate_target(milliseconds, fraction)
        self.batch_size = _positive_int(batch_size, "batch_size")
        self.num_threads = _positive_int(num_threads, "num_threads")
        self.rounds = _positive_int(rounds, "rounds")
        self.iterations = _positive_int(iterations, "iterations")
        self._scratch = None
        self._reference = None
        self._samples = {}  # architecture signature -> measurements

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.key == "latency_fraction" and self._reference is None:
            self._scratch = tempfile.TemporaryDirectory()
            self._reference = _write_tflite(shrink(self.model, tol=self.tol),
                                            Path(self._scratch.name) / "reference")

    def size(self):
        """The median of every measurement of the current architecture: latency depends on
        the shapes only, so a model that did not change keeps pooling samples instead of
        jumping with the machine's load (which would trigger false rollbacks)."""
        compact = shrink(self.model, tol=self.tol)
        samples = self._samples.setdefault(_signature(compact), [])
        samples.append(self._measure(compact))
        return statistics.median(samples)

    def _measure(self, compact):
        timing = (self.batch_size, self.num_threads, self.rounds, self.iterations, 10)
        with tempfile.TemporaryDirectory() as scratch:
            path = _write_tflite(compact, scratch)
            if self._reference is None:
                return _median_ms([path], *timing)[0]
            return _median_ratio([self._reference, path], *timing)

    def on_train_end(self, logs=None):
        super().on_train_end(logs)
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch, self._reference = None, None
