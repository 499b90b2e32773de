"""Baseline "what users do today": TFMOT magnitude pruning of the same networks to 90% sparsity.

The dense Keras 3 network from ``tf_neuronselect.examples.recipes`` (the dense weights bench_mnist.py
trained, if it left them in results/_work/, otherwise trained here) is rebuilt layer by layer as
a tf_keras twin (TFMOT cannot wrap Keras 3 models), pruned with ``prune_low_magnitude`` and a
PolynomialDecay schedule 0 -> 90% while fine-tuning, stripped, converted to float32 TFLite and
timed against the dense twin's TFLite with ``ns.benchmark`` (batch 1 and 64, one thread).

Needs ``tf-keras`` and ``tensorflow-model-optimization`` (run_all.py installs them with
``pip install --no-deps tf-keras==2.21.0 tensorflow-model-optimization==0.8.1 dm-tree``). Without
them it writes results/tfmot.json with a "skipped" reason. Importing tfmot sets
TF_USE_LEGACY_KERAS=1 for the whole process, so run this script in its own process.

    python benchmarks/bench_tfmot.py [--quick] [--arch lenet5 mlp] [--sparsity 0.9]
"""

import argparse
import gzip
import inspect
import os
import pathlib
import sys
import time

if not __package__:  # run as a file, not with -m: import the package from the repo root
    sys.path[0] = str(pathlib.Path(__file__).resolve().parent.parent)

from benchmarks import _common, report, resultfiles  # noqa: E402

SEED = 0
BATCH = 128
PRUNE_EPOCHS = 4  # the sparsity ramps over the first 3, the last one trains at final sparsity
PRUNE_LR = 0.01
DENSE_EPOCHS = {"lenet5": 12, "mlp": 15}
TFMOT_INSTALL = ["tf-keras==2.21.0", "tensorflow-model-optimization==0.8.1", "dm-tree"]


log = _common.log


def tfmot_missing():
    import importlib.util

    missing = [m for m in ("tf_keras", "tensorflow_model_optimization")
               if importlib.util.find_spec(m) is None]
    return missing


def twin_layer(layer, tf_keras):
    """A tf_keras layer with the Keras 3 layer's plain structural settings (ecosystem.md 5)."""
    cls = getattr(tf_keras.layers, type(layer).__name__)
    accepted = set(inspect.signature(cls.__init__).parameters) | {"name", "trainable"}
    config = {k: v for k, v in layer.get_config().items()
              if k in accepted and k != "dtype" and not isinstance(v, dict)
              and not k.endswith(("_initializer", "_regularizer", "_constraint"))}
    return cls(**config)


def twin(model, tf_keras):
    """A tf_keras Sequential twin of a chain-shaped Keras 3 model, with its weights."""
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    copy = tf_keras.Sequential([tf_keras.Input(model.input_shape[1:])]
                               + [twin_layer(layer, tf_keras) for layer in layers])
    copy.set_weights(model.get_weights())
    return copy


def to_tflite(model, path):
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    return str(resultfiles.write_bytes(path, converter.convert()))


def tflite_error(path, x, y):
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=path)
    index = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(index, (500,) + x.shape[1:])
    interpreter.allocate_tensors()
    wrong = 0
    for start in range(0, len(x) - len(x) % 500, 500):
        interpreter.set_tensor(index, x[start:start + 500])
        interpreter.invoke()
        out = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
        wrong += int(np.sum(np.argmax(out, -1) != y[start:start + 500]))
    return round(100.0 * wrong / (len(x) - len(x) % 500), 3)


def gzip_size(path):
    with open(path, "rb") as handle:
        return len(gzip.compress(handle.read(), compresslevel=9))


