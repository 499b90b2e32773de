"""The results file of an MNIST invocation: rows stored as runs finish, merged into an earlier
file with ``--merge`` (a run replaces the stored row with its key), with the wall times of the
invocations that produced them."""

import json
import os
import sys
import time

from benchmarks import _common, resultfiles
from benchmarks.mnist import timing
from benchmarks.mnist.config import ANCHORS, SWEEPS, TARGETS
from benchmarks.mnist.plan import row_key, run_key
from benchmarks.mnist.plot import pareto_plot
from benchmarks.mnist.report import write_mnist_markdown

log = _common.log


def new_payload(settings, old, data, argv):
    """The results payload of this invocation (the stored runs and invocations of ``old``, when
    merging) and this invocation's record in it."""
    payload = {"settings": settings, "targets": TARGETS, "anchors": ANCHORS,
               "runs": list(old["runs"]) if old else [], "sweeps": SWEEPS,
               "data_source": data.source,
               "invocations": list(old.get("invocations", [])) if old else []}
    invocation = {"started": time.strftime("%Y-%m-%d %H:%M:%S"),
                  "command": " ".join(sys.argv[1:] if argv is None else argv),
                  "merge": bool(old), "runs": []}
    payload["invocations"].append(invocation)
    return payload, invocation


def load_for_merge(args):
    path = resultfiles.result_path(f"{args.name}.json", args.quick)
    if not path.is_file():
        log(f"--merge: {path} does not exist yet; starting a new file")
        return None
    old = json.loads(path.read_text())
    if bool(old["settings"].get("quick")) != bool(args.quick):
        kind = "quick" if old["settings"].get("quick") else "full"
        raise SystemExit(f"--merge: {path} holds {kind} results; refusing to merge the other "
                         "kind into it")
    log(f"--merge: {len(old['runs'])} stored runs in {path}")
    return old


def keep_stored_epochs(settings, old, archs):
    """Per-architecture epochs of the stored runs stay as they were; ``archs`` get this run's."""
    for key in ("epochs", "finetune_epochs"):
        stored = old["settings"].get(key, {})
        if not isinstance(stored, dict):  # files that stored one number for all networks
            stored = {r["arch"]: stored for r in old["runs"]}
        settings[key] = {**stored, **{arch: settings[key][arch] for arch in archs}}


def reuse_stored_dense(args, old, plan, data, settings):
    """When merging without asking for dense, the stored dense rows stay every other run's
    reference: their runs leave ``plan``; returns the references by architecture."""
    dense_refs = {}
    dense_requested = "dense" in args.methods if args.methods else not args.runs
    for arch in args.arch:
        kept = [r for r in old["runs"] if r["arch"] == arch and r["method"] == "dense"]
        if kept and not dense_requested and (arch, "dense", 0.0, None) in plan:
            plan.remove((arch, "dense", 0.0, None))
            dense_refs[arch] = stored_dense_reference(kept[0], arch, data, settings)
    return dense_refs


def stored_dense_reference(row, arch, data, settings):
    """The latency reference of a kept dense row: its TFLite file, or the dense network rebuilt
    (saved weights if present) and exported untrained: float32 latency ignores weight values."""
    from tf_neuronselect.examples import recipes

    if row.get("tflite_path") and os.path.isfile(row["tflite_path"]):
        log(f"  {arch}: keeping the stored dense row; latency reference {row['tflite_path']}")
        return {"params": row["params"], "macs": row["macs"], "tflite_path": row["tflite_path"]}
    work = resultfiles.work_dir(settings["name"], settings["quick"])
    model = recipes.build(arch, "dense", data.input_shape, data.num_classes)
    weights = work / f"{arch}_dense.weights.h5"
    if weights.is_file():
        model.load_weights(str(weights))
    tflite = timing.export_tflite(model, str(work / f"{arch}_dense_reference"))
    log(f"  {arch}: keeping the stored dense row; its TFLite is gone, rebuilt the dense network "
        f"({'saved weights' if weights.is_file() else 'untrained'}) as latency reference {tflite}")
    return {"params": row["params"], "macs": row["macs"], "tflite_path": tflite}


def compare_with_reference(row, dense_ref):
    """Adds the parameter and multiply-add reductions against the architecture's dense run."""
    if row["method"] == "dense":  # every seed's dense run is its own reference
        row["compression"] = row["macs_reduction"] = 1.0
        return
    row["compression"] = round(dense_ref["params"] / row["params"], 2)
    row["macs_reduction"] = round(dense_ref["macs"] / row["macs"], 2)


def put_row(rows, row):
    """Replaces the stored row with ``row``'s key in place, or appends ``row``."""
    for index, old in enumerate(rows):
        if row_key(old) == row_key(row):
            rows[index] = row
            return "replaced"
    rows.append(row)
    return "added"


def update_totals(payload):
    """seconds_total / seconds_by_arch: sums of the per-run wall times (more than the
    invocation's wall time when runs train side by side)."""
    by_arch = {}
    for r in payload["runs"]:
        seconds = r.get("seconds")
        if seconds is None:  # rows written before per-run wall times were stored
            seconds = sum(r.get(k) or 0 for k in ("train_seconds", "shrink_seconds",
                                                  "finetune_seconds"))
        by_arch[r["arch"]] = by_arch.get(r["arch"], 0.0) + seconds
    payload["seconds_by_arch"] = {arch: round(v, 1) for arch, v in by_arch.items()}
    payload["seconds_total"] = round(sum(by_arch.values()), 1)


def drop_superseded(invocations, current):
    """The invocations without those whose every row ``current`` has redone, so the recorded
    wall times add up to the time the stored rows took."""
    redone = {tuple(key) for key in current["runs"]}
    return [i for i in invocations
            if i is current or not {tuple(key) for key in i["runs"]} <= redone]


def sort_in_plan_order(payload, seeded_plan):
    """Runs are stored as they finish; a new file lists them in plan order."""
    order = {run_key(*run[1:], seed=run[0]): index for index, run in enumerate(seeded_plan)}
    payload["runs"].sort(key=lambda r: order.get(row_key(r), len(order)))


def write_outputs(name, payload):
    quick = payload["settings"].get("quick")
    resultfiles.write_result(name, payload, quick)
    write_mnist_markdown(resultfiles.result_path(f"{name}.md", quick), payload)
    pareto_plot(payload, resultfiles.result_path(f"{name}_pareto.png", quick))
