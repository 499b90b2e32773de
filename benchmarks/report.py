"""Turns benchmarks/results/*.json into markdown tables and benchmarks/results/RESULTS.md.

    python benchmarks/report.py

Each benchmark script also calls the helpers here to write its own ``<name>.md`` (and PNG)
next to its JSON; this script gathers whatever JSON files exist into one RESULTS.md.
"""

import json
import math
import os
import pathlib
import sys

RESULTS_ENV = "NEURONSELECT_BENCH_RESULTS"


def results_dir():
    """benchmarks/results, or the directory in $NEURONSELECT_BENCH_RESULTS (run_all --quick
    points it at results/quick so a smoke run never overwrites the full results)."""
    default = pathlib.Path(__file__).resolve().parent / "results"
    return pathlib.Path(os.environ.get(RESULTS_ENV) or default).resolve()


RESULTS = results_dir()
ARCH_LABEL = {"lenet5": "LeNet-5-Caffe", "mlp": "LeNet-300-100", "vgg": "VGG-style (5 conv)"}
ARCHS = ("lenet5", "mlp", "vgg")
METHOD_ORDER = ("dense", "l2-dropout", "uniform", "tfmot", "group-lasso", "sparse-group-lasso",
                "li-lo", "gate", "tri-state")
# Strength schedules other than the per-layer default (bench_mnist's comparison runs).
SCHEDULE_SUFFIX = {"global": " (global)", "params-rule": " (params rule)"}
SCHEDULE_LINESTYLE = {"global": "--", "params-rule": ":"}
# bench_mnist's seed; rows of other seeds say theirs in their label.
DEFAULT_SEED = 0


def atomic_write_text(path, text):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return path


def atomic_savefig(figure, path):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.png")
    figure.savefig(tmp, dpi=110, bbox_inches="tight")
    tmp.replace(path)
    return path


def _fmt(value, spec="{:,}"):
    if value is None:
        return "-"
    return spec.format(value)


def _speedup(row, batch):
    latency = row.get("latency") or {}
    entry = latency.get(f"batch{batch}")
    return "1.00x" if row.get("method") == "dense" else (
        f"{entry['speedup']:.2f}x" if entry else "-")


def _method_label(row, with_seed=True):
    method = row["method"]
    if row.get("strength") and method not in ("dense", "uniform"):
        method += f" {row['strength']:g}"
    method += SCHEDULE_SUFFIX.get(row.get("schedule"), "")
    if method.startswith("uniform") and row.get("widths"):
        method += " " + "-".join(map(str, row["widths"]))
    if with_seed and row.get("seed", DEFAULT_SEED) != DEFAULT_SEED:
        method += f" (seed {row['seed']})"
    return method


def _mean(values):
    # fsum: the seeds' order must not move a mean of 0.97, 1.10, 0.93 off 1.0 and across a target
    return math.fsum(values) / len(values)


def configurations(rows):
    """Rows grouped by configuration (everything but the seed), in first-seen order: a dict per
    configuration with its rows and the means over its seeds of the final error, compression,
    parameters and batch-1 latency speedup."""
    groups = {}
    for row in rows:
        groups.setdefault(_method_label(row, with_seed=False), []).append(row)
    summaries = []
    for label, members in groups.items():
        errors = [r["final_error_pct"] for r in members]
        speedups = [r["latency"]["batch1"]["speedup"] for r in members
                    if (r.get("latency") or {}).get("batch1")]
        summaries.append({
            "label": label, "rows": members, "error_pct": _mean(errors), "error_range": (min(errors), max(errors)),
            "compression": _mean([r.get("compression", 0) for r in members]),
            "params": _mean([r["params"] for r in members]),
            "speedup_b1": _mean(speedups) if speedups else None})
    return summaries


def _config_text(config):
    """``label, 1.71% error, units 585-44-100, 8.5x fewer parameters``, or with several seeds
    the means and the per-seed error range and units."""
    rows = config["rows"]
    if len(rows) == 1:
        return (f"{config['label']}, {config['error_pct']:.2f}% error, units {rows[0]['units']}, "
                f"{config['compression']:.1f}x fewer parameters")
    low, high = config["error_range"]
    return (f"{config['label']}, mean over {len(rows)} seeds {config['error_pct']:.2f}% error "
            f"({low:.2f}-{high:.2f}), units {' / '.join(r['units'] for r in rows)}, "
            f"{config['compression']:.1f}x fewer parameters (mean)")


