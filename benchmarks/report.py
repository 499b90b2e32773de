"""Turns benchmarks/results/*.json into markdown tables and benchmarks/results/RESULTS.md.

    python benchmarks/report.py

Each benchmark script also calls the helpers here (and benchmarks/mnist/report.py) to write its
own ``<name>.md`` (and PNG) next to its JSON; this script re-renders the MNIST files with the
current report code and gathers whatever JSON files exist into one RESULTS.md, in
``$NEURONSELECT_BENCH_RESULTS`` when set (run_all.py sets it), else benchmarks/results.
"""

import json
import pathlib
import sys

if not __package__:  # run as a file, not with -m: import the package from the repo root
    sys.path[0] = str(pathlib.Path(__file__).resolve().parent.parent)

from benchmarks import resultfiles  # noqa: E402
from benchmarks.mnist.config import ARCH_LABEL  # noqa: E402
from benchmarks.mnist.plot import pareto_plot  # noqa: E402
from benchmarks.mnist.report import mnist_markdown, write_mnist_markdown  # noqa: E402

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
  the extra figures, the micro-benchmarks and which keras.applications families shrink
  (`families.json`), each in its own process, then this file.
  `make bench-extra` (`--extra`): the parameter-share rule rows (merged into `mnist.json`), the
  40-epoch LeNet-300-100 runs (`mnist_mlp_40.json`), LeNet-5's best configuration
  (`mnist_lenet5_seeds.json`) and 20-epoch LeNet-5 runs (`mnist_lenet5_20.json`) with three
  seeds each, the budgets, shrink's time against model depth (`scale.json`), ShrinkNets'
  training speed-up with dead units removed as they die, over gate strengths
  (`shrink_during_training.json`), tri-state depth selection on an over-deep MLP
  (`tri_state_depth.json`) and MobileNetV3Small trained with per-kernel and unit-group group
  lasso and gates (`mobile.json`). Run it
  after `make bench`: its MNIST rows are compared with the dense runs `make bench` stored.
  `make bench-quick` (`--quick`): a 3k/1k-image subset, 1 epoch, one strength per
  method (MobileNetV3: 2k images), two families, written to `results/quick/` (exercised by
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


# Benchmarks that write their own <name>.md next to their JSON; RESULTS.md includes it as is.
WRITTEN_WITH_JSON = ("budgets", "families", "mobile")


def results_markdown(directory):
    """RESULTS.md of the JSON files in ``directory``."""
    parts = ["# tf_neuronselect benchmark results", "",
             "Generated by `python benchmarks/report.py` from the JSON files in this directory "
             "(`make bench` and `make bench-extra` run everything: `python benchmarks/run_all.py"
             " [--extra]`).", "", REPRODUCE]
    parts += _run_section(_load(directory, "run_all"))
    for name, title, note in (("mnist", None, None),
                              *((n, s["title"], s["note"]) for n, s in SEED_STUDIES.items())):
        payload = _load(directory, name)
        if payload:
            parts += [mnist_markdown(payload, title), ""] + ([note, ""] if note else [])
            parts += [f"![Pareto]({name}_pareto.png)", ""]
    tfmot = _load(directory, "tfmot")
    if tfmot:
        parts += [tfmot_markdown(tfmot), ""]
    extras = _load(directory, "extras")
    if extras:
        parts += [extras_markdown(extras), "",
                  "![sparse regression](extras_sparse_regression.png) "
                  "![convergence](extras_convergence.png)", ""]
    for name in WRITTEN_WITH_JSON:
        written = directory / f"{name}.md"
        if written.is_file():
            parts += [written.read_text(), ""]
    others = sorted(p.stem for p in directory.glob("*.json")
                    if p.stem not in ("mnist", *SEED_STUDIES, "tfmot", "extras", "run_all",
                                      "run_all_extra", *WRITTEN_WITH_JSON))
    if others:
        parts += ["## Other benchmark files", "", ", ".join(f"`{o}.json`" for o in others), ""]
    return "\n".join(parts)


def _run_section(run_all):
    """The last run_all.py run: its command, wall time and steps."""
    if not run_all:
        return []
    parts = ["## Run", "", f"Command: `{run_all.get('command')}`; finished "
             f"{run_all.get('finished')}; total wall time "
             f"{run_all.get('seconds_total', 0) / 60:.1f} min on {run_all.get('cpus')} CPUs.",
             "", _table(["script", "status", "minutes"],
                        [[s["script"], s["status"], f"{s['seconds'] / 60:.1f}"]
                         for s in run_all.get("steps", [])]), ""]
    if run_all.get("note"):
        parts += [f"Note: {run_all['note']}", ""]
    return parts


def _load(directory, stem):
    path = directory / f"{stem}.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def main():
    directory = resultfiles.results_dir()
    for name in ("mnist", *SEED_STUDIES):
        payload = _load(directory, name)
        if payload:  # re-render the MNIST table and figure with this version of the report code
            write_mnist_markdown(directory / f"{name}.md", payload)
            pareto_plot(payload, directory / f"{name}_pareto.png")
    path = resultfiles.write_text(directory / "RESULTS.md", results_markdown(directory))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
