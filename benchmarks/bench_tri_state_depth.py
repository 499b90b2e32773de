"""Tri-state ReLU depth selection on an over-deep MNIST MLP: layers turn linear and merge.

Seed 004 (Srinivas & Babu 2015): a depth gate per layer makes the layer linear, and a linear
layer is merged with the next one. The network has 6 hidden Dense layers of 256 units, far
deeper than MNIST needs. Every run: all 60,000 training images, EPOCHS epochs, batch 128.

- ``dense``: ReLU after every hidden layer, Adam 1e-3 with cosine decay (the tri-state
  optimizer, ``recipes.optimizer_for("tri-state")``): the reference error for tri-state.
- ``tri-state``: a TriStateReLU after every hidden layer with
  ``recipes.tri_state_kwargs(COMPLEXITY, linearity=LINEARITY)``: straight-through width and
  depth gates learnt together in one run, same optimizer; seeds SEEDS.
- ``tri-state, width only``: the recipe without depth (``linearity=0``, depth fixed at ReLU).
- ``dense (SGD)`` and ``sparse group lasso``: the per-unit penalty on every hidden layer with
  ProximalSGD 0.05 (cosine), the optimizer of the penalty recipes, against the same MLP
  trained with SGD: what the group penalties do to the same over-deep net.

Each trained model is shrunk with ``ns.shrink(model, collapse_linear=True)``; the row has the
test error (binarized inference; the compact model's is checked to be the same), the hidden
layers left, their widths, the parameters and the compact model's float32 TFLite latency
against the dense net's (``ns.benchmark``: LiteRT, one thread, batch 1 and 64, interleaved
rounds). Target (tri-state): at least 2 of the 6 hidden layers removed and the width cut,
within 0.3 points of the dense net's error.

    python benchmarks/bench_tri_state_depth.py [--quick]
"""

import argparse
import pathlib
import statistics
import sys
import tempfile
import time

if not __package__:  # run as a file, not with -m: import the package from the repo root
    sys.path[0] = str(pathlib.Path(__file__).resolve().parent.parent)

from benchmarks import _common  # noqa: E402
from benchmarks.bench_rewritten_vs_direct import tflite_file  # noqa: E402
from benchmarks.resultfiles import write_result  # noqa: E402

DEPTH, WIDTH, EPOCHS, BATCH = 6, 256, 15, 128
COMPLEXITY, LINEARITY, SEEDS = 3e-7, 1e-2, (0, 1)
SGL_STRENGTH = 1e-3
TARGET_REMOVED, TARGET_POINTS = 2, 0.3
log = _common.log


def build(method, seed, width=WIDTH, complexity=COMPLEXITY, linearity=LINEARITY):
    """The 784-(width x DEPTH)-10 MLP for ``method`` ("dense", "tri-state" or
    "sparse-group-lasso")."""
    import keras

    import tf_neuronselect as ns
    from tf_neuronselect.examples import recipes

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Flatten(name="flatten")(inputs)
    for index in range(1, DEPTH + 1):
        if method == "tri-state":
            x = keras.layers.Dense(width, name=f"fc{index}")(x)
            x = ns.TriStateReLU(name=f"ts{index}",
                                **recipes.tri_state_kwargs(complexity, linearity))(x)
        else:
            penalty = ns.SparseGroupLasso(SGL_STRENGTH) if method == "sparse-group-lasso" \
                else None
            x = keras.layers.Dense(width, activation="relu", kernel_regularizer=penalty,
                                   name=f"fc{index}")(x)
    return keras.Model(inputs, keras.layers.Dense(10, name="logits")(x), name=f"mlp6_{method}")


def compile_model(model, optimizer, steps):
    """``optimizer`` "adam": the tri-state recipe's ProximalAdam (1e-3, cosine); "sgd":
    ProximalSGD 0.05 with momentum 0.9 (cosine), the penalty recipes' (plain SGD for dense)."""
    import keras

    import tf_neuronselect as ns
    from tf_neuronselect.examples import recipes

    if optimizer == "adam":
        schedule = keras.optimizers.schedules.CosineDecay(0.05, steps, alpha=0.01)
        chosen = recipes.optimizer_for("tri-state", schedule)  # 0.05 / 50 = 1e-3
    else:
        schedule = keras.optimizers.schedules.CosineDecay(0.05, steps, alpha=0.01)
        chosen = ns.ProximalSGD(schedule, momentum=0.9)
    model.compile(chosen, keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])


def error_pct(model, x, y):
    import numpy as np

    predictions = model.predict(x, batch_size=1000, verbose=0)
    return float(100 * np.mean(np.argmax(predictions, -1) != y))


def hidden_widths(compact):
    """Units of the compact model's hidden Dense layers (all but the last Dense)."""
    import keras

    return [layer.units for layer in compact.layers if type(layer) is keras.layers.Dense][:-1]


def gates(model):
    """``(width kept, depth gate)`` of every TriStateReLU, in order (None for other nets)."""
    import numpy as np

    import tf_neuronselect as ns

    found = [layer for layer in model.layers if isinstance(layer, ns.TriStateReLU)]
    if not found:
        return None
    return [(int((np.asarray(layer.width_gate) >= 0.5).sum()),
             round(float(np.asarray(layer.depth_gate)), 3)) for layer in found]


