"""A ViT on 7x7 MNIST patches (attention heads and MLP neurons) and an LSTM reading MNIST's rows
(its units), each trained dense and with a group lasso over every unit group at a few strengths,
then shrunk; and each trained dense model given to ``ns.compress`` at a few MACs shares (the
trained-model path): what is left, test error against the dense run, parameters, MACs, TFLite
batch-1 speedup against the dense TFLite file and TFLite against Keras.

    python -m benchmarks.bench_sequence [--quick] [--studies vit lstm]
                                        [--runs STUDY:ARM:STRENGTH ...]

Trains one run after the other in this process, then times every compact float32 TFLite file
against its study's dense one (LiteRT, one thread, interleaved rounds) once no run trains.
Writes results/<name>.json and <name>.md (``--quick``: 2k images, 1 epoch, into results/quick/).
"""

import argparse
import os
import pathlib
import sys
import time

if not __package__:  # run as a file, not with -m: import the package from the repo root
    sys.path[0] = str(pathlib.Path(__file__).resolve().parent.parent)

from benchmarks import _common, resultfiles, tflite_runs  # noqa: E402
from benchmarks.sequence import config, report  # noqa: E402

log = _common.log


def parse_run(text):
    """``"vit:group-lasso:1e-2"`` -> ``("vit", "group-lasso", 0.01)``."""
    study, arm, strength = (text.split(":") + ["", ""])[:3]
    if study not in report.STUDIES or arm not in report.PENALIZED_ARMS:
        raise SystemExit(f"--runs: expected STUDY:ARM:STRENGTH with STUDY one of "
                         f"{', '.join(report.STUDIES)} and ARM one of "
                         f"{', '.join(report.PENALIZED_ARMS)}. Received: {text!r}")
    try:
        return study, arm, float(strength)
    except ValueError:
        raise SystemExit(f"--runs: expected a number after the arm. Received: {text!r}")


def plan(args):
    """The runs in training order (with ``--runs``, of the studies it names): per study, the
    dense reference first, then (when the study has compress runs) the dense model trained as
    long as they train in all (strength: its epochs), then its strengths, then the compress
    runs (which start from the dense run's trained model)."""
    chosen = [parse_run(text) for text in args.runs] if args.runs else None
    runs = []
    for study in args.studies:
        if chosen is None:
            penalties = config.QUICK_PENALTY_RUNS if args.quick else config.PENALTY_RUNS
            shares = config.QUICK_COMPRESS if args.quick else config.COMPRESS
            mine = [(study, arm, s) for arm, strengths in penalties[study] for s in strengths]
            mine += [(study, "compress", s) for s in shares[study]]
            if not args.quick:
                mine += [(study, "compress-penalty", s)
                         for s in config.COMPRESS_PENALTY.get(study, ())]
        else:
            mine = [run for run in chosen if run[0] == study]
            if not mine:  # --runs names other studies only: no reference to train
                continue
        long_dense = [(study, "dense-long", float(args.epochs[study] + args.compress_epochs[
            study]))] if any(run[1] in report.COMPRESS_ARMS for run in mine) else []
        runs += [(study, "dense", 0.0)] + long_dense + mine
    return runs


def settings(args, data):
    return {"seed": config.SEED, "epochs": args.epochs, "batch": config.BATCH,
            "learning_rate": config.LEARNING_RATE, "alpha": config.ALPHA,
            "prox_warmup_epochs": args.prox_warmup_epochs,
            "mixed_gate_l1": args.mixed_gate_l1,
            "finetune_epochs": args.finetune_epochs,
            "finetune_lr": config.FINETUNE_LR,
            "compress_epochs": args.compress_epochs,
            "steps_per_execution": config.STEPS_PER_EXECUTION,
            "vit": {"patch": config.PATCH, "blocks": config.VIT_BLOCKS,
                    "width": config.VIT_WIDTH, "heads": config.VIT_HEADS, "mlp": config.VIT_MLP},
            "lstm_units": config.LSTM_UNITS, "train_images": len(data.x_train),
            "test_images": len(data.x_test), "data_source": data.source, "quick": args.quick,
            "matched_points": config.MATCHED_POINTS, "target_speedup": config.TARGET_SPEEDUP,
            "tflite_tolerance": config.TFLITE_TOLERANCE,
            "tflite_check_images": min(config.TFLITE_CHECK_IMAGES, len(data.x_test))}


def describe(row):
    return (f"{row['study']} {row['arm']} {row['strength']:g}: error % trained / shrunk / "
            f"fine-tuned {report.errors_text(row)}, "
            f"{report.structure_text(row['study'], row['structure'])}, params "
            f"{row['params']:,}, MACs {row['macs']:,}, TFLite - Keras "
            f"{report.relative_tflite_difference(row):.1e}, trained in "
            f"{row['train_seconds'] / 60:.1f} min")


