"""Per-step training time of ProximalSGD vs keras SGD on the same LeNet-300-100, one run.

Target (issue: training core): ratio ProximalSGD / SGD <= 1.10. Both models carry the same
GroupLasso penalties: SGD follows their subgradient, ProximalSGD applies the closed-form prox.

    python benchmarks/bench_prox_step.py [--quick]
"""

import argparse
import pathlib
import sys

if not __package__:  # run as a file, not with -m: import the package from the repo root
    sys.path[0] = str(pathlib.Path(__file__).resolve().parent.parent)

from benchmarks._common import interleaved_medians  # noqa: E402
from benchmarks.resultfiles import write_result  # noqa: E402


def build(optimizer):
    import keras

    import tf_neuronselect as ns

    keras.utils.set_random_seed(0)
    inputs = keras.Input((784,))
    x = keras.layers.Dense(300, activation="relu", kernel_regularizer=ns.GroupLasso(1e-4))(inputs)
    x = keras.layers.Dense(100, activation="relu", kernel_regularizer=ns.GroupLasso(1e-4))(x)
    model = keras.Model(inputs, keras.layers.Dense(10)(x))
    model.compile(optimizer, keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few rounds, for smoke tests")
    args = parser.parse_args()
    import keras
    import numpy as np

    import tf_neuronselect as ns

    steps, rounds = (20, 5) if args.quick else (100, 15)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128 * steps, 784)).astype("float32")
    y = rng.integers(0, 10, size=128 * steps)
    models = {
        "ProximalSGD": build(ns.ProximalSGD(0.05, momentum=0.9)),
        "SGD": build(keras.optimizers.SGD(0.05, momentum=0.9)),
    }
    for model in models.values():  # trace and warm up outside the timed rounds
        model.fit(x[:256], y[:256], batch_size=128, epochs=1, verbose=0)
    runs = {name: (lambda m=m: m.fit(x, y, batch_size=128, epochs=1, verbose=0))
            for name, m in models.items()}
    medians = interleaved_medians(runs, rounds)
    per_step = {name: seconds / steps for name, seconds in medians.items()}
    ratio = per_step["ProximalSGD"] / per_step["SGD"]
    print(f"per-step seconds: ProximalSGD {per_step['ProximalSGD']*1e3:.3f} ms, "
          f"SGD {per_step['SGD']*1e3:.3f} ms; ratio {ratio:.3f} (target <= 1.10)")
    path = write_result("prox_step", {
        "model": "LeNet-300-100, GroupLasso(1e-4) on both hidden layers, batch 128",
        "steps_per_round": steps, "rounds": rounds, "seconds_per_step": per_step,
        "ratio_proximal_over_sgd": ratio, "target": 1.10, "quick": args.quick,
    }, args.quick)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
