"""bench_sequence.py's fixed choices: the two networks, the training recipe, the strengths, what
"matched error" means and the issue's targets."""

SEED = 0
# ViT on 7x7 patches of MNIST (16 tokens): 4 pre-norm blocks, width 64, 4 heads of 16, MLP 128.
PATCH = 7
VIT_BLOCKS, VIT_WIDTH, VIT_HEADS, VIT_MLP = 4, 64, 4, 128
# LSTM over the 28 rows (28 steps of 28 pixels).
LSTM_UNITS = 128
BATCH = 128
LEARNING_RATE = 1e-3  # Adam (ProximalAdam for the penalized arms), cosine-decayed to 1% of it
STEPS_PER_EXECUTION = 16  # the same updates, less per-step dispatch
ALPHA = 0.5  # SparseGroupLasso's share of the plain L1 term, when that arm runs
TFLITE_CHECK_IMAGES = 200  # test images run through each TFLite file, one at a time
QUICK_TRAIN, QUICK_TEST, QUICK_EPOCHS = 2000, 1000, 1
LATENCY_ROUNDS, LATENCY_ITERATIONS = 9, 300

# Matched error: each study is judged on its penalized run with the fewest MACs whose test error
# (of the shrunk model) is at most the dense run's plus MATCHED_POINTS percentage points.
MATCHED_POINTS = 0.3
# The targets: the compact TFLite file at least this many times faster than the dense
# one at batch 1, and every TFLite file within TFLITE_TOLERANCE x max(1, max |Keras output|).
TARGET_SPEEDUP = 2.0
TFLITE_TOLERANCE = 1e-5

EPOCHS = {"vit": 5, "lstm": 5}  # provisional
ARM = "group-lasso"
STRENGTHS = {"vit": (0.1, 0.2, 0.4), "lstm": (0.1, 0.2, 0.4)}  # provisional
QUICK_STRENGTHS = {"vit": (0.5,), "lstm": (0.5,)}
