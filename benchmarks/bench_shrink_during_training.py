"""Training time with dead units removed while training vs kept, ShrinkNets' MNIST MLP.

Seed 001 (Leclerc et al., "ShrinkNets"): one hidden layer started at 10,000 units, a Gate with
an L1 penalty after it. Both runs train the same model from the same seed on the same batches
(no shuffling) for the same epochs; one with ``ns.fit_with_shrinking`` (exact removal every
epoch), one with plain ``model.fit``. Removal is exact, so both reach the same accuracy and the
only difference is the time. Target: >= 3x faster at the same test accuracy (+-0.2 points).

    python benchmarks/bench_shrink_during_training.py [--quick]
"""

import argparse
import pathlib
import sys
import time

if not __package__:  # run as a file, not with -m: import the package from the repo root
    sys.path[0] = str(pathlib.Path(__file__).resolve().parent.parent)

from benchmarks.resultfiles import write_result  # noqa: E402


def build(l1, width):
    import keras

    import tf_neuronselect as ns

    keras.utils.set_random_seed(0)
    inputs = keras.Input((784,))
    x = keras.layers.Dense(width, activation="relu", name="hidden")(inputs)
    x = ns.Gate(l1=l1, name="gate")(x)
    model = keras.Model(inputs, keras.layers.Dense(10, name="head")(x), name="shrinknets_mlp")
    model.compile(ns.ProximalSGD(0.05, momentum=0.9),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small subset, for smoke tests")
    parser.add_argument("--data", default=None, help="mnist.npz (default: datasets.load)")
    args = parser.parse_args()

    import tf_neuronselect as ns
    from tf_neuronselect import datasets

    data = datasets.load("mnist", path=args.data)
    examples, epochs, width = (4000, 3, 2000) if args.quick else (20000, 10, 10000)
    l1, batch = 0.1, 128
    x = data.x_train[:examples].reshape(examples, -1)
    y = data.y_train[:examples]
    x_test = data.x_test.reshape(len(data.x_test), -1)
    fit = {"batch_size": batch, "shuffle": False, "verbose": 0}

    model = build(l1, width)
    start = time.perf_counter()
    model.fit(x, y, epochs=epochs, **fit)
    seconds_kept = time.perf_counter() - start
    accuracy_kept = model.evaluate(x_test, data.y_test, verbose=0)[1]
    alive_kept = ns.make_plan(model).params_after

    model = build(l1, width)
    tracker = ns.NeuronHistory(sizes=True)
    start = time.perf_counter()
    compact, history = ns.fit_with_shrinking(model, x, y, epochs=epochs, shrink_every=1,
                                             callbacks=[tracker], **fit)
    seconds_removed = time.perf_counter() - start
    accuracy_removed = compact.evaluate(x_test, data.y_test, verbose=0)[1]

    speedup = seconds_kept / seconds_removed
    gap = abs(accuracy_kept - accuracy_removed) * 100
    print(f"kept units: {seconds_kept:.1f} s, test accuracy {accuracy_kept:.4f}")
    print(f"removed while training: {seconds_removed:.1f} s, accuracy {accuracy_removed:.4f}")
    print(f"speed-up {speedup:.2f}x (target >= 3), accuracy gap {gap:.2f} points (<= 0.2)")
    path = write_result("shrink_during_training", {
        "model": f"784-{width}(relu)-Gate(l1={l1})-10, ProximalSGD(0.05, momentum=0.9)",
        "train_examples": examples, "epochs": epochs, "batch_size": batch, "quick": args.quick,
        "seconds_without_removal": seconds_kept, "seconds_with_removal": seconds_removed,
        "speedup": speedup, "target_speedup": 3.0,
        "test_accuracy_without_removal": accuracy_kept,
        "test_accuracy_with_removal": accuracy_removed,
        "accuracy_gap_points": gap, "accuracy_gap_limit_points": 0.2,
        "deploy_params_without_removal": int(alive_kept),
        "final_training_params": int(compact.count_params()),
        "shrinks": [{k: v for k, v in s.items() if k != "units"} | {
            "units": {name: list(pair) for name, pair in s["units"].items()}}
            for s in history.shrinks],
        "units_per_epoch": [counts for _, counts in tracker.history],
        "params_per_epoch": [size["params"] for _, size in tracker.sizes],
        "meets_target": bool(speedup >= 3.0 and gap <= 0.2),
    }, args.quick)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
