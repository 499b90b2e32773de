"""ShrinkNets' training speed-up on MNIST: dead units removed as they die vs plain training.

Seed 001 (Leclerc et al., "ShrinkNets"): one hidden layer started at 10,000 units, a Gate with
an L1 penalty after it, the dead units removed while training so the rest of the run pays for
a small network. All 60,000 MNIST training images, 10 epochs, batch 128, SGD(0.05, momentum
0.9) with the learning rate cosine-decayed to 0 over the run, and ``steps_per_execution=16``,
for every arm (ProximalSGD for the gated ones). The arms:

- ``dense``: the same MLP without a Gate, plain ``model.fit``: the reference for time and
  accuracy;
- one arm per gate strength ``l1`` in STRENGTHS, trained with ``ns.fit_with_shrinking``
  (a removal point every REMOVE_EVERY steps, a rebuild once MIN_FRACTION of the parameters
  are dead) and ``Gate(l1, learning_rate_multiplier=k)`` with ``k = 1 / (CLOSE_STEPS * lr *
  l1)``: a gate nobody needs closes within CLOSE_STEPS steps, whatever the strength;
- ``before``: one strength with ``learning_rate_multiplier=1``, the Gate as it was.

Timing on a shared machine: the arms train in lock-step, one epoch of each in turn (the order
rotating every epoch), so every epoch of an arm is timed within a minute of the same epoch of
``dense``; the ratio of each such pair is stored, with process CPU time beside wall time. The
speed-up is dense's total time over the arm's; ``speedup_to_match`` compares the arm's total
time with the time ``dense`` took to first reach the arm's final test accuracy.

The overhead of ``fit_with_shrinking`` when nothing is removed (Gate with ``l1=0``) is timed
separately on OVERHEAD_EXAMPLES images (one pass), at this benchmark's steps_per_execution
(the verdict) and at 1 (the removal points' batch-end hook then runs after every step, which
keeps Keras from dispatching steps ahead): ``model.fit`` and ``fit_with_shrinking`` on fresh
copies of the same model, in alternating order, OVERHEAD_PAIRS times. On these
shared 2-core machines a run takes either its normal time or nearly twice it (another tenant
takes a core for seconds at a time), so one pair's ratio can read 0.55 or 1.85; interference
only ever adds time, so the figure that counts is the ratio of each arm's fastest run (as
``timeit`` advises). The median of the per-pair ratios is stored beside it.

Targets: >= 3x faster than ``dense`` at a test accuracy within 0.5 points of ``dense``'s; the
overhead <= 3%.

    python benchmarks/bench_shrink_during_training.py [--quick]
"""

import argparse
import math
import pathlib
import statistics
import sys
import time

if not __package__:  # run as a file, not with -m: import the package from the repo root
    sys.path[0] = str(pathlib.Path(__file__).resolve().parent.parent)

from benchmarks import _common  # noqa: E402
from benchmarks.resultfiles import write_result  # noqa: E402

LR, BATCH, WIDTH, EPOCHS = 0.05, 128, 10_000, 10
STRENGTHS = (1e-4, 1.5e-4, 2e-4, 3e-4, 5e-4)
BEFORE_STRENGTH = 2e-4
# Single runs of the l1=1e-4 arm alone (2026-12-03, seed 0), seconds of 10 epochs: with a
# constant learning rate the final test accuracy of a gated run swung by 0.5 points from epoch
# to epoch (97.1-98.2%), so the cosine decay; at 250 close steps and MIN_FRACTION 0.5 the net
# stayed at 10,000 units for 400 steps and at ~1,200 for 3,000 (66 s); MIN_FRACTION 0.2
# follows the deaths (53 s); closing in 150 steps with the decay: 44.6 s at 98.24%, where the
# dense net took 181 s for 98.12%. steps_per_execution=16 cut a small net's epoch by ~10%.
CLOSE_STEPS = 150
REMOVE_EVERY = 25
MIN_FRACTION = 0.2
STEPS_PER_EXECUTION = 16
OVERHEAD_PAIRS, OVERHEAD_EXAMPLES = 10, 20_000
TARGET_SPEEDUP, ACCURACY_POINTS, TARGET_OVERHEAD = 3.0, 0.5, 1.03
log = _common.log


def multiplier_for(l1, close_steps=CLOSE_STEPS):
    """The gate learning-rate multiplier that closes an unneeded gate in ``close_steps``."""
    return 1.0 / (close_steps * LR * l1)


