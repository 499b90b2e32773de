"""How ``make_plan`` / ``shrink`` / ``report`` scale with the number of layers.

Runs over keras.applications models of growing size, built with ``weights=None`` and about 30%
of the units of every prunable layer killed, and prints one row per model: layers, seconds for
each call (the fastest of --repeats runs), milliseconds per layer, and the output change of the
shrunk model. Then the time-per-layer ratio between the largest and the smallest model, and
within the ResNet family (same blocks, more of them): about 1 means linear scaling.

    python benchmarks/bench_scale.py            # 224x224 inputs, every model
    python benchmarks/bench_scale.py --quick    # 64x64 inputs, three models (~1 minute)

Writes benchmarks/results/scale.json (results/quick/scale.json with --quick; under run_all.py,
the directory in $NEURONSELECT_BENCH_RESULTS). A model whose construction or rewrite is not
supported is listed with the reason and skipped.
"""

import argparse
import gc
import os
import pathlib
import sys
import time
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

if not __package__:  # run as a file, not with -m: import the package from the repo root
    sys.path[0] = str(pathlib.Path(__file__).resolve().parent.parent)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import tf_neuronselect as ns  # noqa: E402
from benchmarks import resultfiles  # noqa: E402
from tf_neuronselect import grouping  # noqa: E402

SHARE = 0.3
A = keras.applications
NO_HEAD_ACTIVATION = {"weights": None, "classifier_activation": None}  # compare logits
MODELS = {
    "MobileNetV2": lambda shape: A.MobileNetV2(input_shape=shape, **NO_HEAD_ACTIVATION),
    "EfficientNetB0": lambda shape: A.EfficientNetB0(input_shape=shape, **NO_HEAD_ACTIVATION),
    "DenseNet121": lambda shape: A.DenseNet121(input_shape=shape, **NO_HEAD_ACTIVATION),
    "ResNet50": lambda shape: A.ResNet50(input_shape=shape, **NO_HEAD_ACTIVATION),
    "ResNet101": lambda shape: A.ResNet101(input_shape=shape, **NO_HEAD_ACTIVATION),
    "ResNet152": lambda shape: A.ResNet152(input_shape=shape, **NO_HEAD_ACTIVATION),
}
QUICK = ("MobileNetV2", "ResNet50", "ResNet101")


def kill_units(model, share, rng):
    """Zeroes the incoming groups of ``share`` of the units of every prunable layer."""
    for layer in model.layers:
        if grouping.is_grouped_convolution(layer):
            continue
        spec = grouping.unit_spec(layer)
        if spec is None:
            continue
        kernel = getattr(layer, spec.kernel)
        units = grouping.num_units(tuple(kernel.shape), spec.layout)
        alive = (rng.random(units) >= share).astype("float32")
        kernel.assign(grouping.scale_units(keras.ops.convert_to_numpy(kernel), spec.layout,
                                           grouping.INCOMING, alive))


def _timed(call, repeats=1):
    """``call()``'s last result and its fastest time over ``repeats`` runs (the minimum is the
    least disturbed by other processes on a shared machine)."""
    best = float("inf")
    for _ in range(repeats):
        result = None
        gc.collect()
        start = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - start)
    return result, best


def measure(name, shape, rng, repeats):
    keras.backend.clear_session()
    gc.collect()
    model, build_seconds = _timed(lambda: MODELS[name](shape))
    kill_units(model, SHARE, rng)
    plan, plan_seconds = _timed(lambda: ns.make_plan(model), repeats)
    shrunk, shrink_seconds = _timed(lambda: ns.shrink(model), repeats)
    _, report_seconds = _timed(lambda: ns.report(model), repeats)
    x = rng.normal(size=(1,) + shape).astype("float32")
    before = keras.ops.convert_to_numpy(model(x, training=False))
    after = keras.ops.convert_to_numpy(shrunk(x, training=False))
    layers = len(model.layers)
    return {
        "model": name,
        "input_shape": list(shape),
        "layers": layers,
        "nodes": sum(len(v) for v in model._nodes_by_depth.values()),
        "build_seconds": round(build_seconds, 3),
        "plan_seconds": round(plan_seconds, 3),
        "shrink_seconds": round(shrink_seconds, 3),
        "report_seconds": round(report_seconds, 3),
        "shrink_ms_per_layer": round(1e3 * shrink_seconds / layers, 3),
        "report_ms_per_layer": round(1e3 * report_seconds / layers, 3),
        "params_before": int(model.count_params()),
        "params_after": int(shrunk.count_params()),
        "planned_params_after": int(plan.params_after),
        "max_relative_output_change": float(np.max(np.abs(before - after))
                                            / max(1.0, float(np.max(np.abs(before))))),
    }