def mnist_table(payload, arch):
    rows = [r for r in payload["runs"] if r["arch"] == arch]
    rows.sort(key=lambda r: (METHOD_ORDER.index(r["method"]) if r["method"] in METHOD_ORDER
                             else 99, r.get("schedule") in SCHEDULE_SUFFIX,
                             r.get("schedule") or "", r.get("strength") or 0))
    header = ("| method (strength) | error % trained | shrunk | fine-tuned | units | "
              "fc1 inputs nonzero | params | compression | MACs | TFLite bytes | speedup b1 | "
              "speedup b64 | train s |")
    lines = [header, "|" + "|".join(["---"] * (header.count("|") - 1)) + "|"]
    for r in rows:
        err = r["error_pct"]
        lines.append(
            f"| {_method_label(r)} | {_fmt(err['trained'], '{:.2f}')} | "
            f"{_fmt(err['shrunk'], '{:.2f}')} | {_fmt(err['finetuned'], '{:.2f}')} | "
            f"{r['units']} | {_fmt(r.get('fc1_inputs_nonzero'))} | {r['params']:,} | "
            f"{_fmt(r.get('compression'), '{:.1f}x')} | "
            f"{r['macs']:,} | {r['tflite_bytes']:,} | {_speedup(r, 1)} | {_speedup(r, 64)} | "
            f"{r['train_seconds'] + r.get('finetune_seconds', 0):.0f} |")
    return "\n".join(lines)


def targets_text(payload, arch):
    """Whether the issue's targets were met, from the best selection configuration of ``arch``
    (a run, or the mean over the seeds a configuration was run with)."""
    target = payload["targets"][arch]
    rows = configurations([r for r in payload["runs"]
                           if r["arch"] == arch and r.get("schedule")])
    if not rows:
        return "no selection runs yet"
    ok = [r for r in rows if r["error_pct"] <= target["error_pct"]]
    lines = []
    if ok:
        best = max(ok, key=lambda r: r["compression"])
        b1 = best["speedup_b1"]
        lines.append(
            f"best {'run' if len(best['rows']) == 1 else 'configuration'} at <= "
            f"{target['error_pct']}% error: {_config_text(best)}, batch-1 latency speedup "
            f"{_fmt(b1, '{:.2f}x')}")
        met = best["compression"] >= target["compression"]
        lines.append(f"- error <= {target['error_pct']}% with >= {target['compression']}x fewer "
                     f"parameters: {'MET' if met else 'MISSED'}")
        others = sorted((r for r in ok if r is not best
                         and r["compression"] >= target["compression"]),
                        key=lambda r: -r["compression"])
        if met and others:  # how far the target holds beyond its most compressed configuration
            lines.append("  (also meeting it: " + "; ".join(
                f"{r['label']} {r['error_pct']:.2f}% at {r['compression']:.1f}x"
                for r in others) + ")")
        small = [r for r in rows if r["compression"] >= target["compression"]]
        if not met and small:
            closest = min(small, key=lambda r: r["error_pct"])
            lines.append(f"  (lowest error at >= {target['compression']}x: "
                         f"{_config_text(closest)})")
        lines.append(f"- stretch >= {target['stretch_compression']}x: "
                     f"{'MET' if best['compression'] >= target['stretch_compression'] else 'MISSED'}")
        if "latency_speedup_batch1" in target:
            met = b1 is not None and b1 >= target["latency_speedup_batch1"]
            lines.append(f"- >= {target['latency_speedup_batch1']}x lower TFLite latency at "
                         f"batch 1 (same run): {'MET' if met else 'MISSED'}")
            fast = [r for r in ok if r["speedup_b1"]]
            if fast:
                top = max(fast, key=lambda r: r["speedup_b1"])
                lines.append(f"  (fastest run under the error target: {top['label']}, "
                             f"{top['speedup_b1']:.2f}x at batch 1)")
        if "stretch_error_pct" in target:
            stretch = [r for r in rows if r["error_pct"] <= target["stretch_error_pct"]
                       and r["compression"] >= target["stretch_compression"]]
            lines.append(f"- stretch <= {target['stretch_error_pct']}% at >= "
                         f"{target['stretch_compression']}x: {'MET' if stretch else 'MISSED'}")
    else:
        best = min(rows, key=lambda r: r["error_pct"])
        lines.append(f"no selection {'run' if len(best['rows']) == 1 else 'configuration'} "
                     f"reached {target['error_pct']}% error (best: {_config_text(best)}): "
                     "targets MISSED")
    return "\n".join(lines)