def build(width, l1=None, multiplier=1.0, seed=0, decay_steps=None,
          steps_per_execution=STEPS_PER_EXECUTION):
    """784-width-10 ReLU MLP; with ``l1`` (even 0) a Gate after the hidden layer. With
    ``decay_steps`` the learning rate is cosine-decayed to 0 over that many steps."""
    import keras

    import tf_neuronselect as ns

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((784,))
    x = keras.layers.Dense(width, activation="relu", name="hidden")(inputs)
    if l1 is not None:
        x = ns.Gate(l1=l1, learning_rate_multiplier=multiplier, name="gate")(x)
    model = keras.Model(inputs, keras.layers.Dense(10, name="head")(x), name="shrinknets_mlp")
    lr = LR if decay_steps is None else keras.optimizers.schedules.CosineDecay(LR, decay_steps)
    optimizer = (keras.optimizers.SGD(lr, momentum=0.9) if l1 is None
                 else ns.ProximalSGD(lr, momentum=0.9))
    model.compile(optimizer, keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], steps_per_execution=steps_per_execution)
    return model


class Arm:
    """One model trained epoch by epoch: plain ``fit`` or ``fit_with_shrinking``."""

    def __init__(self, name, model, shrinking, l1=None, multiplier=None):
        self.name, self.model, self.shrinking = name, model, shrinking
        self.l1, self.multiplier = l1, multiplier
        self.wall, self.cpu, self.accuracy, self.units, self.removals = [], [], [], [], []

    def train_epoch(self, epoch, x, y):
        import tf_neuronselect as ns

        fit = {"batch_size": BATCH, "verbose": 0, "epochs": epoch + 1, "initial_epoch": epoch}
        wall, cpu = time.perf_counter(), time.process_time()
        if self.shrinking:
            self.model, history = ns.fit_with_shrinking(
                self.model, x, y, shrink_every_steps=REMOVE_EVERY, min_fraction=MIN_FRACTION,
                shrink_at_end=False, **fit)
            self.removals += [{"step": s["step"], "units": s["units"]["hidden"]}
                              for s in history.shrinks]
        else:
            self.model.fit(x, y, **fit)
        self.wall.append(time.perf_counter() - wall)
        self.cpu.append(time.process_time() - cpu)

    def evaluate(self, x_test, y_test):
        self.accuracy.append(float(self.model.evaluate(x_test, y_test, verbose=0)[1]))
        self.units.append(int(self.model.get_layer("hidden").units))


def train_lockstep(arms, epochs, data):
    """One epoch of every arm in turn, the order rotating each epoch; test accuracy after
    each epoch (not timed)."""
    x, y, x_test, y_test = data
    for epoch in range(epochs):
        order = arms[epoch % len(arms):] + arms[:epoch % len(arms)]
        for arm in order:
            arm.train_epoch(epoch, x, y)
            arm.evaluate(x_test, y_test)
        log(f"epoch {epoch + 1}/{epochs}: " + ", ".join(
            f"{a.name} {a.wall[-1]:.1f} s {a.accuracy[-1]:.4f} ({a.units[-1]} units)"
            for a in arms))


def time_to_reach(dense, accuracy):
    """Seconds ``dense`` trained until its test accuracy first reached ``accuracy`` (None if
    it never did)."""
    elapsed = 0.0
    for seconds, reached in zip(dense.wall, dense.accuracy):
        elapsed += seconds
        if reached >= accuracy:
            return elapsed
    return None


def summarize(arm, dense):
    """The result row of one gated arm against ``dense``."""
    wall, cpu = sum(arm.wall), sum(arm.cpu)
    gap = (dense.accuracy[-1] - arm.accuracy[-1]) * 100
    match = time_to_reach(dense, arm.accuracy[-1])
    speedup = sum(dense.wall) / wall
    return {
        "arm": arm.name, "l1": arm.l1, "learning_rate_multiplier": arm.multiplier,
        "test_accuracy": arm.accuracy[-1], "accuracy_gap_points": gap,
        "units_left": arm.units[-1], "seconds": wall, "cpu_seconds": cpu,
        "speedup": speedup, "cpu_speedup": sum(dense.cpu) / cpu,
        "epoch_wall_ratios": [d / a for d, a in zip(dense.wall, arm.wall)],
        "speedup_to_match": None if match is None else match / wall,
        "accuracy_per_epoch": arm.accuracy, "units_per_epoch": arm.units,
        "seconds_per_epoch": arm.wall, "removals": arm.removals,
        "meets_target": bool(speedup >= TARGET_SPEEDUP and gap <= ACCURACY_POINTS),
    }


