"""Time of ``tf_neuronselect.shrink`` on ResNet50 (weights=None) with ~30% dead units.

Run: python benchmarks/bench_rewrite.py  -> prints seconds, writes benchmarks/results/rewrite.json
"""

import json
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

if not __package__:  # run as a file, not with -m: import the package from the repo root
    sys.path[0] = str(pathlib.Path(__file__).resolve().parent.parent)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import tf_neuronselect as ns  # noqa: E402
from benchmarks.bench_scale import kill_units  # noqa: E402
from benchmarks.resultfiles import write_result  # noqa: E402

SHARE = 0.3


def main():
    rng = np.random.default_rng(0)
    model = keras.applications.ResNet50(weights=None)
    kill_units(model, SHARE, rng)
    start = time.perf_counter()
    plan = ns.make_plan(model)
    plan_seconds = time.perf_counter() - start
    start = time.perf_counter()
    shrunk = ns.shrink(model)
    shrink_seconds = time.perf_counter() - start
    x = rng.normal(size=(1, 224, 224, 3)).astype("float32")
    diff = float(np.max(np.abs(keras.ops.convert_to_numpy(model(x) - shrunk(x)))))
    result = {
        "model": "ResNet50(weights=None, 224x224)", "dead_share": SHARE,
        "plan_seconds": round(plan_seconds, 3), "shrink_seconds": round(shrink_seconds, 3),
        "params_before": model.count_params(), "params_after": shrunk.count_params(),
        "planned_params_after": plan.params_after, "max_abs_output_diff": diff,
    }
    write_result("rewrite", result)
    print(f"shrink: {shrink_seconds:.2f} s (plan alone {plan_seconds:.2f} s)")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