def mnist_markdown(payload, title=None):
    settings = payload["settings"]
    title = title or f"MNIST ({'quick smoke run' if settings.get('quick') else 'full'})"
    parts = [f"## {title}", "",
             f"Settings: {_seeds_text(settings)}{_workers_text(settings)}, batch "
             f"{settings['batch_size']}, epochs "
             f"{settings['epochs']}, fine-tune epochs {settings['finetune_epochs']}; "
             f"training: {settings['learning_rate']}; fine-tune: {settings['finetune']}; "
             f"latency: {settings['latency']}. Units: LeNet-5 conv1-conv2-fc1 inputs-fc1, "
             "LeNet-300-100 inputs-fc1-fc2, VGG-style conv1-...-conv5-fc1 inputs-fc1 (the "
             "model's real widths after ns.shrink). "
             "'fc1 inputs nonzero': fc1 input features (flattened features of the last conv, "
             "LeNet-300-100 pixels) with any non-zero outgoing weight after training; ns.shrink "
             "removes conv-fed fc1 inputs only together with whole channels of the last conv "
             "(the rest stay in the model and in the parameter count; "
             "`params_if_unused_fc1_inputs_dropped` in mnist.json says what dropping them would "
             "give), and LeNet-300-100 runs are shrunk with prune_inputs=True, so unused pixels "
             "go (a SelectFeatures layer after the Flatten). Speedup = dense TFLite latency / compact TFLite "
             f"latency. Run times summed: {payload.get('seconds_total', 0) / 60:.1f} min"
             + _per_arch_minutes(payload) + _invocations_minutes(payload) + ".", ""]
    for arch in ARCHS:
        if not any(r["arch"] == arch for r in payload["runs"]):
            continue
        anchors = payload["anchors"].get(arch) or []
        parts += [f"### {ARCH_LABEL[arch]}", "", mnist_table(payload, arch), "",
                  "Targets: " + targets_text(payload, arch), ""]
        if anchors:
            parts += ["Published anchors: " + "; ".join(map(_anchor_text, anchors)), ""]
    return "\n".join(parts)


def _anchor_text(anchor):
    note = f" ({anchor['note']})" if anchor.get("note") else ""
    return f"{anchor['method']} {anchor['units']} at {anchor['error_pct']}%{note}"


def _seeds_text(settings):
    seeds = settings.get("seeds") or [settings["seed"]]
    if len(seeds) == 1:
        return f"seed {seeds[0]}"
    return f"seeds {', '.join(map(str, seeds))} (each run once per seed; targets on seed means)"


def _workers_text(settings):
    """How the runs shared the machine (files from before bench_mnist's --workers: unknown)."""
    workers, threads = settings.get("workers"), settings.get("threads_per_run")
    if not workers:
        return ""
    return (f", {'one run at a time' if workers == 1 else f'{workers} runs side by side'} "
            f"on {threads} TensorFlow thread{'s' if threads > 1 else ''} each")


def invocations_wall_seconds(payload):
    """The wall time bench_mnist's invocations took (None when one of them did not record it):
    less than the summed run times when runs trained side by side."""
    invocations = payload.get("invocations") or []
    if not invocations or any("wall_seconds" not in i for i in invocations):
        return None
    return sum(i["wall_seconds"] for i in invocations)


