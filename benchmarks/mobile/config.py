"""bench_mobile.py's fixed choices: the network, the training recipe, the arms and their
strengths, what "matched error" means and the issue's targets."""

SEED = 0
# keras.applications.MobileNetV3Small(weights=None, input_shape=(32, 32, 1), classes=10,
# include_preprocessing=False, classifier_activation=None, alpha=ALPHA): hard-swish,
# squeeze-and-excitation, inverted residuals. MNIST is padded from 28x28 to 32x32.
ALPHA = 1.0
SIDE = 32
# The Keras default BatchNorm momentum 0.999 needs thousands of steps before the moving
# statistics match the weights; two epochs of MNIST are 938 steps, so inference would use
# stale statistics. 0.9 for every BatchNorm, every arm.
BN_MOMENTUM = 0.9
# Two epochs: on 2 shared cores one epoch of 60k images took 110-240 s (dense) and the
# proximal arms about 1.3x that; more epochs or strengths would not fit the ~45-minute budget.
EPOCHS = 2
BATCH = 128
LEARNING_RATE = 0.05  # cosine-decayed to 1% of it over the whole run
MOMENTUM = 0.9
STEPS_PER_EXECUTION = 16  # the same updates, less per-step dispatch

# The runs of the full benchmark: arm -> strengths (GroupLasso strength, or the gates' l1).
# Chosen from a scratch sweep of single 2-epoch runs (2026-12-03, same recipe; dense 1.59%):
# unit groups 1e-3 removed nothing (1.42%), 1e-2 kept 14,016 parameters at 1.80%; per kernel
# 1e-2 kept 163,894 at 1.67%; gates 3e-2 closed none (1.52%), 1e-1 kept 7,052 at 3.06%. Two
# strengths per penalty (the stronger per-kernel one gives (a) its best chance) and one gate
# strength between the two tried: six runs fit the ~45-minute budget on a shared machine.
STRENGTHS = {
    "kernels": (1e-2, 2e-2),
    "unit-groups": (5e-3, 1e-2),
    "gates": (6e-2,),
}
# `--quick`: a fixed subset, one epoch, one strength per arm.
QUICK_TRAIN, QUICK_TEST, QUICK_EPOCHS = 2048, 1000, 1
QUICK_STRENGTHS = {"kernels": (3e-3,), "unit-groups": (3e-3,), "gates": (3e-3,)}

# Matched error: each arm is judged on its most compressed run whose test error (of the shrunk
# model) is at most the dense run's plus MATCHED_POINTS percentage points.
MATCHED_POINTS = 0.3
# The targets: (b) or (c) removes at least this many times the parameters (a) removes,
# and its compact TFLite runs at least this many times faster than the dense one at batch 1.
TARGET_REMOVED_RATIO = 3.0
TARGET_SPEEDUP = 2.0
# Batch-1 LiteRT timing, one thread: interleaved rounds of this many calls per model.
LATENCY_ROUNDS, LATENCY_ITERATIONS = 9, 300
