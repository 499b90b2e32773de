"""What the training benchmarks (bench_mobile, bench_sequence) do alike around a run: a line per
epoch, the test error with the logits, the float32 TFLite file, batch-1 LiteRT timing and the
sentence on the machine's load the timings were taken under."""

import os
import pathlib
import shutil
import sys
import time

import numpy as np

from benchmarks import _common, resultfiles


def new_payload(settings, argv=None):
    """The results of a run to fill: its settings, no runs yet, the machine and its load."""
    return {"settings": settings, "runs": [], "environment": _common.environment(),
            "load_average": {"training": round(os.getloadavg()[0], 2)},
            "command": " ".join(sys.argv[1:] if argv is None else argv)}


def store_final(payload, name, quick, directory, start, markdown):
    """Deletes the runs' files in ``directory``, records the wall time since ``start`` and
    writes results/<name>.json and <name>.md (``markdown(payload)``); returns the json path."""
    shutil.rmtree(directory, ignore_errors=True)
    payload["seconds_total"] = round(time.perf_counter() - start, 1)
    path = resultfiles.write_result(name, payload, quick)
    resultfiles.write_text(path.with_suffix(".md"), markdown(payload))
    return path


def epoch_line(label, epochs):
    """A keras callback that prints one line per epoch (loss, seconds)."""
    import keras

    class EpochLine(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            _common.log(f"  {label}: epoch {epoch + 1}/{epochs} loss {logs['loss']:.4f} "
                        f"({time.perf_counter() - self.start:.0f} s)")

    return EpochLine()


def error_pct(model, x, y):
    """``(test error %, logits)``."""
    logits = model.predict(x, batch_size=500, verbose=0)
    return round(100.0 * float(np.mean(np.argmax(logits, axis=-1) != y)), 3), logits


def export_tflite(model, directory):
    """The float32 TFLite file of ``model`` in a fresh ``directory``, through the SavedModel
    ``ns.export`` writes (a fixed batch of 1 for recurrent models: ``write_for_tflite``).
    ``ns.export`` itself stops at its manifest on models with Keras op nodes (MobileNetV3's
    ``x + 3.0``, the ViT's position code)."""
    from tf_neuronselect.exporting import saved_model, tflite

    directory = pathlib.Path(directory)
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    saved_model.write_for_tflite(model, directory / "saved_model")
    path = directory / "model_float32.tflite"
    path.write_bytes(tflite.convert_saved_model(directory / "saved_model"))
    shutil.rmtree(directory / "saved_model")
    return str(path)


def latency(dense_tflite, tflite, rounds, iterations):
    """Batch-1 LiteRT latency (one thread) of ``tflite`` against the dense file, timed in
    interleaved rounds (``ns.benchmark``)."""
    import tf_neuronselect as ns

    row = ns.benchmark(dense_tflite, tflite, batch_sizes=(1,), threads=(1,), rounds=rounds,
                       iterations=iterations)[0]
    return {"dense_ms": round(row["original_ms"], 4), "compact_ms": round(row["compact_ms"], 4),
            "speedup": round(1 / row["ratio"], 3), "rounds": rounds, "iterations": iterations}


def load_text(payload):
    """The machine's load while training and while timing, or "" when not recorded."""
    load = payload.get("load_average", {})
    if not load:
        return ""
    return (f"Load average of the {payload['environment']['cpus']}-core machine (other jobs "
            f"shared it): {load.get('training', 0):.1f} at the start of training, "
            f"{load.get('timing', 0):.1f} when the TFLite files were timed (LiteRT, one "
            "thread, interleaved rounds: the speedups are ratios within one timing).")