def _invocations_minutes(payload):
    seconds = invocations_wall_seconds(payload)
    if seconds is None:
        return ""
    invocations, minutes = payload["invocations"], seconds / 60
    return (f"; wall time {minutes:.1f} min" if len(invocations) == 1 else
            f"; wall time of its {len(invocations)} invocations {minutes:.1f} min")


def _per_arch_minutes(payload):
    by_arch = payload.get("seconds_by_arch") or {}
    if len(by_arch) < 2:
        return ""
    return " (" + ", ".join(f"{ARCH_LABEL.get(a, a)} {s / 60:.1f}" for a, s in by_arch.items()) + ")"


def write_mnist_markdown(name, payload):
    return atomic_write_text(RESULTS / f"{name}.md", mnist_markdown(payload) + "\n")


def pareto_plot(payload, path):
    """Test error vs parameters for every run, one marker per method, one panel per network."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker  # noqa: F401

    archs = [a for a in ARCHS if any(r["arch"] == a for r in payload["runs"])]
    if not archs:
        return None
    figure, axes = plt.subplots(1, len(archs), figsize=(6.5 * len(archs), 4.8), squeeze=False)
    markers = dict(zip(METHOD_ORDER, "s^vXoDP*h"))
    for ax, arch in zip(axes[0], archs):
        rows = [r for r in payload["runs"] if r["arch"] == arch]
        for method in METHOD_ORDER:
            for schedule in (None, "per-layer", *SCHEDULE_SUFFIX):
                pts = configurations([r for r in rows if r["method"] == method
                                      and r.get("schedule") == schedule])
                if not pts:
                    continue
                pts.sort(key=lambda r: r["params"])  # one point per configuration: seed means
                ax.plot([r["params"] for r in pts], [r["error_pct"] for r in pts],
                        marker=markers.get(method, "o"),
                        linestyle=SCHEDULE_LINESTYLE.get(schedule, "-"),
                        label=method + SCHEDULE_SUFFIX.get(schedule, ""), alpha=0.85)
        target = payload["targets"][arch]
        ax.axhline(target["error_pct"], color="grey", linewidth=0.8, linestyle=":")
        top = 2.5 * target["error_pct"]
        hidden = [r for r in rows if r["final_error_pct"] > top]
        ax.set_ylim(bottom=0, top=top)
        if hidden:
            ax.text(0.02, 0.02, f"{len(hidden)} run(s) above {top:.1f}% not shown: "
                    + ", ".join(f"{_method_label(r)} {r['final_error_pct']:.1f}%" for r in hidden),
                    transform=ax.transAxes, fontsize=7, va="bottom")
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("parameters (after shrink)")
        ax.set_ylabel("test error % (after fine-tune)")
        ax.set_title(f"{ARCH_LABEL[arch]} on MNIST")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="upper right")
    saved = atomic_savefig(figure, path)
    plt.close(figure)  # rewritten after every run: pyplot would keep each one open
    return saved


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def tfmot_markdown(payload):
    if payload.get("skipped"):
        return f"## TFMOT magnitude pruning baseline\n\nSkipped: {payload['skipped']}\n"
    rows = []
    for r in payload.get("runs", []):
        rows.append([ARCH_LABEL.get(r["arch"], r["arch"]), f"{r['sparsity']:.2f}",
                     f"{r['error_pct']['dense']:.2f}", f"{r['error_pct']['pruned']:.2f}",
                     f"{r['error_pct']['tflite']:.2f}", f"{r['params']:,}",
                     f"{r['nonzero_params']:,}", f"{r['tflite_bytes']['dense']:,}",
                     f"{r['tflite_bytes']['pruned']:,}", f"{r['gzip_bytes']['pruned']:,}",
                     f"{r['latency']['batch1']['speedup']:.2f}x",
                     f"{r['latency']['batch64']['speedup']:.2f}x", f"{r['seconds']:.0f}"])
    header = ["network", "sparsity", "error % dense", "pruned (Keras)", "pruned (TFLite)",
              "params", "nonzero", "TFLite bytes dense", "pruned", "pruned gzip",
              "speedup b1", "speedup b64", "seconds"]
    s = payload.get("settings", {})
    return ("## TFMOT magnitude pruning baseline (what users do today)\n\n"
            f"Settings: {json.dumps(s)}\n\n" + _table(header, rows) + "\n\n"
            "Unstructured sparsity keeps every unit: the float32 TFLite file keeps its size and "
            "latency; only the gzipped file shrinks.\n")


def extras_markdown(payload):
    parts = ["## Extras", ""]
    reg = payload.get("sparse_regression")
    if reg:
        parts += ["### Sparse linear regression (DropNeuron section 3.1)", "",
                  f"Setup: {reg['setup']}", "",
                  _table(["method", "test NMSE", "hidden units kept", "inputs kept",
                          "support recovered"],
                         [[m["method"], f"{m['nmse']:.2e}", m["hidden_kept"], m["inputs_kept"],
                           m["support_recovered"]] for m in reg["methods"]]),
                  "", f"True support: {reg['true_support']}", ""]
    conv = payload.get("convergence")
    if conv:
        parts += ["### Neuron-count convergence (ShrinkNets)", "", f"Setup: {conv['setup']}", "",
                  _table(["gate l1", "units start", "units after epoch 1", "units final",
                          "test error %"],
                         [[f"{c['l1']:g}", c["units"][0], c["units"][1] if len(c["units"]) > 1
                           else "-", c["units"][-1], f"{c['error_pct']:.2f}"]
                          for c in conv["runs"]]), ""]
    return "\n".join(parts)


REPRODUCE = """## Reproduce

