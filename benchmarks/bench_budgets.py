"""Budgets instead of strengths: does the controller land within +-10% of each target?

LeNet-5-Caffe on MNIST with group lasso (ProximalSGD), started at a weak strength, trained with
one budget callback each: a parameter count, a multiply-add count, and a measured TFLite
latency at batch 1 on this machine (LatencyBudget times the shrunk model with LiteRT at every
update, interleaved with the model it started from, so the target is a fraction of that
model's latency), plus the parameter budget updated every quarter epoch instead of every
epoch. Each row: target, what the shrunk model reached (for latency, a fresh measurement
interleaved with the dense model's after training), the ratio, test error, updates,
rollbacks, train time.

    python benchmarks/bench_budgets.py [--quick]
"""

import argparse
import dataclasses
import functools
import json
import pathlib
import sys
import time
import warnings

if not __package__:  # run as a file, not with -m: import the package from the repo root
    sys.path[0] = str(pathlib.Path(__file__).resolve().parent.parent)

from benchmarks import _common, resultfiles  # noqa: E402
from benchmarks.mnist.training import error_pct  # noqa: E402

SEED = 0
BATCH = 128
STRENGTH = 1e-3  # the controller's start (recipes.DEFAULT_STRENGTH): about 3x too weak


log = functools.partial(_common.log, prefix="bench_budgets")


