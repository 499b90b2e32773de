"""Latency of an original vs a compact model: LiteRT ``invoke`` (and the TF runtime for
SavedModels), interleaved rounds, medians and compact/original ratios."""

import contextlib
import statistics
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

from tf_neuronselect.exporting import litert
from tf_neuronselect.exporting import saved_model
from tf_neuronselect.exporting import tflite
from tf_neuronselect.utils.validation import validate_positive_int


class BenchmarkResult(list):
    """A list of row dicts (``runtime``, ``device``, ``batch_size``, ``threads``,
    ``original_ms``, ``compact_ms``, ``ratio``) that prints as a table.

    ``ratio`` is compact / original median latency: below 1 means the compact model is faster.
    ``sizes`` holds the file sizes in bytes of the compared TFLite files, when known.
    """

    def __init__(self, rows, sizes=None):
        super().__init__(rows)
        self.sizes = sizes or {}

    def __str__(self):
        header = f"{'runtime':<8} {'device':<6} {'batch':>5} {'threads':>7} "
        header += f"{'original ms':>12} {'compact ms':>11} {'ratio':>6}"
        lines = [header, "-" * len(header)]
        for row in self:
            threads = "-" if row["threads"] is None else row["threads"]
            lines.append(
                f"{row['runtime']:<8} {row['device']:<6} {row['batch_size']:>5} {threads:>7} "
                f"{row['original_ms']:>12.4f} {row['compact_ms']:>11.4f} {row['ratio']:>6.3f}"
            )
        if self.sizes:
            lines.append(", ".join(f"{k}: {v:,} bytes" for k, v in self.sizes.items()))
        return "\n".join(lines)


def benchmark_tflite(
    original,
    compact,
    batch_sizes=(1, 64),
    threads=(1,),
    rounds=5,
    iterations=50,
    warmup=10,
):
    """Times ``original`` against ``compact`` and returns a ``BenchmarkResult``.

    Each argument is a ``.tflite`` path, a Keras model (converted to a temporary float32
    ``.tflite``), a SavedModel directory (timed on the TF runtime: CPU, and GPU when one is
    visible) or a directory written by ``export`` (its ``model_float32.tflite`` and, if present,
    ``saved_model/``). Per batch size and thread count, both models are warmed up, then timed in
    ``rounds`` interleaved rounds (original, compact, original, ...) of ``iterations`` calls;
    the median per-call time of the rounds is reported.
    """
    rounds = validate_positive_int(rounds, "rounds", "benchmark", example=5)
    iterations = validate_positive_int(iterations, "iterations", "benchmark", example=50)
    with contextlib.ExitStack() as stack:
        first = _resolve(original, "original", stack)
        second = _resolve(compact, "compact", stack)
        settings = (tuple(batch_sizes), tuple(threads), rounds, iterations, warmup)
        rows = _litert_rows(first, second, settings)
        rows += _saved_model_rows(first, second, settings)
        sizes = _sizes(first, second)
    return BenchmarkResult(rows, sizes)


def _resolve(source, role, stack):
    """``{"tflite": path or None, "saved_model": dir or None}`` for one compared model."""
    if isinstance(source, keras.Model):
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        saved_model.write_for_tflite(source, scratch / "saved_model")
        path = scratch / "model_float32.tflite"
        path.write_bytes(tflite.convert_saved_model(scratch / "saved_model"))
        return {"tflite": path, "saved_model": None}
    path = Path(source)
    if path.is_file():
        return {"tflite": path, "saved_model": None}
    if (path / "saved_model.pb").is_file():
        return {"tflite": None, "saved_model": path}
    if (path / "model_float32.tflite").is_file():
        sm = path / "saved_model"
        return {"tflite": path / "model_float32.tflite", "saved_model": sm if sm.is_dir() else None}
    raise ValueError(
        f"benchmark: expected `{role}` to be a .tflite file, a SavedModel directory, an export "
        f"directory or a keras.Model. Received: {source!r}. Pass a path written by ns.export."
    )


def _sizes(first, second):
    if first["tflite"] is None or second["tflite"] is None:
        return {}
    return {
        "original": first["tflite"].stat().st_size,
        "compact": second["tflite"].stat().st_size,
    }