- `make bench` (= `python benchmarks/run_all.py`): the MNIST study with its baselines, TFMOT,
  the extra figures and the micro-benchmarks, each in its own process, then this file.
  `make bench-extra` (`--extra`): the parameter-share rule rows (merged into `mnist.json`), the
  40-epoch LeNet-300-100 runs (`mnist_mlp_40.json`), LeNet-5's best configuration
  (`mnist_lenet5_seeds.json`) and 20-epoch LeNet-5 runs (`mnist_lenet5_20.json`) with three
  seeds each, and the budgets. Run it
  after `make bench`: its MNIST rows are compared with the dense runs `make bench` stored.
  `make bench-quick` (`--quick`): a 3k/1k-image subset, 1 epoch, one strength per
  method, written to `results/quick/` (about a minute on an idle 2-core machine; exercised by
  `tests/test_benchmarks.py`).
- One part: `python benchmarks/bench_mnist.py [--arch lenet5 mlp] [--methods gate ...]
  [--strengths ...] [--epochs N]`, `python benchmarks/bench_tfmot.py`,
  `python benchmarks/bench_extras.py`, then `python benchmarks/report.py` for this file.
- Data: `NEURONSELECT_DATA` (the Makefile and run_all.py use `../shared/data/mnist.npz` when it
  exists). TFMOT baseline: run_all.py runs `pip install --no-deps tf-keras==2.21.0
  tensorflow-model-optimization==0.8.1 dm-tree` when they are missing (`--no-install` skips it
  and the baseline records why it was skipped).
- Seeds and all settings are recorded in every JSON file (`settings`, `environment`).