def table(rows):
    header = (f"{'model':<16}{'layers':>7}{'plan s':>9}{'shrink s':>10}{'report s':>10}"
              f"{'shrink ms/layer':>17}{'report ms/layer':>17}{'params':>24}{'rel. diff':>11}")
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['model']:<16}{r['layers']:>7}{r['plan_seconds']:>9.2f}{r['shrink_seconds']:>10.2f}"
            f"{r['report_seconds']:>10.2f}{r['shrink_ms_per_layer']:>17.2f}"
            f"{r['report_ms_per_layer']:>17.2f}"
            f"{str(r['params_before']) + '->' + str(r['params_after']):>24}"
            f"{r['max_relative_output_change']:>11.1e}")
    return "\n".join(lines)


def scaling_ratios(rows):
    """Time per layer of the largest model over the smallest's, overall and within the ResNet
    family (about 1 means linear in the number of layers); printed and returned."""
    ratios = {}
    if len(rows) >= 2:
        small, large = rows[0], rows[-1]
        for what in ("shrink", "report"):
            ratios[what] = round(large[f"{what}_ms_per_layer"] / small[f"{what}_ms_per_layer"], 3)
        print(f"\ntime per layer, {large['model']} ({large['layers']} layers) / "
              f"{small['model']} ({small['layers']} layers): shrink {ratios['shrink']:.2f}x, "
              f"report {ratios['report']:.2f}x (1.0 = linear in the number of layers)")
    family = [r for r in rows if r["model"].startswith("ResNet")]
    if len(family) >= 2:
        # Same blocks, more of them: the cleanest test of linear scaling.
        small, large = family[0], family[-1]
        for what in ("shrink", "report"):
            ratios[f"resnet_{what}"] = round(
                large[f"{what}_ms_per_layer"] / small[f"{what}_ms_per_layer"], 3)
        print(f"same family, {large['model']} / {small['model']}: shrink "
              f"{ratios['resnet_shrink']:.2f}x, report {ratios['resnet_report']:.2f}x per layer")
    return ratios


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="64x64 inputs, three models")
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS), default=None)
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed runs per call, the fastest is kept (default 3, 1 with --quick)")
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    names = args.models or (QUICK if args.quick else tuple(MODELS))
    shape = (64, 64, 3) if args.quick else (224, 224, 3)
    rng = np.random.default_rng(0)
    rows, skipped = [], {}
    for name in names:
        try:
            rows.append(measure(name, shape, rng, repeats))
        except Exception as error:  # an unsupported model is reported, not fatal
            skipped[name] = f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
            traceback.print_exc(limit=2)
        else:
            print(f"{name}: {rows[-1]['layers']} layers, shrink {rows[-1]['shrink_seconds']:.2f} s",
                  flush=True)
    rows.sort(key=lambda r: r["layers"])
    print()
    print(table(rows))
    ratios = scaling_ratios(rows)
    for name, reason in skipped.items():
        print(f"skipped {name}: {reason}")
    path = resultfiles.write_result("scale", {
        "dead_share": SHARE, "quick": args.quick, "repeats": repeats, "rows": rows,
        "time_per_layer_ratio_largest_vs_smallest": ratios, "skipped": skipped,
    }, args.quick)
    print(f"wrote {path}")
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