def _litert_rows(first, second, settings):
    if first["tflite"] is None or second["tflite"] is None:
        return []
    batch_sizes, thread_counts, rounds, iterations, warmup = settings
    fixed = {_fixed_batch(m["tflite"]) for m in (first, second)} - {None}
    rows = []
    for num_threads in thread_counts:
        for batch in batch_sizes:
            if fixed and batch not in fixed:
                continue  # a file with a fixed batch (recurrent layers) times only that one
            calls = [litert_call(m["tflite"], batch, num_threads) for m in (first, second)]
            medians = interleaved_medians(calls, rounds, iterations, warmup)
            rows.append(_row("litert", "cpu", batch, num_threads, medians))
    return rows


def _saved_model_rows(first, second, settings):
    if first["saved_model"] is None or second["saved_model"] is None:
        return []
    batch_sizes, _, rounds, iterations, warmup = settings
    rows = []
    for device in _tf_devices():
        for batch in batch_sizes:
            calls = [_tf_call(m["saved_model"], batch, device) for m in (first, second)]
            medians = interleaved_medians(calls, rounds, iterations, warmup)
            # TF's thread pools are fixed at start-up, so these rows have no thread count.
            rows.append(_row("tf", device, batch, None, medians))
    return rows


def _row(runtime, device, batch, num_threads, medians):
    original, compact = medians
    return {
        "runtime": runtime,
        "device": device,
        "batch_size": batch,
        "threads": num_threads,
        "original_ms": original * 1e3,
        "compact_ms": compact * 1e3,
        "ratio": compact / original,
    }


def interleaved_medians(calls, rounds, iterations, warmup):
    """Median seconds per call of each callable, timed in alternating rounds so that drifts in
    machine load hit both models alike."""
    for call in calls:
        for _ in range(warmup):
            call()
    samples = [[] for _ in calls]
    for _ in range(rounds):
        for call, times in zip(calls, samples):
            start = time.perf_counter()
            for _ in range(iterations):
                call()
            times.append((time.perf_counter() - start) / iterations)
    return [statistics.median(times) for times in samples]


def _random_input(shape, dtype, rng):
    dtype = np.dtype(dtype)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(max(info.min, -128), min(info.max, 127), size=shape, dtype=dtype)
    return rng.standard_normal(shape).astype(dtype)


def _fixed_batch(path):
    """The batch size a ``.tflite`` file's first input is fixed at, or None when free."""
    batch = int(litert.load_interpreter(path).get_input_details()[0]["shape_signature"][0])
    return None if batch < 0 else batch


def litert_call(path, batch, num_threads):
    """A zero-argument callable: copy a fixed batch in and ``invoke`` once."""
    interpreter = litert.load_interpreter(path, num_threads)
    rng = np.random.default_rng(0)
    feeds = []
    for detail in interpreter.get_input_details():
        # Files exported at batch None (or 1) are resized to the timed batch size.
        shape = [batch, *detail["shape_signature"][1:]]
        interpreter.resize_tensor_input(detail["index"], shape)
        feeds.append((detail["index"], _random_input(shape, detail["dtype"], rng)))
    interpreter.allocate_tensors()

    def call():
        for index, value in feeds:
            interpreter.set_tensor(index, value)
        interpreter.invoke()

    return call


def _tf_devices():
    import tensorflow as tf

    return ["cpu"] + (["gpu"] if tf.config.list_physical_devices("GPU") else [])


def _tf_call(path, batch, device):
    """A zero-argument callable running the serving signature once, synchronously."""
    import tensorflow as tf

    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    rng = np.random.default_rng(0)
    with tf.device(f"/{device.upper()}:0"):
        feeds = {
            name: tf.constant(_random_input([batch, *spec.shape[1:]], spec.dtype.name, rng))
            for name, spec in serve.structured_input_signature[1].items()
        }

    def call():
        with tf.device(f"/{device.upper()}:0"):
            outputs = serve(**feeds)
        # .numpy() waits for the device, so GPU time is not under-counted.
        for value in outputs.values():
            value.numpy()

    return call
