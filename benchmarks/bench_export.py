"""Exported size and LiteRT latency of a dense LeNet-300-100 vs a narrow 784-30-20-10 MLP.

The narrow MLP is what neuron selection typically leaves of LeNet-300-100 on MNIST; it is built
directly here so the benchmark measures export and runtime only. Both models are exported with
ns.export (float32 and int8 TFLite) and timed with ns.benchmark at batch 1 and 64, one thread.

    python benchmarks/bench_export.py [--quick]
"""

import argparse
import pathlib
import sys
import tempfile
from pathlib import Path

if not __package__:  # run as a file, not with -m: import the package from the repo root
    sys.path[0] = str(pathlib.Path(__file__).resolve().parent.parent)

from benchmarks.resultfiles import write_result  # noqa: E402


def mlp(widths, seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((784,))
    x = inputs
    for width in widths:
        x = keras.layers.Dense(width, activation="relu")(x)
    return keras.Model(inputs, keras.layers.Dense(10)(x), name="mlp_" + "_".join(map(str, widths)))


def export_both(directory, calibration):
    import tf_neuronselect as ns

    manifests = {}
    for role, widths in (("original", (300, 100)), ("compact", (30, 20))):
        manifests[role] = ns.export(mlp(widths), directory / role, formats=("tflite",),
                                    quantize="int8", representative_data=calibration)
    return manifests


def sizes(manifests, variant):
    name = f"model_{variant}.tflite"
    records = {role: m["files"][name]["bytes"] for role, m in manifests.items()}
    return {**records, "ratio": records["compact"] / records["original"]}


def main():
    import numpy as np

    import tf_neuronselect as ns

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few rounds, for a smoke test")
    args = parser.parse_args()
    rounds, iterations = (3, 20) if args.quick else (15, 200)
    calibration = np.random.default_rng(0).random((200, 784), dtype=np.float32)
    payload = {"rounds": rounds, "iterations_per_round": iterations, "quick": args.quick}
    with tempfile.TemporaryDirectory() as scratch:
        manifests = export_both(Path(scratch), calibration)
        for variant in ("float32", "int8"):
            result = ns.benchmark(
                Path(scratch) / "original" / f"model_{variant}.tflite",
                Path(scratch) / "compact" / f"model_{variant}.tflite",
                batch_sizes=(1, 64), threads=(1,), rounds=rounds, iterations=iterations,
            )
            print(f"\n{variant}: size ratio {sizes(manifests, variant)['ratio']:.3f}")
            print(result)
            payload[variant] = {"bytes": sizes(manifests, variant), "latency": list(result)}
    payload["macs"] = {role: m["model"]["macs"] for role, m in manifests.items()}
    payload["parameters"] = {role: m["model"]["parameters"] for role, m in manifests.items()}
    print(f"\nwrote {write_result('export', payload, args.quick)}")


if __name__ == "__main__":
    main()