def dense_keras3(arch, data, epochs, work):
    """The trained dense Keras 3 network: bench_mnist's weights if present, else trained here."""
    import keras
    import numpy as np

    from tf_neuronselect.examples import recipes

    keras.utils.set_random_seed(SEED)
    model = recipes.build(arch, "dense", data.input_shape, data.num_classes)
    cached = os.path.join(work, f"{arch}_dense.weights.h5")
    if os.path.isfile(cached):
        model.load_weights(cached)
        return model, f"loaded {cached}"
    steps = epochs * int(np.ceil(len(data.x_train) / BATCH))
    schedule = keras.optimizers.schedules.CosineDecay(0.05, steps, alpha=0.01)
    model.compile(keras.optimizers.SGD(schedule, momentum=0.9),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    log(f"  training dense {arch} for {epochs} epochs (no cached weights)")
    model.fit(data.x_train, data.y_train, batch_size=BATCH, epochs=epochs, verbose=2)
    return model, f"trained here for {epochs} epochs"


def run_arch(arch, data, args, work, tfmot, tf_keras):
    """Prunes ``arch``'s trained dense network to ``args.sparsity`` and measures the result."""
    from benchmarks.mnist.timing import latency

    start = time.perf_counter()
    model, origin = dense_keras3(arch, data, 1 if args.quick else DENSE_EPOCHS[arch],
                                 args.dense_weights_dir or work)
    dense = dense_twin_tflite(model, arch, data, work, tf_keras)
    log(f"  {arch}: dense twin ({origin}) max|diff| vs Keras 3 {dense['twin_diff']:.2e}, "
        f"TFLite error {dense['error']}%")
    # A fresh twin: prune_low_magnitude reuses the layer objects it wraps.
    pruned = prune(arch, twin(model, tf_keras), data, args, tfmot, tf_keras)
    pruned_path = to_tflite(pruned["model"], os.path.join(work, f"tfmot_{arch}_pruned.tflite"))
    error_tflite = tflite_error(pruned_path, data.x_test, data.y_test)
    timing = latency(dense["path"], pruned_path, args.quick)
    params = int(pruned["model"].count_params())
    row = {
        "arch": arch, "method": "tfmot", "sparsity": round(float(pruned["sparsity"]), 4),
        "target_sparsity": args.sparsity, "dense_weights": origin,
        "twin_max_abs_diff": dense["twin_diff"],
        "error_pct": {"dense": dense["error"], "pruned": pruned["error"],
                      "tflite": error_tflite},
        "params": params, "nonzero_params": pruned["nonzero"],
        "compression_nonzero": round(params / max(1, pruned["nonzero"]), 2),
        "tflite_bytes": {"dense": os.path.getsize(dense["path"]),
                         "pruned": os.path.getsize(pruned_path)},
        "gzip_bytes": {"dense": gzip_size(dense["path"]), "pruned": gzip_size(pruned_path)},
        "latency": timing, "prune_epochs": pruned["epochs"],
        "prune_seconds": round(pruned["seconds"], 1),
        "seconds": round(time.perf_counter() - start, 1),
    }
    log(f"  {arch}: sparsity {row['sparsity']:.3f}, error {pruned['error']}% (TFLite "
        f"{error_tflite}%), TFLite {row['tflite_bytes']['pruned']:,} B (gzip "
        f"{row['gzip_bytes']['pruned']:,}), speedup b1 {timing['batch1']['speedup']}x")
    return row


def dense_twin_tflite(model, arch, data, work, tf_keras):
    """The dense network's tf_keras twin as TFLite: its path, test error, and how far the twin's
    outputs are from the Keras 3 model's."""
    import numpy as np

    dense_twin = twin(model, tf_keras)
    keras3_out = model.predict(data.x_test[:256], verbose=0)
    twin_diff = float(np.max(np.abs(dense_twin.predict(data.x_test[:256], verbose=0)
                                    - keras3_out)))
    path = to_tflite(dense_twin, os.path.join(work, f"tfmot_{arch}_dense.tflite"))
    return {"path": path, "twin_diff": twin_diff,
            "error": tflite_error(path, data.x_test, data.y_test)}


def prune(arch, prunable, data, args, tfmot, tf_keras):
    """Magnitude pruning while fine-tuning, sparsity ramped 0 -> target over all but the last
    epoch; the stripped model, its test error, sparsity, non-zero weights and seconds."""
    import numpy as np

    epochs = 1 if args.quick else PRUNE_EPOCHS
    steps_per_epoch = int(np.ceil(len(data.x_train) / BATCH))
    end_step = max(1, (epochs - 1 if epochs > 1 else 1) * steps_per_epoch)
    schedule = tfmot.sparsity.keras.PolynomialDecay(
        initial_sparsity=0.0, final_sparsity=args.sparsity, begin_step=0, end_step=end_step,
        frequency=50 if not args.quick else 5)
    pruned = tfmot.sparsity.keras.prune_low_magnitude(prunable, pruning_schedule=schedule)
    pruned.compile(tf_keras.optimizers.SGD(PRUNE_LR, momentum=0.9),
                   tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                   metrics=["accuracy"])
    log(f"  {arch}: pruning to {args.sparsity:.0%} over {epochs} epochs")
    start = time.perf_counter()
    pruned.fit(data.x_train, data.y_train, batch_size=BATCH, epochs=epochs, verbose=2,
               callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])
    seconds = time.perf_counter() - start
    stripped = tfmot.sparsity.keras.strip_pruning(pruned)
    logits = stripped.predict(data.x_test, batch_size=1000, verbose=0)
    kernels = [w.numpy() for w in stripped.weights if "kernel" in w.name]
    return {"model": stripped, "epochs": epochs, "seconds": seconds,
            "error": round(100.0 * float(np.mean(np.argmax(logits, -1) != data.y_test)), 3),
            "nonzero": int(sum(np.count_nonzero(w.numpy()) for w in stripped.weights)),
            "sparsity": 1.0 - (sum(np.count_nonzero(k) for k in kernels)
                               / sum(k.size for k in kernels))}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3k-image subset, 1 epoch")
    parser.add_argument("--arch", nargs="+", default=["lenet5", "mlp"], choices=["lenet5", "mlp"])
    parser.add_argument("--sparsity", type=float, default=0.9)
    parser.add_argument("--dense-weights-dir", default=None,
                        help="where bench_mnist.py left <arch>_dense.weights.h5 "
                             "(default <results>/_work/mnist)")
    parser.add_argument("--name", default="tfmot")
    return parser.parse_args()