def train_all(runs, data, args, payload, directory):
    """Trains every run, writing the results file after each (a stopped run keeps the rows
    so far)."""
    from benchmarks.sequence import training

    start = time.perf_counter()
    dense = {}
    for index, (study, arm, strength) in enumerate(runs, 1):
        log(_common.progress(index, len(runs), start) + f": {study} {arm} {strength:g}")
        epochs = args.compress_epochs if arm in report.COMPRESS_ARMS else args.finetune_epochs
        train_epochs = int(strength) if arm == "dense-long" else args.epochs[study]
        row, compact = training.run(study, arm, strength, data, train_epochs, directory,
                                    epochs[study], dense.get(study),
                                    "penalty" if arm == "compress-penalty" else args.compress_method)
        if arm == "dense":
            dense[study] = compact
        log(describe(row))
        payload["runs"].append(row)
        resultfiles.write_result(args.name, payload, args.quick)


def time_all(payload, quick):
    """Batch-1 speedup of every compact TFLite file against its study's dense one; deletes the
    files."""
    from benchmarks.sequence import training

    payload["load_average"]["timing"] = round(os.getloadavg()[0], 2)
    for row in payload["runs"]:
        if row["arm"] in report.DENSE_ARMS:  # the reference and the same network: not timed
            row["latency"] = None
    for study in report.studies(payload):
        dense = report.dense_run(payload, study)
        for row in report.penalized_runs(payload, study):
            row["latency"] = training.latency(dense["tflite_path"], row["tflite_path"], quick)
            log(f"{study} {row['arm']} {row['strength']:g}: batch-1 speedup "
                f"{row['latency']['speedup']:.2f}x")
    for row in payload["runs"]:
        del row["tflite_path"]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="2k-image subset, 1 epoch, one strength per study, into "
                             "results/quick/")
    parser.add_argument("--studies", nargs="+", default=list(report.STUDIES),
                        choices=list(report.STUDIES), help="which studies run (default both)")
    parser.add_argument("--runs", nargs="+", default=None, metavar="STUDY:ARM:STRENGTH",
                        help="these runs instead of the configured ones (each study's dense run "
                             "always trains first), e.g. vit:group-lasso:1e-2")
    parser.add_argument("--name", default="sequence", help="results file name (default sequence)")
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"training epochs of both studies (default {config.EPOCHS}, "
                             f"{config.QUICK_EPOCHS} with --quick)")
    parser.add_argument("--finetune-epochs", type=int, default=None,
                        help=f"penalty-free fine-tuning epochs of the shrunk models of both "
                             f"studies (default {config.FINETUNE_EPOCHS}, 0 with --quick)")
    parser.add_argument("--compress-epochs", type=int, default=None,
                        help=f"epochs of each ns.compress run (default {config.COMPRESS_EPOCHS}, "
                             f"{config.QUICK_COMPRESS_EPOCHS} with --quick)")
    parser.add_argument("--compress-method", default=config.COMPRESS_METHOD,
                        choices=["auto", "prune", "penalty"],
                        help=f"ns.compress's method in the compress runs (default "
                             f"{config.COMPRESS_METHOD})")
    parser.add_argument("--prox-warmup-epochs", type=float, default=config.PROX_WARMUP_EPOCHS,
                        help=f"epochs over which the adaptive arm's prox is ramped in (default "
                             f"{config.PROX_WARMUP_EPOCHS}; 0: none)")
    parser.add_argument("--mixed-gate-l1", type=float, default=config.MIXED_GATE_L1,
                        help=f"the L1 of the adaptive-mixed arm's gates on the MLP neurons "
                             f"(default {config.MIXED_GATE_L1:g}; its strength column is the "
                             "heads' group lasso)")
    parser.add_argument("--train-images", type=int, default=None,
                        help="a fixed random subset of the training images (default all)")
    args = parser.parse_args(argv)
    args.epochs = _per_study(args.epochs, config.QUICK_EPOCHS if args.quick else config.EPOCHS)
    args.finetune_epochs = _per_study(args.finetune_epochs,
                                      0 if args.quick else config.FINETUNE_EPOCHS)
    args.compress_epochs = _per_study(args.compress_epochs, config.QUICK_COMPRESS_EPOCHS
                                      if args.quick else config.COMPRESS_EPOCHS)
    return args


def _per_study(given, default):
    """``{study: epochs}``: ``given`` for every study when set, else ``default`` (a number or a
    dict)."""
    value = default if given is None else given
    return dict(value) if isinstance(value, dict) else {study: value for study in report.STUDIES}


def main(argv=None):
    from benchmarks.sequence import training

    args = parse_args(argv)
    config.PROX_WARMUP_EPOCHS = args.prox_warmup_epochs  # training.optimizer reads it
    config.MIXED_GATE_L1 = args.mixed_gate_l1  # training.attach reads it
    data = training.load_data(args.quick, args.train_images)
    runs = plan(args)
    directory = resultfiles.work_dir(args.name, args.quick)
    start = time.perf_counter()
    payload = tflite_runs.new_payload(settings(args, data), argv)
    log(f"{len(runs)} runs on {len(data.x_train):,} images ({data.source}), epochs "
        f"{args.epochs}")
    train_all(runs, data, args, payload, directory)
    time_all(payload, args.quick)
    path = tflite_runs.store_final(payload, args.name, args.quick, directory, start,
                                   report.sequence_markdown)
    for study in report.studies(payload):
        for line in report.verdicts(payload, study):
            log(f"{study}: {line}")
    log(f"wrote {path} in {payload['seconds_total'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
