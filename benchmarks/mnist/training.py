"""One MNIST run: train with the method's penalty, ``ns.shrink``, fine-tune the compact model
without any penalty, export float32 TFLite; the row it returns is timed later (timing.py).

TensorFlow is imported inside the functions: bench_tfmot.py imports this module and must import
Keras 3 before tfmot switches the process to legacy Keras.
"""

import os
import time

from benchmarks import _common, resultfiles
from benchmarks.mnist import baselines, timing
from benchmarks.mnist.config import (ARCH_FINETUNE_LR, ARCH_LEARNING_RATE, BATCH, FINETUNE_LR,
                                     LAYER_SCALE, LEARNING_RATE, PRUNE_INPUTS, SEED,
                                     SELECTION_METHODS, STEPS_PER_EXECUTION)

log = _common.log
QUICK_TRAIN, QUICK_TEST = 3000, 1000  # the --quick subset


def load_data(quick):
    """MNIST from ``tf_neuronselect.datasets`` (``NEURONSELECT_DATA`` names a local copy; the
    Makefile sets it when ../shared/data/mnist.npz exists); ``quick``: a fixed random subset."""
    import numpy as np

    from tf_neuronselect import datasets

    data = datasets.load("mnist")
    if quick:
        rng = np.random.default_rng(SEED)
        train = rng.permutation(len(data.x_train))[:QUICK_TRAIN]
        test = rng.permutation(len(data.x_test))[:QUICK_TEST]
        data.x_train, data.y_train = data.x_train[train], data.y_train[train]
        data.x_test, data.y_test = data.x_test[test], data.y_test[test]
    return data


def error_pct(model, x, y):
    import numpy as np

    logits = model.predict(x, batch_size=1000, verbose=0)
    return round(100.0 * float(np.mean(np.argmax(logits, axis=-1) != y)), 3)


def epoch_line(label, epochs, tracker=None):
    """A keras callback printing one line per epoch, with the alive units of ``tracker``."""
    import keras

    class EpochLine(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            units = ""
            if tracker is not None and tracker.history:
                units = " units " + "-".join(str(v) for v in tracker.history[-1][1].values())
            log(f"  {label} epoch {epoch + 1}/{epochs} loss {logs.get('loss', 0):.4f} "
                f"acc {logs.get('accuracy', 0):.4f}{units} "
                f"({time.perf_counter() - self.start:.1f}s)")

    return EpochLine()


def build_model(arch, method, strength, data, layer_scale=None, widths=None):
    """The ``recipes`` network of ``method``, or the L2 + dropout baseline's."""
    from tf_neuronselect.examples import recipes

    if method == "l2-dropout":
        return baselines.l2_dropout(arch, strength, data, widths)
    return recipes.build(arch, method, data.input_shape, data.num_classes, strength,
                         layer_scale=layer_scale, widths=widths)


def compile_model(model, method, epochs, steps_per_epoch, finetune=False):
    import keras

    from tf_neuronselect.examples import recipes

    method = "dense" if method == "l2-dropout" else method  # L2 sits in the model's losses
    steps = max(1, epochs * steps_per_epoch)
    arch = model.name.split("_")[0]
    learning_rate = ARCH_LEARNING_RATE.get(arch, LEARNING_RATE)
    if finetune:
        schedule = keras.optimizers.schedules.CosineDecay(
            ARCH_FINETUNE_LR.get(arch, FINETUNE_LR), steps, alpha=0.01)
        optimizer = keras.optimizers.SGD(schedule, momentum=0.9)
    elif method == "tri-state":  # ProximalAdam, cosine 1e-3 -> 1e-5 (the gates settle)
        schedule = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, steps, alpha=0.01)
        optimizer = recipes.optimizer_for(method, schedule)
    else:
        schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.01)
        optimizer = recipes.optimizer_for(method, schedule)
    model.compile(optimizer, keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], steps_per_execution=STEPS_PER_EXECUTION)


def without_penalties(model):
    """A copy of ``model`` whose layers carry no regularizers (for penalty-free fine-tuning)."""
    import keras

    def clone(layer):
        config = layer.get_config()
        for key in list(config):
            if key.endswith("_regularizer"):
                config[key] = None
        for key in ("l1", "binarize", "complexity", "linearity"):
            if key in config and isinstance(config[key], float):
                config[key] = 0.0
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy


