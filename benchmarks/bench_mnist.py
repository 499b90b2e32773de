"""MNIST: every neuron-selection method on LeNet-5-Caffe, LeNet-300-100 and a VGG-style net.

Per run: train with the method's penalty (cosine learning rate), ``ns.shrink``, fine-tune the
compact model briefly without any penalty, export float32 TFLite and time it against the dense
model's TFLite with ``ns.benchmark`` (batch 1 and 64, one thread). Baselines: the dense network,
L2 + dropout, and a "uniform" dense network whose every hidden width is scaled by one factor to
the parameter count of the best selection result, trained from scratch. The VGG-style net
(5 conv layers, ~22M multiply-adds per image, ``recipes.vgg``) runs a reduced method set.

Runs train side by side in worker processes (``--workers``, default one per core up to 4, each
on cores / workers TensorFlow threads; ``--workers 1`` trains in this process). The TFLite
files are timed once every run of a batch (the selection runs, then the uniform baselines) has
trained, while nothing else runs.

Writes results/mnist.json (after every run, so partial results survive), results/mnist.md and
results/mnist_pareto.png (test error vs parameters, all methods); with ``--quick``, into
results/quick/.

    python benchmarks/bench_mnist.py [--quick] [--arch lenet5 mlp vgg] [--methods gate ...]
        [--strengths 1e-3 2e-3] [--epochs 12] [--finetune-epochs 3] [--name mnist] [--merge]
        [--workers 2] [--threads 1]

``--merge`` reruns part of the benchmark into an existing results file (see ``--help``).

The code is the package benchmarks/mnist/: config.py (networks, sweeps, recipe, targets),
training.py (one run), baselines.py, plan.py (which runs), pool.py (worker processes),
timing.py (TFLite latency), store.py and bookkeeping.py (the results file, --merge), and
report.py, targets.py, plot.py (its markdown and figure).
"""

import pathlib
import sys

if not __package__:  # run as a file, not with -m: import the package from the repo root
    sys.path[0] = str(pathlib.Path(__file__).resolve().parent.parent)

from benchmarks.mnist.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
