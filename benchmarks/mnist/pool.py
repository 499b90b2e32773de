"""Runs trained side by side in worker processes, longest first.

The workers are spawned, not forked (TensorFlow does not survive a fork): a child imports this
module by name, so train_task must live in an importable module, not in a script.
"""

import time

from benchmarks.mnist import training
from benchmarks.mnist.config import ARCH_COST


def configure_threads(threads):
    """Caps this process's TensorFlow thread pools at ``threads`` (before its first op). On 2
    cores one LeNet-5 run trains 1.2x faster on one thread than on two, and two one-thread runs
    side by side each keep about that speed (a one-off timing, not a benchmark)."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def worker_pool(workers, threads):
    """None for one worker (runs train in this process, on TensorFlow's default threads), else
    ``workers`` fresh processes ("spawn": TensorFlow does not survive a fork), each on
    ``threads`` threads."""
    if workers == 1:
        return None
    import concurrent.futures
    import multiprocessing

    return concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn"), initializer=configure_threads,
        initargs=(threads,))


def run_cost(task):
    """A run's training time relative to a LeNet-5 run (results/mnist.json train seconds)."""
    run = task["run"]
    return ARCH_COST[run["arch"]] * (2.0 if run["method"] == "tri-state" else 1.0)


# MNIST per worker process and subset (quick or not), loaded by the first task it trains.
_WORKER_DATA = {}


def train_task(task, data=None):
    """Trains ``task`` (see plan.make_task) and returns its row; a worker loads MNIST once."""
    quick = task["run"]["settings"]["quick"]
    if data is None:
        if quick not in _WORKER_DATA:
            _WORKER_DATA[quick] = training.load_data(quick)
        data = _WORKER_DATA[quick]
    start = time.perf_counter()
    row = training.train_one(data=data, **task["run"])
    row["seconds"] = round(time.perf_counter() - start, 1)  # + the TFLite timing, later
    return row


def finished_runs(tasks, pool, data):
    """Yields (task, row) as each run finishes: one after the other in this process without a
    pool, else the longest runs first so that no long run starts last."""
    if pool is None:
        for task in tasks:
            yield task, train_task(task, data)
        return
    import concurrent.futures

    futures = {pool.submit(train_task, task): task
               for task in sorted(tasks, key=run_cost, reverse=True)}
    for future in concurrent.futures.as_completed(futures):
        yield futures[future], future.result()
