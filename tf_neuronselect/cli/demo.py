"""``neuronselect demo``: train with a method, shrink, export, measure and report."""

import json
import os
import shutil
import time

import numpy as np

from tf_neuronselect import datasets
from tf_neuronselect.examples import recipes

DEFAULT_EPOCHS = {"mnist": 8, "digits": 60}
# Digits has 1,437 training images (12 steps an epoch): it needs a stronger pull than MNIST.
STRENGTH_SCALE = {"mnist": 1.0, "digits": 10.0}


class DemoError(Exception):
    """Raised for demo settings the user can fix."""


def _load_data(args):
    if args.dataset == "digits":
        return datasets.load("digits")
    try:
        return datasets.load("mnist", path=args.data)
    except FileNotFoundError as error:
        if args.dataset == "mnist":
            raise DemoError(str(error)) from error
        print(f"MNIST not found ({error}); using scikit-learn's digits instead.")
        return datasets.load("digits")


def _train(model, data, method, epochs, tracker):
    import keras

    steps = epochs * int(np.ceil(len(data.x_train) / 128))
    schedule = keras.optimizers.schedules.CosineDecay(0.05, steps, alpha=0.01)
    model.compile(recipes.optimizer_for(method, schedule if method != "tri-state" else 0.05),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(data.x_train, data.y_train, batch_size=128, epochs=epochs, verbose=2,
              validation_data=(data.x_test, data.y_test), callbacks=[tracker])
    return time.perf_counter() - start


def _accuracy(model, data):
    logits = model.predict(data.x_test, batch_size=512, verbose=0)
    return float(np.mean(np.argmax(logits, axis=-1) == data.y_test))


def _prepare_out(path, overwrite):
    if os.path.exists(path):
        if not overwrite:
            raise DemoError(f"{path!r} exists; pass --overwrite to replace it or choose --out")
        shutil.rmtree(path)
    os.makedirs(path)


def run(args):
    """Runs the whole demo and prints the before/after table."""
    import keras

    import tf_neuronselect as ns
    from tf_neuronselect.training import NeuronHistory
    from tf_neuronselect.cli import plots

    data = _load_data(args)
    print(f"dataset: {data.name} ({data.source}), {len(data.x_train)} train / "
          f"{len(data.x_test)} test images of shape {data.input_shape}")
    epochs = args.epochs or DEFAULT_EPOCHS[data.name]
    args.arch = args.arch or ("lenet5" if data.name == "mnist" else "mlp")
    if args.arch == "lenet5" and min(data.input_shape[:2]) < 28:
        raise DemoError(f"lenet5 needs 28x28 images; {data.name} has {data.input_shape[:2]}. "
                        "Use --arch mlp")
    _prepare_out(args.out, args.overwrite)
    keras.utils.set_random_seed(0)
    strength = args.strength
    if strength is None:
        strength = recipes.DEFAULT_STRENGTH[args.method] * STRENGTH_SCALE[data.name]
    model = recipes.build(args.arch, args.method, data.input_shape, data.num_classes, strength)
    print(f"training {model.name} for {epochs} epochs with method '{args.method}'")
    tracker = NeuronHistory()
    seconds = _train(model, data, args.method, epochs, tracker)
    compact = ns.shrink(model, collapse_linear=True)
    diff = float(np.max(np.abs(model.predict(data.x_test[:512], verbose=0)
                               - compact.predict(data.x_test[:512], verbose=0))))
    summary = _summarize(args, data, model, compact, seconds, diff)
    _export_and_measure(args.out, model, compact, data, summary)
    plots.units_over_time(tracker, os.path.join(args.out, "units_over_time.png"))
    plots.widths_before_after(summary["layers"], os.path.join(args.out, "widths_before_after.png"))
    with open(os.path.join(args.out, "demo.json"), "w") as handle:
        json.dump(summary, handle, indent=2)
    print(format_table(summary))
    print(f"wrote {args.out}/ (compact/ export with manifest.json, original/, PNG plots, demo.json)")


def _summarize(args, data, model, compact, seconds, diff):
    import tf_neuronselect as ns

    unit_layers = [r for r in ns.report(model).to_dict()["layers"]
                   if ns.grouping.unit_spec(model.get_layer(r["name"])) is not None]
    return {
        "dataset": data.name, "arch": args.arch, "method": args.method,
        "train_seconds": round(seconds, 1), "max_abs_output_diff": diff,
        "params": {"original": model.count_params(), "compact": compact.count_params()},
        "macs": {"original": ns.count_macs(model), "compact": ns.count_macs(compact)},
        "accuracy": {"original": _accuracy(model, data), "compact": _accuracy(compact, data)},
        "layers": [{"name": r["name"], "units_total": r["units"], "units_alive": r["kept"]}
                   for r in unit_layers],
    }


def _export_and_measure(out, model, compact, data, summary):
    import tf_neuronselect as ns

    evaluation = (data.x_test[:2000], data.y_test[:2000])
    original_dir, compact_dir = os.path.join(out, "original"), os.path.join(out, "compact")
    ns.export(model, original_dir, formats=("tflite",), evaluation_data=evaluation)
    manifest = ns.export(compact, compact_dir, quantize=("float16", "dynamic", "int8"),
                         representative_data=data.x_train[:500], evaluation_data=evaluation)
    original_tflite = os.path.join(original_dir, "model_float32.tflite")
    compact_tflite = os.path.join(compact_dir, "model_float32.tflite")
    summary["tflite_bytes"] = {"original": os.path.getsize(original_tflite),
                               "compact": os.path.getsize(compact_tflite)}
    result = ns.benchmark(original_tflite, compact_tflite, batch_sizes=(1, 64), rounds=7)
    print(result)
    summary["latency_ratio"] = {f"batch {row['batch_size']}": row["ratio"] for row in result
                                if row.get("runtime", "litert") == "litert"}
    summary["tflite_accuracy"] = manifest.get("accuracy")


def format_table(summary):
    """The before/after table the demo prints."""
    lines = [f"{'':28}{'original':>14}{'compact':>14}{'ratio':>9}"]

    def row(label, before, after, fmt="{:,}"):
        ratio = before / after if after else float("inf")
        lines.append(f"{label:28}{fmt.format(before):>14}{fmt.format(after):>14}{ratio:>8.1f}x")

    for layer in summary["layers"]:
        row(f"units {layer['name']}", layer["units_total"], layer["units_alive"])
    row("parameters", summary["params"]["original"], summary["params"]["compact"])
    row("multiply-adds", summary["macs"]["original"], summary["macs"]["compact"])
    row("TFLite bytes", summary["tflite_bytes"]["original"], summary["tflite_bytes"]["compact"])
    acc = summary["accuracy"]
    lines.append(f"{'test accuracy':28}{acc['original']:>14.4f}{acc['compact']:>14.4f}")
    for name, ratio in summary["latency_ratio"].items():
        lines.append(f"{'TFLite latency ' + name:28}{'':>14}{'':>14}{1 / ratio:>8.1f}x faster")
    variants = sorted((summary.get("tflite_accuracy") or {}).items())
    for name, accuracy in variants:
        lines.append(f"{'accuracy* ' + name:28}{'':>14}{accuracy:>14.4f}")
    if variants:
        lines.append("* compact export variants, on the first 2,000 test images")
    lines.append(f"max |output difference| after shrinking: {summary['max_abs_output_diff']:.2e}")
    return "\n".join(lines)
