"""The compression study's fixed choices: networks, levels, paths, seeds and epoch budgets."""

ARCHS = ("lenet5", "mlp")
ARCH_LABEL = {"lenet5": "LeNet-5-Caffe", "mlp": "LeNet-300-100"}
LEVELS = (5, 10, 30, 100)  # times fewer parameters than the dense network
SEEDS = (0, 1, 2)  # the seed of the dense training and of the compression
# The dense networks: bench_mnist's training (SGD, momentum 0.9, cosine from 0.05, batch 128);
# LeNet-5 for the 6 epochs of issue 20's experiment, LeNet-300-100 for bench_mnist's 15.
DENSE_EPOCHS = {"lenet5": 6, "mlp": 15}
EPOCHS = 5  # every path's training budget after the dense network
# The hand-made paths fine-tune as issue 20 did: SGD, momentum 0.9, cosine from 0.01 to 1% of it.
FINETUNE_LR = 0.01
# ns.prune's cap on the share of a layer's units it removes (default 0.9): the hand-made paths
# raise it so that every level is reachable (with 0.9 LeNet-300-100 stops at 11x, LeNet-5 at 89x).
MAX_LAYER_FRACTION = 0.99
DATA_SAMPLES = 1024  # the batches Taylor scores and bias compensation read
PATHS = ("l2", "taylor", "iterative", "penalty", "compress")
PATH_LABEL = {
    "l2": "one-shot L2 + fine-tune",
    "taylor": "one-shot Taylor + fine-tune",
    "iterative": "iterative Taylor, fine-tune between steps",
    "penalty": "penalty fine-tune under a budget",
    "compress": "ns.compress",
}
PATH_CODE = {
    "l2": "ns.prune(model, params=p, importance='l2'), then fine-tuning",
    "taylor": "ns.prune(model, params=p, importance='taylor', data=...) (bias compensation on), "
              "then fine-tuning",
    "iterative": "ns.prune(..., importance='taylor', data=...) once per epoch to a size "
                 "shrinking geometrically, one epoch of fine-tuning after each",
    "penalty": "ns.compress(model, data, params=p, method='penalty')",
    "compress": "ns.compress(model, data, params=p) (method='auto')",
}
WITHIN = 0.05  # percentage points: ns.compress's mean error may exceed the best path's by this
BEATS_L2_FROM = 30  # ns.compress must beat one-shot L2 + fine-tune from this level up

# --quick: the 3k/1k subset of bench_mnist, one seed, two levels, short training.
QUICK = {"levels": (10, 100), "seeds": (0,), "dense_epochs": {"lenet5": 1, "mlp": 2},
         "epochs": 2}
