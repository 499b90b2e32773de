"""Latency of a Keras model as a float32 TFLite file run by LiteRT on this machine:
``tflite_latency_ms`` for one number, ``TFLiteTimer`` for ``LatencyBudget`` (the package root
makes it that budget's default timer: training code does not import TensorFlow)."""

import statistics
import tempfile
from pathlib import Path

from tf_neuronselect.exporting import benchmark
from tf_neuronselect.exporting import saved_model
from tf_neuronselect.exporting import tflite

_WARMUP = 10


def _write_tflite(model, directory):
    directory = Path(directory)
    saved_model.write_for_tflite(model, directory / "saved_model")
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


def tflite_latency_ms(model, batch_size=1, num_threads=1, rounds=5, iterations=50, warmup=10):
    """Median milliseconds per ``invoke`` of ``model`` converted to a float32 TFLite file,
    run by LiteRT with ``num_threads`` threads on a batch of ``batch_size`` random inputs."""
    with tempfile.TemporaryDirectory() as scratch:
        path = _write_tflite(model, scratch)
        (median,) = _median_ms([path], batch_size, num_threads, rounds, iterations, warmup)
    return median


class TFLiteTimer:
    """Times Keras models as float32 TFLite files with LiteRT (``LatencyBudget``'s default).

    ``set_reference(model)`` converts a reference model once; ``ratio(model)`` then times both
    files in the same interleaved rounds and returns the median per-round ratio.
    """

    def __init__(self, batch_size=1, num_threads=1, rounds=5, iterations=50):
        self.timing = (batch_size, num_threads, rounds, iterations, _WARMUP)
        self._scratch = None
        self._reference = None

    def set_reference(self, model):
        self.close()
        self._scratch = tempfile.TemporaryDirectory()
        self._reference = _write_tflite(model, Path(self._scratch.name) / "reference")

    def milliseconds(self, model):
        with tempfile.TemporaryDirectory() as scratch:
            return _median_ms([_write_tflite(model, scratch)], *self.timing)[0]

    def ratio(self, model):
        with tempfile.TemporaryDirectory() as scratch:
            return _median_ratio([self._reference, _write_tflite(model, scratch)],
                                 *self.timing)

    def close(self):
        """Removes the reference file."""
        if self._scratch is not None:
            self._scratch.cleanup()
        self._scratch, self._reference = None, None

