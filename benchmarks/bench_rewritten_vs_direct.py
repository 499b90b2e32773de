"""TFLite latency of a rewritten model vs the same architecture built directly at its widths.

A shrunk model should be exactly as fast as a network designed at the reduced widths from the
start (target ratio rewritten / direct within 0.98-1.02): the rewriter leaves no masks, no extra
ops and no odd layouts behind.

    python benchmarks/bench_rewritten_vs_direct.py [--quick]
"""

import argparse
import pathlib
import sys
import tempfile

if not __package__:  # run as a file, not with -m: import the package from the repo root
    sys.path[0] = str(pathlib.Path(__file__).resolve().parent.parent)

from benchmarks.resultfiles import write_result  # noqa: E402


def lenet5(widths, classes=10):
    """LeNet-5-Caffe with the given (conv1, conv2, fc1) widths."""
    import keras

    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(widths[0], 5, activation="relu")(inputs)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Conv2D(widths[1], 5, activation="relu")(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(widths[2], activation="relu")(x)
    return keras.Model(inputs, keras.layers.Dense(classes)(x))


def kill(model, share, rng):
    """Zeroes the incoming weights and bias of ``share`` of each hidden layer's units."""
    import keras

    for layer in model.layers[:-1]:
        if not hasattr(layer, "kernel"):
            continue
        kernel = keras.ops.convert_to_numpy(layer.kernel)
        dead = rng.random(kernel.shape[-1]) < share
        kernel[..., dead] = 0.0
        bias = keras.ops.convert_to_numpy(layer.bias)
        bias[dead] = 0.0
        layer.kernel.assign(kernel)
        layer.bias.assign(bias)


def widths_of(model):
    return [getattr(layer, "filters", None) or layer.units for layer in model.layers
            if hasattr(layer, "kernel")][:-1]


def tflite_file(model, directory):
    import tf_neuronselect as ns

    ns.export(model, directory, formats=("tflite",))
    return f"{directory}/model_float32.tflite"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    import numpy as np

    import tf_neuronselect as ns

    rng = np.random.default_rng(0)
    original = lenet5((20, 50, 500))
    kill(original, 0.7, rng)
    rewritten = ns.shrink(original)
    widths = widths_of(rewritten)
    direct = lenet5(widths)
    with tempfile.TemporaryDirectory() as tmp:
        result = ns.benchmark(tflite_file(direct, f"{tmp}/direct"),
                              tflite_file(rewritten, f"{tmp}/rewritten"),
                              batch_sizes=(1, 64), rounds=5 if args.quick else 21,
                              iterations=20 if args.quick else 200)
    print(result)
    ratios = {f"batch {row['batch_size']}": row["ratio"] for row in result}
    print(f"widths {widths}; latency rewritten / direct: {ratios} (target 0.98-1.02)")
    path = write_result("rewritten_vs_direct", {
        "model": "LeNet-5-Caffe, 70% of hidden units killed, then shrink", "widths": widths,
        "params": {"rewritten": rewritten.count_params(), "direct": direct.count_params()},
        "latency_ratio_rewritten_over_direct": ratios, "target": [0.98, 1.02],
        "quick": args.quick,
    }, args.quick)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