Error numbers are MNIST test error of one seed (0), except in the two sections with three
seeds (targets judged on seed means); the test set is also the only held-out set,
as in the papers compared against, so strength choices carry a small optimistic bias. Latency
ratios come from interleaved medians on a shared 2-core machine and move by +-15% between runs.
"""


def results_markdown():
    parts = ["# tf_neuronselect benchmark results", "",
             "Generated by `python benchmarks/report.py` from the JSON files in this directory "
             "(`make bench` and `make bench-extra` run everything: `python benchmarks/run_all.py"
             " [--extra]`).", "", REPRODUCE]
    run_all = _load("run_all")
    if run_all:
        parts += ["## Run", "", f"Command: `{run_all.get('command')}`; finished "
                  f"{run_all.get('finished')}; total wall time "
                  f"{run_all.get('seconds_total', 0) / 60:.1f} min on {run_all.get('cpus')} CPUs.",
                  "", _table(["script", "status", "minutes"],
                             [[s["script"], s["status"], f"{s['seconds'] / 60:.1f}"]
                              for s in run_all.get("steps", [])]), ""]
        if run_all.get("note"):
            parts += [f"Note: {run_all['note']}", ""]
    mnist = _load("mnist")
    if mnist:
        parts += [mnist_markdown(mnist), "", "![Pareto](mnist_pareto.png)", ""]
    for name, study in SEED_STUDIES.items():
        payload = _load(name)
        if payload:
            parts += [mnist_markdown(payload, study["title"]), "", study["note"], "",
                      f"![Pareto]({name}_pareto.png)", ""]
    tfmot = _load("tfmot")
    if tfmot:
        parts += [tfmot_markdown(tfmot), ""]
    extras = _load("extras")
    if extras:
        parts += [extras_markdown(extras), "",
                  "![sparse regression](extras_sparse_regression.png) "
                  "![convergence](extras_convergence.png)", ""]
    budgets = RESULTS / "budgets.md"
    if budgets.is_file():  # written by bench_budgets.py with its JSON
        parts += [budgets.read_text(), ""]
    others = sorted(p.stem for p in RESULTS.glob("*.json")
                    if p.stem not in ("mnist", *SEED_STUDIES, "tfmot", "extras", "run_all",
                                      "run_all_extra", "budgets"))
    if others:
        parts += ["## Other benchmark files", "", ", ".join(f"`{o}.json`" for o in others), ""]
    return "\n".join(parts)


# Results files of run_all.py's extra bench_mnist steps that repeat runs with several seeds:
# their section title in RESULTS.md, what they change, and how the README names them.
SEED_STUDIES = {
    "mnist_mlp_40": {
        "title": "LeNet-300-100 trained 40 epochs, three seeds (`mnist_mlp_40`)",
        "note": "Same recipe as the MNIST section above except 40 training epochs instead of 15 "
                "for every run, dense and uniform baselines included; each configuration is run "
                "with seeds 0, 1 and 2 and judged on its mean.",
        "readme": ", trained 40 epochs instead of 15, mean of seeds 0-2 (`mnist_mlp_40`)"},
    "mnist_lenet5_seeds": {
        "title": "LeNet-5-Caffe's best configurations, three seeds (`mnist_lenet5_seeds`)",
        "note": "The MNIST section's recipe and sparse group lasso at 2.5e-3, 3e-3 and 4e-3 (the "
                "MNIST section's seed-0 runs nearest the 1.0% / 50x target and its most "
                "compressed run under 1.0%) with seeds 0, 1 and 2, judged on the mean: how far "
                "one seed's result sits from it. A seed need not repeat the MNIST section's run "
                "of the same seed: on another CPU or thread count the same seed takes other "
                "floating-point paths (newer results files name the CPU under `environment` and "
                "the threads per run under `settings`).",
        "readme": ", sparse group lasso 2.5e-3 to 4e-3, mean of seeds 0-2 (`mnist_lenet5_seeds`)"},
    "mnist_lenet5_20": {
        "title": "LeNet-5-Caffe trained 20 epochs, three seeds (`mnist_lenet5_20`)",
        "note": "The MNIST section's recipe except 20 training epochs instead of 10 for every run, "
                "the dense reference and the uniform baseline included (the fine-tune stays 4 "
                "epochs), with sparse group lasso at 4e-3 (the 10-epoch study's most compressed "
                "configuration under 1.0%), 4.5e-3 and 5e-3; seeds 0, 1 and 2, judged on the "
                "mean.",
        "readme": ", trained 20 epochs instead of 10, mean of seeds 0-2 (`mnist_lenet5_20`)"},
}


def _load(stem):
    path = RESULTS / f"{stem}.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def main():
    for name in ("mnist", *SEED_STUDIES):
        payload = _load(name)
        if payload:  # re-render the MNIST table and figure with this version of the report code
            write_mnist_markdown(name, payload)
            pareto_plot(payload, RESULTS / f"{name}_pareto.png")
    path = atomic_write_text(RESULTS / "RESULTS.md", results_markdown())
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.exit(main())
