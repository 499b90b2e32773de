"""Stores each finished run at once (partial results survive a crash) and times a batch's TFLite
files once the whole batch has trained."""

import time

from benchmarks import _common
from benchmarks.mnist import pool, store, timing
from benchmarks.mnist.plan import row_key
from benchmarks.mnist.rows import describe

log = _common.log


class Bookkeeping:
    """Stores each run in the results file as it finishes, with its reductions against the
    dense reference, then times a batch's TFLite files once the whole batch has trained."""

    def __init__(self, name, payload, invocation, dense_refs, started, quick, merging):
        self.name, self.payload, self.invocation = name, payload, invocation
        self.dense_refs, self.started, self.quick = dense_refs, started, quick
        self.merging, self.done = merging, 0

    def run(self, tasks, workers, data, total):
        """Trains ``tasks`` (on ``workers``, a pool or None) and stores their rows; ``total``
        counts the runs of the whole invocation, for the progress line."""
        rows = self._train(tasks, workers, data, total)
        rows = [r for r in rows if r is not self.dense_refs[r["arch"]]]
        for index, row in enumerate(rows, 1):
            log(f"timing TFLite {index}/{len(rows)}: {describe(row)}")
            timing.time_row(row, self.dense_refs[row["arch"]], self.quick)
            self.store(row)

    def _train(self, tasks, workers, data, total):
        """Stores every row as it finishes, once its architecture's dense reference has."""
        rows, waiting = [], []
        for task, row in pool.finished_runs(tasks, workers, data):
            self.done += 1
            row.update(task["row"])
            log(f"{_common.finished(self.done, total, self.started)} {describe(row)}")
            if task["run"]["reference"]:
                self.dense_refs[row["arch"]] = row
            waiting.append(row)
            for ready in [r for r in waiting if r["arch"] in self.dense_refs]:
                waiting.remove(ready)  # the dense reference has finished
                store.compare_with_reference(ready, self.dense_refs[ready["arch"]])
                self.store(ready)
                rows.append(ready)
        if waiting:  # build_plan puts a dense run first for every architecture it trains
            raise RuntimeError(f"no dense reference run for {sorted({r['arch'] for r in waiting})}"
                               "; their rows were not stored")
        return rows

    def store(self, row):
        action = store.put_row(self.payload["runs"], row)
        key = list(row_key(row))
        if key not in self.invocation["runs"]:
            self.invocation["runs"].append(key)
            if self.merging:
                log(f"  --merge: {action} {row_key(row)}")
            self.payload["invocations"] = store.drop_superseded(self.payload["invocations"],
                                                                self.invocation)
        self.invocation["wall_seconds"] = round(time.perf_counter() - self.started, 1)
        store.update_totals(self.payload)
        store.write_outputs(self.name, self.payload)
