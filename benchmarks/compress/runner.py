"""The study's tasks (dense networks first, then one task per arch, level, path and seed), run
side by side in worker processes, and results/compress.json kept up to date as rows arrive."""

import datetime
import pathlib
import subprocess
import time

from benchmarks import _common, resultfiles
from benchmarks.compress import config, paths, report
from benchmarks.mnist import pool, training

NAME = "compress"
ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
log = _common.log
_DATA = {}  # MNIST per worker process and subset


def _data(quick):
    if quick not in _DATA:
        _DATA[quick] = training.load_data(quick)
    return _DATA[quick]


def dense_task(task):
    """Trains (or loads) one dense network; returns its row."""
    model, info = paths.dense_model(task["arch"], task["seed"], _data(task["quick"]),
                                    task["dense_epochs"], pathlib.Path(task["work"]))
    return {"arch": task["arch"], "seed": task["seed"], "epochs": task["dense_epochs"],
            "params": model.count_params(), **info}


def compress_task(task):
    """Compresses one trained network along one path; returns its row."""
    import keras

    import tf_neuronselect as ns

    data = _data(task["quick"])
    model, dense = paths.dense_model(task["arch"], task["seed"], data, task["dense_epochs"],
                                     pathlib.Path(task["work"]))
    keras.utils.set_random_seed(task["seed"])
    start = time.perf_counter()
    compact, info = paths.run_path(task["path"], model, data, task["level"], task["epochs"])
    seconds = time.perf_counter() - start
    params = compact.count_params()
    return {"arch": task["arch"], "level": task["level"], "path": task["path"],
            "seed": task["seed"], "epochs": task["epochs"],
            "error_pct": training.error_pct(compact, data.x_test, data.y_test),
            "dense_error_pct": dense["error_pct"], "params": params,
            "params_dense": model.count_params(),
            "compression": round(model.count_params() / params, 2),
            "macs": ns.count_macs(compact), "units": training.units_string(task["arch"], compact),
            "seconds": round(seconds, 1), **info}


def make_tasks(args, work):
    """(dense tasks, compression tasks), the longest first."""
    base = {"quick": args.quick, "work": str(work), "epochs": args.epochs}
    dense = [dict(base, arch=arch, seed=seed, dense_epochs=args.dense_epochs[arch])
             for arch in args.arch for seed in args.seeds]
    runs = [dict(task, level=level, path=path) for task in dense for level in args.levels
            for path in args.paths]
    runs.sort(key=lambda t: (t["arch"] != "lenet5", -t["level"]))
    return dense, runs


def _finished(function, tasks, executor):
    """Yields (task, row) as tasks finish (in this process when ``executor`` is None)."""
    if executor is None:
        for task in tasks:
            yield task, function(task)
        return
    import concurrent.futures

    futures = {executor.submit(function, task): task for task in tasks}
    for future in concurrent.futures.as_completed(futures):
        yield futures[future], future.result()


def row_key(row):
    return tuple(row.get(k) for k in ("arch", "level", "path", "seed"))


def put(rows, row):
    """Replaces the row with ``row``'s key (arch, level, path, seed), or appends it."""
    rows[:] = [r for r in rows if row_key(r) != row_key(row)] + [row]


def library_version():
    """The commit the library was at, and whether tf_neuronselect/ had changes on top."""
    def git(*arguments):
        return subprocess.run(["git", *arguments], cwd=ROOT, capture_output=True, text=True,
                              check=False).stdout.strip()

    return {"commit": git("rev-parse", "--short", "HEAD"),
            "changed": bool(git("status", "--porcelain", "--", "tf_neuronselect"))}


def new_payload(args, old):
    """The results to fill: ``old``'s rows (when merging) under this run's settings."""
    payload = {"settings": settings(args), "dense": [], "runs": [], "invocations": []}
    if old:
        for key in ("dense", "runs", "invocations"):
            payload[key] = list(old.get(key, []))
    invocation = {"command": " ".join(args.argv), "merge": bool(old),
                  "started": datetime.datetime.now().isoformat(timespec="seconds"),
                  "library": library_version(), "runs": 0}
    payload["invocations"].append(invocation)
    return payload, invocation


def settings(args):
    return {"quick": args.quick, "levels": list(config.LEVELS if not args.quick
                                               else config.QUICK["levels"]),
            "dense_epochs": args.dense_epochs, "epochs": args.epochs, "batch_size": 128,
            "dense_training": "SGD momentum 0.9, cosine 0.05 -> 0.0005 (bench_mnist)",
            "finetune": f"SGD momentum 0.9, cosine {config.FINETUNE_LR} -> 1% (hand-made paths)",
            "data_samples": config.DATA_SAMPLES, "workers": args.workers, "threads_per_run": 1}


def run(args, old=None):
    """Runs every task of ``args``; writes results/compress.json (and .md) after each row."""
    work = resultfiles.work_dir(NAME, args.quick)
    payload, invocation = new_payload(args, old)
    dense_tasks, tasks = make_tasks(args, work)
    start = time.perf_counter()
    executor = pool.worker_pool(args.workers, 1)
    try:
        for _, row in _finished(dense_task, dense_tasks, executor):
            payload["dense"] = [d for d in payload["dense"] if (d["arch"], d["seed"]) !=
                                (row["arch"], row["seed"])] + [row]
            log(f"dense {row['arch']} seed {row['seed']}: {row['error_pct']}% error")
        for done, (_, row) in enumerate(_finished(compress_task, tasks, executor), 1):
            put(payload["runs"], row)
            invocation["runs"] = done
            invocation["wall_seconds"] = round(time.perf_counter() - start, 1)
            log(f"{row['arch']} {row['level']}x {row['path']} seed {row['seed']}: "
                f"{row['error_pct']}% at {row['compression']}x in {row['seconds']:.0f} s")
            log(_common.finished(done, len(tasks), start))
            store(payload, args.quick)
    finally:
        if executor is not None:
            executor.shutdown()
    invocation["wall_seconds"] = round(time.perf_counter() - start, 1)
    store(payload, args.quick)
    return payload


def store(payload, quick):
    """Writes compress.json and compress.md (the report of the rows so far)."""
    resultfiles.write_result(NAME, payload, quick)
    resultfiles.write_text(resultfiles.result_path(f"{NAME}.md", quick),
                           report.markdown(payload))
