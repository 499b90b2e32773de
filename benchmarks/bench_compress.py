"""Compressing trained networks (issue 20): which path to take for a model that is already
trained?

Dense LeNet-5-Caffe and LeNet-300-100 (trained here with bench_mnist's recipe, three seeds) are
compressed to 5x, 10x, 30x and 100x fewer parameters with the same budget of 5 epochs by five
paths: one-shot L2 pruning + fine-tuning, one-shot Taylor pruning (bias compensation on) +
fine-tuning, iterative Taylor pruning with an epoch of fine-tuning after each of 5 steps,
ns.compress(method="penalty") (a unit-group penalty under a SizeBudget, shrink, fine-tuning)
and ns.compress (method="auto"). Each row records the test error, parameters, compression and
seconds; results/compress.md holds the means and ranges over seeds, the stored from-scratch
runs for reference and the target: ns.compress within 0.05 points of the best path's mean
error at every level, and below one-shot L2 from 30x (MET / MISSED).

    python benchmarks/bench_compress.py [--quick] [--arch lenet5] [--levels 30 100]
        [--paths compress] [--seeds 0] [--merge] [--workers 2]

The dense weights are kept in results/_work/compress/ and reused by reruns (delete them to
retrain). --merge replaces the rows of this run's (arch, level, path, seed) in the stored
results and keeps the others.
"""

import argparse
import json
import pathlib
import sys

if not __package__:  # run as a file, not with -m: import the package from the repo root
    sys.path[0] = str(pathlib.Path(__file__).resolve().parent.parent)

from benchmarks import _common, resultfiles  # noqa: E402
from benchmarks.compress import config, report, runner  # noqa: E402
from benchmarks.mnist.config import DEFAULT_WORKERS  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="3k/1k MNIST subset, seed 0, 10x and 100x, short training")
    parser.add_argument("--arch", nargs="+", default=list(config.ARCHS), choices=config.ARCHS)
    parser.add_argument("--levels", nargs="+", type=int, default=None,
                        help=f"compression levels (default {config.LEVELS})")
    parser.add_argument("--paths", nargs="+", default=list(config.PATHS), choices=config.PATHS)
    parser.add_argument("--seeds", nargs="+", type=int, default=None,
                        help=f"seeds (default {config.SEEDS})")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                        help="runs side by side, one thread each (1: in this process)")
    parser.add_argument("--merge", action="store_true",
                        help="merge into the stored results instead of starting anew")
    args = parser.parse_args(argv)
    args.argv = ["bench_compress.py"] + list(sys.argv[1:] if argv is None else argv)
    quick = config.QUICK if args.quick else {}
    args.levels = args.levels or list(quick.get("levels", config.LEVELS))
    args.seeds = args.seeds if args.seeds is not None else list(quick.get("seeds",
                                                                           config.SEEDS))
    args.dense_epochs = dict(quick.get("dense_epochs", config.DENSE_EPOCHS))
    args.epochs = quick.get("epochs", config.EPOCHS)
    return args


def main(argv=None):
    args = parse_args(argv)
    path = resultfiles.result_path(f"{runner.NAME}.json", args.quick)
    old = json.loads(path.read_text()) if args.merge and path.is_file() else None
    payload = runner.run(args, old)
    for line in report.verdict_lines(payload["runs"]):
        _common.log(line, prefix="bench_compress")
    return 0


if __name__ == "__main__":
    sys.exit(main())