def write_outputs(args, payload):
    path = resultfiles.write_result(args.name, payload, args.quick)
    resultfiles.write_text(resultfiles.result_path(f"{args.name}.md", args.quick),
                           report.tfmot_markdown(payload))
    return path


def main():
    args = parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    settings = {"seed": SEED, "quick": args.quick, "target_sparsity": args.sparsity,
                "schedule": "PolynomialDecay 0 -> target, ramp over all but the last epoch",
                "prune_epochs": 1 if args.quick else PRUNE_EPOCHS,
                "prune_optimizer": f"tf_keras SGD {PRUNE_LR} momentum 0.9", "batch_size": BATCH,
                "latency": "ns.benchmark float32 TFLite, LiteRT, 1 thread (as bench_mnist.py)"}
    missing = tfmot_missing()
    if missing:
        reason = (f"missing {missing}; install with: pip install --no-deps "
                  + " ".join(TFMOT_INSTALL))
        log(f"SKIPPING TFMOT baseline: {reason}")
        print(f"wrote {write_outputs(args, {'skipped': reason, 'settings': settings})}")
        return 0

    import keras  # noqa: F401  (Keras 3 first: tfmot flips TF_USE_LEGACY_KERAS on import)

    import tf_neuronselect  # noqa: F401
    from benchmarks.mnist.training import load_data

    import tensorflow_model_optimization as tfmot
    import tf_keras

    tf_keras.utils.set_random_seed(SEED)
    data = load_data(args.quick)
    work = str(resultfiles.work_dir("mnist", args.quick))
    if args.dense_weights_dir is None:
        args.dense_weights_dir = work
    os.makedirs(work, exist_ok=True)
    payload = {"settings": settings, "runs": []}
    start = time.perf_counter()
    for index, arch in enumerate(args.arch, 1):
        log(f"{_common.progress(index, len(args.arch), start)} TFMOT magnitude pruning, {arch}")
        payload["runs"].append(run_arch(arch, data, args, work, tfmot, tf_keras))
        payload["seconds_total"] = round(time.perf_counter() - start, 1)
        path = write_outputs(args, payload)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