def train(run, data, epochs, width):
    """Trains one run; returns ``(model, compact, seconds)``."""
    import tf_neuronselect as ns

    model = build(run["method"], run["seed"], width, **run.get("gates", {}))
    compile_model(model, run["optimizer"], epochs * -(-len(data.x_train) // BATCH))
    start = time.perf_counter()
    model.fit(data.x_train, data.y_train, batch_size=BATCH, epochs=epochs, verbose=0)
    seconds = time.perf_counter() - start
    return model, ns.shrink(model, collapse_linear=True), seconds


def latency(dense_tflite, compact, directory, quick):
    """Compact / dense float32 TFLite latency at batch 1 and 64: medians of interleaved rounds
    (21 of them, each ~0.1 s per model, so that a busy machine's bursts even out)."""
    import tf_neuronselect as ns

    compact_tflite = tflite_file(compact, directory)
    timings = {}
    for batch, iterations in ((1, 1000), (64, 50)):
        (row,) = ns.benchmark(dense_tflite, compact_tflite, batch_sizes=(batch,),
                              rounds=3 if quick else 21, iterations=10 if quick else iterations)
        timings[str(batch)] = {"dense_ms": row["original_ms"], "compact_ms": row["compact_ms"],
                               "ratio": row["ratio"]}
    return timings


def plan_runs(quick):
    """The runs, each compared with the dense run trained with the same optimizer."""
    runs = [{"label": "dense", "method": "dense", "optimizer": "adam", "seed": 0}]
    runs += [{"label": f"tri-state, seed {seed}", "method": "tri-state", "optimizer": "adam",
              "seed": seed} for seed in (SEEDS[:1] if quick else SEEDS)]
    if not quick:
        runs += [{"label": "tri-state, width only", "method": "tri-state", "optimizer": "adam",
                  "seed": 0, "gates": {"linearity": 0.0}},
                 {"label": "dense (SGD)", "method": "dense", "optimizer": "sgd", "seed": 0},
                 {"label": "sparse group lasso", "method": "sparse-group-lasso",
                  "optimizer": "sgd", "seed": 0}]
    return runs


def row_of(run, model, compact, seconds, data):
    widths = hidden_widths(compact)
    settings = {"tri-state": {"complexity": COMPLEXITY, "linearity": LINEARITY,
                              **run.get("gates", {})},
                "sparse-group-lasso": {"strength": SGL_STRENGTH}}.get(run["method"], {})
    return {
        "label": run["label"], "method": run["method"], "optimizer": run["optimizer"],
        "seed": run["seed"], **settings,
        "error_pct": error_pct(model, data.x_test, data.y_test),
        "compact_error_pct": error_pct(compact, data.x_test, data.y_test),
        "gates": gates(model), "hidden_widths": widths, "hidden_layers_left": len(widths),
        "hidden_layers_removed": DEPTH - len(widths), "params": int(model.count_params()),
        "params_compact": int(compact.count_params()), "train_seconds": seconds,
    }


def judge(rows, width):
    """Adds each row's gap to its dense reference (same optimizer) and, for tri-state rows
    with depth, whether it meets the target."""
    references = {row["optimizer"]: row for row in rows if row["method"] == "dense"}
    for row in rows:
        reference = references[row["optimizer"]]
        row["reference"] = reference["label"]
        row["error_gap_points"] = row["error_pct"] - reference["error_pct"]
        row["width_cut"] = sum(row["hidden_widths"]) < width * len(row["hidden_widths"])
        if row["method"] == "tri-state" and row.get("linearity"):
            row["meets_target"] = bool(row["hidden_layers_removed"] >= TARGET_REMOVED
                                       and row["width_cut"]
                                       and row["error_gap_points"] <= TARGET_POINTS)


def load(quick):
    from tf_neuronselect import datasets

    data = datasets.load("mnist")
    if quick:
        data.x_train, data.y_train = data.x_train[:3000], data.y_train[:3000]
        data.x_test, data.y_test = data.x_test[:1000], data.y_test[:1000]
    return data


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small subset, for smoke tests")
    args = parser.parse_args()
    data = load(args.quick)
    epochs, width = (1, 64) if args.quick else (EPOCHS, WIDTH)
    started, rows = time.perf_counter(), []
    with tempfile.TemporaryDirectory() as scratch:
        for index, run in enumerate(plan_runs(args.quick)):
            model, compact, seconds = train(run, data, epochs, width)
            if index == 0:
                dense_tflite = tflite_file(model, f"{scratch}/dense")
            rows.append(row_of(run, model, compact, seconds, data))
            rows[-1]["latency"] = latency(dense_tflite, compact, f"{scratch}/{index}",
                                          args.quick)
            log(f"{run['label']}: error {rows[-1]['error_pct']:.2f}%, hidden widths "
                f"{rows[-1]['hidden_widths']}, gates {rows[-1]['gates']}, latency ratio b1 "
                f"{rows[-1]['latency']['1']['ratio']:.3f}")
    judge(rows, width)
    tri_state = [r for r in rows if "meets_target" in r]
    path = write_result("tri_state_depth", {
        "model": f"784-{width}x{DEPTH}-10 MLP", "epochs": epochs, "batch_size": BATCH,
        "quick": args.quick, "train_examples": len(data.x_train), "runs": rows,
        "targets": {"hidden_layers_removed": TARGET_REMOVED, "error_points": TARGET_POINTS},
        "meets_target": bool(tri_state) and all(r["meets_target"] for r in tri_state),
        "mean_error_gap_points": statistics.mean(r["error_gap_points"] for r in tri_state),
        "latency": "ns.benchmark float32 TFLite, LiteRT, 1 thread, compact / dense (6x256)",
        "seconds_total": time.perf_counter() - started,
    }, args.quick)
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
