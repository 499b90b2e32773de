"""The MNIST study's command line (``benchmarks/bench_mnist.py``): which runs to train, how many
side by side, and where they are stored."""

import argparse
import json
import os
import time

from benchmarks import _common, resultfiles
from benchmarks.mnist import baselines, plan, pool, store, training
from benchmarks.mnist.bookkeeping import Bookkeeping
from benchmarks.mnist.config import (ALL_METHODS, ARCH_FINETUNE_LR, ARCH_LEARNING_RATE, ARCHS,
                                     BATCH, CORES, DEFAULT_WORKERS, EPOCHS, FINETUNE_EPOCHS,
                                     FINETUNE_LR, LEARNING_RATE, SEED, STEPS_PER_EXECUTION,
                                     SWEEPS)

log = _common.log
DESCRIPTION = ("MNIST: every neuron-selection method on LeNet-5-Caffe, LeNet-300-100 and a "
               "VGG-style net.")

MERGE_HELP = (
    "merge into the existing results/<name>.json instead of starting a new one: runs of this "
    "invocation replace stored runs with the same (arch, method, strength, schedule) and new "
    "ones are appended; every other stored run is kept as it is. Uniform baselines are matched "
    "to the best selection run of the merged set. The dense reference: when dense is "
    "requested (--methods omitted without --runs, or --methods lists dense) or the file has no "
    "dense row for the architecture, dense is trained first and its row replaced as usual; "
    "otherwise the stored dense row is kept and only its float32 TFLite is needed as the "
    "latency reference: the stored file when it still exists, else the dense network rebuilt "
    "(with its saved weights if present) and exported without training, since float32 TFLite "
    "latency does not depend on the weight values. seconds_total is the sum of the per-run "
    "wall times ('seconds' of every row; train+shrink+fine-tune seconds for rows from older "
    "files), seconds_by_arch the same per architecture; each invocation is listed under "
    "'invocations'. Quick and full results are never merged.")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=DESCRIPTION)
    parser.add_argument("--quick", action="store_true",
                        help="3k/1k MNIST subset, 1 epoch, one strength: a smoke test")
    parser.add_argument("--arch", nargs="+", default=list(ARCHS), choices=ARCHS)
    parser.add_argument("--methods", nargs="+", default=None, choices=ALL_METHODS,
                        help="default: every method for lenet5 and mlp; dense, uniform and "
                             f"{', '.join(SWEEPS['vgg'])} for vgg")
    parser.add_argument("--strengths", nargs="+", type=float, default=None,
                        help="override every method's strength sweep")
    parser.add_argument("--runs", nargs="+", default=None, metavar="METHOD:STRENGTH[:SCHEDULE]",
                        help="run exactly these selection configurations (plus dense, and the "
                             "baselines --methods names), e.g. gate:8e-3 li-lo:2e-2 "
                             "gate:4e-3:params-rule (schedule: per-layer, the default, global or "
                             "params-rule)")
    parser.add_argument("--dense-epochs", type=int, default=None,
                        help="train the dense reference for this many epochs (tuning only)")
    parser.add_argument("--no-global", action="store_true",
                        help="skip the comparison runs (one global strength)")
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"training epochs (default per network: {EPOCHS})")
    parser.add_argument("--finetune-epochs", type=int, default=None,
                        help=f"fine-tuning epochs after shrink (default per network: "
                             f"{FINETUNE_EPOCHS})")
    parser.add_argument("--seeds", nargs="+", type=int, default=[SEED],
                        help=f"run the whole plan once per seed (default {SEED}); the targets "
                             "are judged on each configuration's mean over its seeds")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                        help="runs trained side by side, each in its own process (default: "
                             "the number of cores, at most 4); 1 trains in this process. The "
                             "TFLite timing waits until a batch of runs has trained")
    parser.add_argument("--threads", type=int, default=None,
                        help="TensorFlow threads per run (default: cores / workers, at least 1)")
    parser.add_argument("--name", default="mnist", help="results file stem")
    parser.add_argument("--merge", action="store_true", help=MERGE_HELP)
    args = parser.parse_args(argv)
    for flag in ("workers", "threads"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            parser.error(f"--{flag}: expected a positive number. Received: {value}")
    return args


def settings_for(args):
    return {
        "name": args.name, "seed": args.seeds[0], "seeds": list(args.seeds),
        "quick": args.quick, "batch_size": BATCH, "workers": args.workers,
        "threads_per_run": args.threads or max(1, CORES // args.workers),
        "steps_per_execution": STEPS_PER_EXECUTION,
        "learning_rate": f"cosine {LEARNING_RATE} -> {LEARNING_RATE * 0.01} (ProximalSGD/SGD, "
                         "momentum 0.9; peak "
                         + ", ".join(f"{v:g} for {k}" for k, v in ARCH_LEARNING_RATE.items())
                         + "); tri-state: ProximalAdam cosine 1e-3 -> 1e-5",
        "finetune": f"SGD momentum 0.9, cosine {FINETUNE_LR} (mlp {ARCH_FINETUNE_LR['mlp']}), "
                    "no penalty",
        "epochs": {arch: (1 if args.quick else (args.epochs or EPOCHS[arch]))
                   for arch in ARCHS},
        "finetune_epochs": {arch: 1 if args.quick else (args.finetune_epochs
                                                        if args.finetune_epochs is not None
                                                        else FINETUNE_EPOCHS[arch])
                            for arch in ARCHS},
        "dense_epochs": args.dense_epochs,
        "latency": "ns.benchmark float32 TFLite, LiteRT, 1 thread, interleaved medians "
                   "(batch 1: 9 rounds x 400 calls; batch 64: 7 rounds x 20 calls)",
    }


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.workers == 1 and args.threads:
        pool.configure_threads(args.threads)  # before load_data, whose TensorFlow would fix them
    settings = settings_for(args)
    old = store.load_for_merge(args) if args.merge else None
    if old:
        store.keep_stored_epochs(settings, old, args.arch)
    data = training.load_data(args.quick)
    log(f"MNIST {len(data.x_train)} train / {len(data.x_test)} test; settings "
        f"{json.dumps({k: settings[k] for k in ('epochs', 'finetune_epochs', 'quick')})}")
    payload, invocation = store.new_payload(settings, old, data, argv)
    started = time.perf_counter()
    planned = plan.build_plan(args)
    dense_refs = store.reuse_stored_dense(args, old, planned, data, settings) if old else {}
    seeded = plan.seeded_plan(planned, args.seeds)
    book = Bookkeeping(args.name, payload, invocation, dense_refs, started, args.quick,
                       merging=bool(old))
    _train_in_batches(book, seeded, settings, args.seeds[0], data)
    if not old:
        store.sort_in_plan_order(payload, seeded)
        store.write_outputs(args.name, payload)
    baselines.note_stale_uniform(payload["runs"])
    log(f"done in {time.perf_counter() - started:.0f}s; wrote "
        f"{resultfiles.result_path(args.name + '.json', args.quick)}")


def _train_in_batches(book, seeded, settings, first_seed, data):
    """The selection runs and the dense and L2 + dropout baselines, then the uniform baselines
    matched to what the first batch stored. The first seed's dense run is every seed's
    reference."""
    workers = pool.worker_pool(settings["workers"], settings["threads_per_run"])
    try:
        tasks = [plan.make_task(run, settings, first_seed) for run in seeded
                 if run[2] != "uniform"]
        book.run(tasks, workers, data, len(seeded))
        tasks = baselines.uniform_tasks(seeded, book.payload["runs"], data, settings, first_seed)
        book.run(tasks, workers, data, len(seeded))
    except BaseException:
        if workers is not None:  # the queued runs are dropped; the running ones finish first
            workers.shutdown(wait=False, cancel_futures=True)
        raise
    if workers is not None:
        workers.shutdown()
