"""MobileNetV3Small on MNIST padded to 32x32: (a) group lasso per kernel, (b) group lasso per
zero-invariant unit group, (c) gates at zero-invariant points, each at a few strengths, against
the dense net: error, parameters, MACs, TFLite bytes and batch-1 latency at matched error.

    python -m benchmarks.bench_mobile [--quick] [--runs ARM:STRENGTH ...] [--name NAME]

Trains one run after the other in this process (on 2 cores two runs side by side were no faster
while other jobs shared the machine), then times every compact float32 TFLite file against the
dense one (LiteRT, one thread, interleaved rounds) once no run trains. Writes
results/<name>.json and <name>.md (``--quick``: 2k images, 1 epoch, into results/quick/).
"""

import argparse
import os
import pathlib
import sys
import time

if not __package__:  # run as a file, not with -m: import the package from the repo root
    sys.path[0] = str(pathlib.Path(__file__).resolve().parent.parent)

from benchmarks import _common, resultfiles, tflite_runs  # noqa: E402
from benchmarks.mobile import config, report  # noqa: E402

log = _common.log


def parse_run(text):
    """``"gates:3e-2"`` -> ``("gates", 0.03)``."""
    arm, _, strength = text.partition(":")
    if arm not in report.PRUNING_ARMS:
        raise SystemExit(f"--runs: expected ARM:STRENGTH with ARM one of "
                         f"{', '.join(report.PRUNING_ARMS)}. Received: {text!r}")
    try:
        return arm, float(strength)
    except ValueError:
        raise SystemExit(f"--runs: expected a number after the arm. Received: {text!r}")


def plan(args):
    """The runs in training order: the dense reference first, then every arm's strengths."""
    if args.runs:
        runs = [parse_run(text) for text in args.runs]
    else:
        strengths = config.QUICK_STRENGTHS if args.quick else config.STRENGTHS
        runs = [(arm, s) for arm in report.PRUNING_ARMS for s in strengths[arm]]
    return [("dense", 0.0)] + runs


def settings(args, data):
    return {"seed": config.SEED, "alpha": config.ALPHA, "side": config.SIDE,
            "epochs": args.epochs, "batch": config.BATCH, "learning_rate": config.LEARNING_RATE,
            "momentum": config.MOMENTUM, "bn_momentum": config.BN_MOMENTUM,
            "steps_per_execution": config.STEPS_PER_EXECUTION,
            "train_images": len(data.x_train), "test_images": len(data.x_test),
            "data_source": data.source, "quick": args.quick,
            "matched_points": config.MATCHED_POINTS,
            "target_removed_ratio": config.TARGET_REMOVED_RATIO,
            "target_speedup": config.TARGET_SPEEDUP}


def describe(row):
    return (f"{row['arm']} {row['strength']:g}: error {row['error_pct']['trained']:.2f}% / "
            f"shrunk {row['error_pct']['shrunk']:.2f}%, params {row['params']:,}, MACs "
            f"{row['macs']:,}, TFLite {row['tflite_bytes']:,} bytes, trained in "
            f"{row['train_seconds'] / 60:.1f} min")


def train_all(runs, data, args, payload, directory):
    """Trains every run, writing the results file after each (a stopped run keeps the rows
    so far)."""
    from benchmarks.mobile import training

    start = time.perf_counter()
    for index, (arm, strength) in enumerate(runs, 1):
        log(_common.progress(index, len(runs), start) + f": {arm} {strength:g}")
        row = training.run(arm, strength, data, args.epochs, directory)
        log(describe(row))
        payload["runs"].append(row)
        resultfiles.write_result(args.name, payload, args.quick)


def time_all(payload, quick):
    """Batch-1 speedup of every compact TFLite file against the dense one; deletes the files."""
    from benchmarks.mobile import training

    dense = report.dense_run(payload)
    payload["load_average"]["timing"] = round(os.getloadavg()[0], 2)
    dense["latency"] = None  # the reference: every speedup is against it
    for row in payload["runs"]:
        if row is not dense:
            row["latency"] = training.latency(dense["tflite_path"], row["tflite_path"], quick)
            log(f"{row['arm']} {row['strength']:g}: batch-1 speedup "
                f"{row['latency']['speedup']:.2f}x")
    for row in payload["runs"]:
        del row["tflite_path"]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="2k-image subset, 1 epoch, one strength per arm, into results/quick/")
    parser.add_argument("--runs", nargs="+", default=None, metavar="ARM:STRENGTH",
                        help="these runs instead of the configured ones (the dense run always "
                             "trains first), e.g. unit-groups:1e-3 gates:3e-2")
    parser.add_argument("--name", default="mobile", help="results file name (default mobile)")
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"training epochs (default {config.EPOCHS}, 1 with --quick)")
    args = parser.parse_args(argv)
    if args.epochs is None:
        args.epochs = config.QUICK_EPOCHS if args.quick else config.EPOCHS
    return args


def main(argv=None):
    from benchmarks.mobile import training

    args = parse_args(argv)
    data = training.load_data(args.quick)
    runs = plan(args)
    directory = resultfiles.work_dir(args.name, args.quick)
    start = time.perf_counter()
    payload = tflite_runs.new_payload(settings(args, data), argv)
    log(f"{len(runs)} runs, {args.epochs} epoch(s) each on {len(data.x_train):,} images "
        f"({data.source})")
    train_all(runs, data, args, payload, directory)
    time_all(payload, args.quick)
    path = tflite_runs.store_final(payload, args.name, args.quick, directory, start,
                                   report.mobile_markdown)
    for line in report.verdicts(payload):
        log(line)
    log(f"wrote {path} in {payload['seconds_total'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