def measure_overhead(x, y, width, pairs, steps_per_execution):
    """``fit_with_shrinking`` / ``model.fit`` seconds for one pass over ``x`` of a gated model
    in which nothing dies: the ratio of the fastest runs (it counts) and the median of the
    per-pair ratios, the order alternating between pairs."""
    import tf_neuronselect as ns

    def traced():
        # Both arms trace the same train step once; traced untimed, so the pair compares
        # the epochs and what fit_with_shrinking adds around them.
        model = build(width, l1=0.0, steps_per_execution=steps_per_execution)
        model.fit(x[:BATCH], y[:BATCH], batch_size=BATCH, epochs=1, verbose=0)
        return model

    def plain():
        model = traced()
        return lambda: model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)

    def shrinking():
        model = traced()
        return lambda: ns.fit_with_shrinking(model, x, y, batch_size=BATCH, epochs=1,
                                             verbose=0, shrink_every_steps=REMOVE_EVERY)

    seconds = {"plain": [], "shrinking": []}
    for index in range(pairs):
        runs = {"plain": plain(), "shrinking": shrinking()}
        for name in (("plain", "shrinking") if index % 2 == 0 else ("shrinking", "plain")):
            start = time.perf_counter()
            runs[name]()
            seconds[name].append(time.perf_counter() - start)
        log(f"overhead pair {index + 1}/{pairs} (steps_per_execution={steps_per_execution}): "
            f"plain {seconds['plain'][-1]:.1f} s, shrinking {seconds['shrinking'][-1]:.1f} s")
    return overhead_summary(seconds, len(x), steps_per_execution)


def overhead_summary(seconds, examples, steps_per_execution):
    ratios = [s / p for s, p in zip(seconds["shrinking"], seconds["plain"])]
    fastest = min(seconds["shrinking"]) / min(seconds["plain"])
    return {"ratios": ratios, "median": statistics.median(ratios), "fastest_ratio": fastest,
            "seconds": seconds, "examples": examples,
            "steps_per_execution": steps_per_execution, "target": TARGET_OVERHEAD,
            "meets_target": fastest <= TARGET_OVERHEAD}


def make_arms(width, strengths, decay_steps):
    arms = [Arm("dense", build(width, decay_steps=decay_steps), shrinking=False)]
    for l1 in strengths:
        k = multiplier_for(l1)
        arms.append(Arm(f"l1={l1:g}", build(width, l1, k, decay_steps=decay_steps), True, l1, k))
    arms.append(Arm(f"before (l1={BEFORE_STRENGTH:g}, multiplier 1)",
                    build(width, BEFORE_STRENGTH, decay_steps=decay_steps), True,
                    BEFORE_STRENGTH, 1.0))
    return arms


def load(quick, path):
    from tf_neuronselect import datasets

    data = datasets.load("mnist", path=path)
    count = 4000 if quick else len(data.x_train)
    x = data.x_train[:count].reshape(count, -1)
    return x, data.y_train[:count], data.x_test.reshape(len(data.x_test), -1), data.y_test


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small subset, for smoke tests")
    parser.add_argument("--data", default=None, help="mnist.npz (default: datasets.load)")
    args = parser.parse_args()
    data = load(args.quick, args.data)
    width, epochs = (2000, 2) if args.quick else (WIDTH, EPOCHS)
    strengths = STRENGTHS[2:3] if args.quick else STRENGTHS
    started = time.perf_counter()
    decay_steps = epochs * math.ceil(len(data[0]) / BATCH)
    arms = make_arms(width, strengths, decay_steps)
    train_lockstep(arms, epochs, data)
    dense = arms[0]
    rows = [summarize(arm, dense) for arm in arms[1:]]
    subset = (data[0][:OVERHEAD_EXAMPLES], data[1][:OVERHEAD_EXAMPLES])
    pairs = 2 if args.quick else OVERHEAD_PAIRS
    overhead = measure_overhead(*subset, width, pairs, STEPS_PER_EXECUTION)
    overhead_one_step = measure_overhead(*subset, width, pairs, 1)
    for row in rows:
        log(f"{row['arm']}: {row['test_accuracy']:.4f} ({row['accuracy_gap_points']:+.2f} "
            f"points), {row['units_left']} units, speed-up {row['speedup']:.2f}x "
            f"(CPU {row['cpu_speedup']:.2f}x)")
    path = write_result("shrink_during_training", {
        "model": f"784-{width}(relu)-Gate-10, SGD / ProximalSGD({LR}, momentum=0.9)",
        "learning_rate": f"{LR} cosine-decayed to 0 over {decay_steps} steps",
        "steps_per_execution": STEPS_PER_EXECUTION,
        "train_examples": len(data[0]), "epochs": epochs, "batch_size": BATCH,
        "quick": args.quick, "close_steps": CLOSE_STEPS, "remove_every_steps": REMOVE_EVERY,
        "min_fraction": MIN_FRACTION, "dense": {
            "test_accuracy": dense.accuracy[-1], "seconds": sum(dense.wall),
            "cpu_seconds": sum(dense.cpu), "accuracy_per_epoch": dense.accuracy,
            "seconds_per_epoch": dense.wall},
        "runs": rows, "overhead": overhead, "overhead_one_step": overhead_one_step,
        "target_speedup": TARGET_SPEEDUP, "accuracy_limit_points": ACCURACY_POINTS,
        "meets_target": any(row["meets_target"] for row in rows),
        "seconds_total": time.perf_counter() - started,
    }, args.quick)
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