def units_string(arch, model):
    """Anchor-style widths: lenet5 conv1-conv2-fc1 inputs-fc1; mlp inputs-fc1-fc2; vgg
    conv1-...-conv5-fc1 inputs-fc1."""
    if arch == "vgg":
        fc1 = model.get_layer("fc1").kernel.shape
        convs = [str(model.get_layer(f"conv{i}").kernel.shape[-1]) for i in range(1, 6)]
        return "-".join(convs + [str(fc1[0]), str(fc1[1])])
    if arch == "lenet5":
        fc1 = model.get_layer("fc1").kernel.shape
        return (f"{model.get_layer('conv1').kernel.shape[-1]}-"
                f"{model.get_layer('conv2').kernel.shape[-1]}-{fc1[0]}-{fc1[1]}")
    fc1, fc2 = model.get_layer("fc1").kernel.shape, model.get_layer("fc2").kernel.shape
    return f"{fc1[0]}-{fc1[1]}-{fc2[1]}"


def schedule_scale(arch, schedule, data):
    """Per-layer multipliers of the strength: ``LAYER_SCALE`` ("per-layer", weaker on
    the first layers), ``ns.layer_strengths``' parameter-share rule ("params-rule", mean 1 over
    the penalized layers of the dense network) or None (one global strength)."""
    from tf_neuronselect.examples import recipes

    if schedule == "global":
        return None
    if schedule == "per-layer":
        return LAYER_SCALE[arch]
    import tf_neuronselect as ns

    dense = recipes.build(arch, "dense", data.input_shape, data.num_classes)
    return ns.layer_strengths(dense, 1.0, rule="params", layers=list(LAYER_SCALE[arch]))