def build(total_steps):
    import keras

    import tf_neuronselect as ns
    from tf_neuronselect.examples import recipes

    keras.utils.set_random_seed(SEED)
    model = recipes.build("lenet5", "group-lasso", (28, 28, 1), 10, strength=STRENGTH)
    schedule = keras.optimizers.schedules.CosineDecay(0.05, total_steps, alpha=0.01)
    model.compile(ns.ProximalSGD(schedule, momentum=0.9),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def reached(budget, model, dense_tflite):
    """The shrunk model's size on the budget's measure (latency: timed against dense)."""
    import tf_neuronselect as ns

    plan = ns.make_plan(model)
    if budget.key == "params":
        return plan.params_after, None
    if budget.key == "macs":
        return plan.macs_after, None
    rows = ns.benchmark(dense_tflite, ns.shrink(model), batch_sizes=(1,), rounds=9,
                        iterations=200)
    return rows[0]["ratio"], rows[0]  # compact / dense, timed interleaved


def run(label, make_budget, data, epochs, dense_tflite):
    import tf_neuronselect as ns

    model = build(epochs * -(-len(data.x_train) // BATCH))
    budget = make_budget(model)
    log(f"{label}: target {budget.key} {budget.target:g}")
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the miss warning: the row says it
        model.fit(data.x_train, data.y_train, epochs=epochs, batch_size=BATCH, verbose=0,
                  callbacks=[budget])
    seconds = time.perf_counter() - start
    size, timing = reached(budget, model, dense_tflite)
    ratio = size / budget.target
    row = {"label": label, "measure": budget.key, "target": budget.target, "reached": size,
           "ratio": round(ratio, 3), "within_tolerance": bool(abs(ratio - 1) <= 0.1),
           "test_error_pct": error_pct(model, data.x_test, data.y_test),
           "params": int(ns.make_plan(model).params_after), "updates": len(budget.log),
           "rollbacks": budget.rollbacks, "strength_scale": round(budget.scale, 3),
           "train_seconds": round(seconds, 1), "every_n_steps": budget.every_n_steps,
           "timing_after_training": timing,
           # (epoch, step, size the controller measured, strength scale after the update)
           "controller_log": [[e, st, round(float(sz), 6), round(sc, 4)]
                              for e, st, sz, sc in budget.log]}
    log(f"  reached {size:g} ({ratio:.3f} of the target), error {row['test_error_pct']}%, "
        f"{row['params']:,} params, {row['rollbacks']} rollbacks, {seconds:.0f}s")
    return row


def markdown(payload):
    lines = ["## Budgets (LeNet-5-Caffe, MNIST, group lasso)", "",
             f"Settings: {payload['settings']}. Dense: {payload['dense']['params']:,} params, "
             f"{payload['dense']['macs']:,} MACs, {payload['dense']['latency_ms']:.4f} ms TFLite "
             "batch 1 (LiteRT, 1 thread).", "",
             "| budget | target | reached | ratio | within +-10% | test error % | params | "
             "updates | rollbacks | train s |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in payload["runs"]:
        lines.append(
            f"| {r['label']} | {r['target']:,.4g} | {r['reached']:,.4g} | {r['ratio']:.3f} | "
            f"{'yes' if r['within_tolerance'] else 'no'} | {r['test_error_pct']} | "
            f"{r['params']:,} | {r['updates']} | {r['rollbacks']} | {r['train_seconds']} |")
    for r in payload["runs"]:
        timing = r["timing_after_training"]
        if timing:
            lines += ["", f"{r['label']}: after training, timed interleaved with the dense "
                      f"model: {timing['compact_ms']:.4f} ms vs {timing['original_ms']:.4f} ms "
                      f"(the reached ratio)."]
    met = sum(r["within_tolerance"] for r in payload["runs"])
    lines += ["", f"{met} of {len(payload['runs'])} budgets landed within +-10%."]
    return "\n".join(lines) + "\n"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3k images, 1 epoch")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--only", default=None, metavar="LABEL_PREFIX",
                        help="run only the budgets whose label starts with this (e.g. TFLite) "
                             "and replace their rows in the existing budgets.json")
    return parser.parse_args()


def load_data(quick):
    from tf_neuronselect import datasets

    data = datasets.load("mnist")
    if quick:
        data = dataclasses.replace(data, x_train=data.x_train[:3000],
                                   y_train=data.y_train[:3000], x_test=data.x_test[:1000],
                                   y_test=data.y_test[:1000])
    return data


def dense_reference(quick):
    """The dense LeNet-5's plan and float32 TFLite file, and that file's batch-1 latency."""
    import tf_neuronselect as ns

    dense = build(1)
    scratch = resultfiles.work_dir("budgets", quick)
    scratch.mkdir(parents=True, exist_ok=True)
    ns.export(dense, scratch / "dense", formats=("tflite",), overwrite=True)  # float32
    dense_tflite = resultfiles.write_bytes(
        scratch / "dense.tflite", (scratch / "dense" / "model_float32.tflite").read_bytes())
    dense_ms = ns.benchmark(dense_tflite, dense_tflite, batch_sizes=(1,), rounds=9,
                            iterations=200)[0]["original_ms"]
    return ns.make_plan(dense), dense_tflite, dense_ms


def budgets(plan, steps):
    """(label, budget callback maker) of every budget measured."""
    import tf_neuronselect as ns

    return [
        ("params 1/30, per epoch", lambda m: ns.SizeBudget(params=plan.params_before // 30)),
        ("params 1/30, every 1/4 epoch",
         lambda m: ns.SizeBudget(params=plan.params_before // 30, every_n_steps=steps // 4)),
        ("MACs 1/5, per epoch", lambda m: ns.SizeBudget(macs=plan.macs_before // 5)),
        ("TFLite latency 1/3 of the start, per epoch",
         lambda m: ns.LatencyBudget(fraction=1 / 3, rounds=5, iterations=100)),
    ]


def main():
    args = parse_args()
    data = load_data(args.quick)
    epochs = args.epochs or (1 if args.quick else 10)
    plan, dense_tflite, dense_ms = dense_reference(args.quick)
    log(f"dense: {plan.params_before:,} params, {plan.macs_before:,} MACs, {dense_ms:.4f} ms")
    todo = budgets(plan, -(-len(data.x_train) // BATCH))
    payload = {"settings": {"epochs": epochs, "batch": BATCH, "seed": SEED,
                            "start_strength": STRENGTH,
                            "optimizer": "ProximalSGD(cosine 0.05 -> 0.0005, momentum 0.9)",
                            "train_examples": len(data.x_train), "quick": args.quick},
               "dense": {"params": plan.params_before, "macs": plan.macs_before,
                         "latency_ms": dense_ms}, "runs": []}
    if args.only:
        todo = [b for b in todo if b[0].startswith(args.only)]
        stored = resultfiles.result_path("budgets.json", args.quick)
        if stored.is_file():
            old = json.loads(stored.read_text())
            payload["runs"] = [r for r in old["runs"] if not r["label"].startswith(args.only)]
            payload["dense"] = old["dense"]  # the rows kept were measured against it
    for label, make_budget in todo:
        payload["runs"].append(run(label, make_budget, data, epochs, dense_tflite))
        resultfiles.write_result("budgets", payload, args.quick)
        resultfiles.write_text(resultfiles.result_path("budgets.md", args.quick),
                               markdown(payload))
    log(json.dumps([(r["label"], r["ratio"]) for r in payload["runs"]]))


if __name__ == "__main__":
    main()
