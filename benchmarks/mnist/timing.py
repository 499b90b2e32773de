"""Float32 TFLite export of a run and its latency against the dense reference's (LiteRT, one
thread), timed once a batch of runs has trained so that no training shares the cores."""

import os
import shutil
import time

from benchmarks import _common
from benchmarks.mnist.rows import describe

log = _common.log


def export_tflite(model, directory):
    import tf_neuronselect as ns

    if os.path.exists(directory):
        shutil.rmtree(directory)
    ns.export(model, directory, formats=("tflite",))
    return os.path.join(directory, "model_float32.tflite")


def latency(dense_tflite, tflite, quick=False):
    """Dense vs compact float32 TFLite latency at batch 1 and 64 (LiteRT, one thread).

    Batch 1 calls take ~0.1 ms, so they are timed with many more iterations per round than
    batch 64 calls; rounds interleave the two models to spread the shared machine's noise."""
    import tf_neuronselect as ns

    out = {}
    for batch, rounds, iterations in ((1, 9, 400), (64, 7, 20)):
        if quick:
            rounds, iterations = 3, 10
        result = ns.benchmark(dense_tflite, tflite, batch_sizes=(batch,), threads=(1,),
                              rounds=rounds, iterations=iterations)
        for row in result:
            if row.get("runtime", "litert") == "litert":
                out[f"batch{batch}"] = {"dense_ms": round(row["original_ms"], 4),
                                        "compact_ms": round(row["compact_ms"], 4),
                                        "ratio": round(row["ratio"], 4),
                                        "speedup": round(1 / row["ratio"], 3),
                                        "rounds": rounds, "iterations": iterations}
    return out


def time_row(row, dense_ref, quick):
    """Times the row's TFLite against the dense reference's, then deletes the row's export
    (only the reference's files are kept). Runs while no training does: LiteRT timing on a
    machine whose cores are busy would measure the contention."""
    start = time.perf_counter()
    path = row["tflite_path"]
    row["latency"] = None if row["method"] == "dense" else latency(dense_ref["tflite_path"],
                                                                      path, quick)
    shutil.rmtree(os.path.dirname(path), ignore_errors=True)
    del row["tflite_path"]
    row["seconds"] = round(row["seconds"] + time.perf_counter() - start, 1)
    if row["latency"]:
        log(f"  {describe(row)}: latency speedup b1 {row['latency']['batch1']['speedup']}x "
            f"b64 {row['latency']['batch64']['speedup']}x")