def steps_per_epoch(data):
    return -(-len(data.x_train) // BATCH)


def train_one(arch, method, strength, data, settings, schedule="per-layer", widths=None,
              reference=False):
    """Trains, shrinks, fine-tunes and exports one configuration; returns its row, whose
    ``tflite_path`` timing.time_row times later. ``reference``: this is the dense run every
    other run of the architecture is compared with (its weights are saved for bench_tfmot)."""
    import keras

    selection = method in SELECTION_METHODS
    # Before seeding: the parameter-share rule builds a network, which would draw from the
    # seeded generator and give this run other initial weights than its per-layer twin.
    layer_scale = schedule_scale(arch, schedule, data)
    keras.utils.set_random_seed(settings["seed"])
    model = build_model(arch, "dense" if method == "uniform" else method,
                        strength if selection or method == "l2-dropout" else 0.0, data,
                        layer_scale=layer_scale if selection else None, widths=widths)
    label = f"{arch}/{method}" + (f" s={strength:g} {schedule}" if selection else "")
    trained = _train(model, arch, method, data, settings, label)
    shrunk = _shrink(model, arch, method, data)
    tuned = _finetune(shrunk["model"], method, data, settings, label)
    work = resultfiles.work_dir(settings["name"], settings["quick"])
    tag = f"{arch}_{method}_{strength:g}_{schedule}_seed{settings['seed']}".replace("/", "_")
    tflite = timing.export_tflite(tuned["model"], str(work / tag))
    run = {"arch": arch, "method": method, "strength": strength, "schedule": schedule,
           "widths": widths, "layer_scale": layer_scale}
    row = _row(run, settings, model, trained, shrunk, tuned, tflite)
    if reference:
        model.save_weights(str(work / f"{arch}_dense.weights.h5"))  # for bench_tfmot.py
    log(f"  {label}: error {trained['error']} -> shrunk {shrunk['error']} -> fine-tuned "
        f"{tuned['error']}; units {row['units']}; params {row['params']:,}")
    return row


def _train(model, arch, method, data, settings, label):
    """Trains ``model`` with its penalty; its epochs, seconds, unit history and test error."""
    import tf_neuronselect as ns

    epochs = settings["epochs"][arch]
    if method == "dense" and settings.get("dense_epochs"):
        epochs = settings["dense_epochs"]
    compile_model(model, "dense" if method == "uniform" else method, epochs,
                  steps_per_epoch(data))
    tracker = ns.NeuronHistory()
    start = time.perf_counter()
    model.fit(data.x_train, data.y_train, batch_size=BATCH, epochs=epochs, verbose=0,
              callbacks=[tracker, epoch_line(label, epochs, tracker)])
    return {"epochs": epochs, "seconds": time.perf_counter() - start, "tracker": tracker,
            "error": error_pct(model, data.x_test, data.y_test)}


def _shrink(model, arch, method, data):
    """``ns.shrink`` of a selection run (baselines stay as trained): the compact model, seconds,
    test error, shrink report and how many fc1 inputs are still read."""
    import numpy as np

    import tf_neuronselect as ns

    selection = method in SELECTION_METHODS
    prune_inputs = arch in PRUNE_INPUTS
    start = time.perf_counter()
    compact = ns.shrink(model, prune_inputs=prune_inputs) if selection else model
    seconds = time.perf_counter() - start
    # Inputs of fc1 whose outgoing weights are all zero: ns.shrink drops unused pixels of the
    # MLP (prune_inputs) but keeps flattened conv features unless whole channels go.
    fc1_kernel = compact.get_layer("fc1").kernel.numpy()
    fc1_rows_used = int((np.abs(fc1_kernel).sum(axis=1) > 0).sum())
    return {"model": compact, "seconds": seconds,
            "error": error_pct(compact, data.x_test, data.y_test),
            "report": ns.report(model, prune_inputs=prune_inputs).to_dict() if selection else None,
            "fc1_inputs_nonzero": fc1_rows_used,
            "unused_fc1_weights": (fc1_kernel.shape[0] - fc1_rows_used) * fc1_kernel.shape[1]}


def _finetune(compact, method, data, settings, label):
    """Penalty-free fine-tuning of a shrunk selection run; baselines keep their model."""
    epochs = settings["finetune_epochs"]
    if method not in SELECTION_METHODS or not epochs:
        return {"model": compact, "seconds": 0.0, "error": None}
    final = without_penalties(compact)
    compile_model(final, method, epochs, steps_per_epoch(data), finetune=True)
    start = time.perf_counter()
    final.fit(data.x_train, data.y_train, batch_size=BATCH, epochs=epochs, verbose=0,
              callbacks=[epoch_line(label + " fine-tune", epochs)])
    return {"model": final, "seconds": time.perf_counter() - start,
            "error": error_pct(final, data.x_test, data.y_test)}


def _row(run, settings, model, trained, shrunk, tuned, tflite):
    """The results row of one run (its latency is filled in once the batch has trained)."""
    import tf_neuronselect as ns

    method, final = run["method"], tuned["model"]
    selection = method in SELECTION_METHODS
    params = final.count_params()
    report = shrunk["report"]
    steps, layers = trained["tracker"].per_layer()
    return {
        "arch": run["arch"], "method": method,
        "strength": run["strength"] if method != "uniform" else None, "seed": settings["seed"],
        "schedule": run["schedule"] if selection else None,
        "layer_scale": run["layer_scale"] if selection else None,
        "widths": list(run["widths"]) if run["widths"] else None, "epochs": trained["epochs"],
        "finetune_epochs": settings["finetune_epochs"] if selection else 0,
        "error_pct": {"trained": trained["error"], "shrunk": shrunk["error"],
                      "finetuned": tuned["error"]},
        "final_error_pct": tuned["error"] if tuned["error"] is not None else shrunk["error"],
        "units": units_string(run["arch"], final), "params": params,
        "macs": ns.count_macs(final), "params_trained_model": model.count_params(),
        "fc1_inputs_nonzero": shrunk["fc1_inputs_nonzero"],
        "params_if_unused_fc1_inputs_dropped": params - shrunk["unused_fc1_weights"],
        "tflite_bytes": os.path.getsize(tflite), "latency": None,
        "train_seconds": round(trained["seconds"], 1),
        "shrink_seconds": round(shrunk["seconds"], 2),
        "finetune_seconds": round(tuned["seconds"], 1),
        "units_history": {"steps": steps, "layers": layers},
        "shrink_report_totals": report["totals"] if report else None,
        "shrink_report_notes": {r["name"]: r["notes"] for r in report["layers"] if r["notes"]}
        if report else None,
        "tflite_path": tflite,
    }
