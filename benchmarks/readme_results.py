"""Rewrites the README's results section from benchmarks/results/*.json (never typed by hand).

    python benchmarks/readme_results.py
"""

import json
import pathlib
import sys

if not __package__:  # run as a file, not with -m: import the package from the repo root
    sys.path[0] = str(pathlib.Path(__file__).resolve().parent.parent)

from benchmarks import families, report, resultfiles, seed_points_report  # noqa: E402
from benchmarks import run_all as run_all_steps  # noqa: E402
from benchmarks.mnist.report import invocations_wall_seconds  # noqa: E402
from benchmarks.compress import report as compress_report  # noqa: E402
from benchmarks.mobile import report as mobile_report  # noqa: E402
from benchmarks.sequence import report as sequence_report  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = resultfiles.STORED  # the committed results, never a quick run's
START, END = "<!-- results:start -->", "<!-- results:end -->"
# The row on when to pick tri-state, in the README's tri-state section: empty until
# bench_tri_state_depth.py has stored a full run.
CHOICE_START, CHOICE_END = "<!-- tri-state-choice:start -->", "<!-- tri-state-choice:end -->"


def _load(name):
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _prox_step(data):
    return [f"- Training step time, ProximalSGD / keras SGD on LeNet-300-100 with GroupLasso: "
            f"**{data['ratio_proximal_over_sgd']:.3f}** (target <= 1.10; "
            f"`benchmarks/bench_prox_step.py`)."]


def _rewrite(data):
    return [f"- `shrink` on {data['model']} with {data['dead_share']:.0%} random dead units: "
            f"**{data['shrink_seconds']:.1f} s**, {data['params_before']:,} -> "
            f"{data['params_after']:,} parameters, max output difference "
            f"{data['max_abs_output_diff']:.1e} (`benchmarks/bench_rewrite.py`)."]


def _export(data):
    params = data["parameters"]
    lines = [f"- LeNet-300-100 ({params['original']:,} parameters) vs a compact "
             f"784-30-20-10 net ({params['compact']:,}), TFLite via "
             "LiteRT, one thread (`benchmarks/bench_export.py`):", "",
             "  | variant | size compact/original | latency batch 1 | latency batch 64 |",
             "  |---|---|---|---|"]
    for variant in ("float32", "int8"):
        if variant not in data:
            continue
        latency = {row["batch_size"]: row["ratio"] for row in data[variant]["latency"]}
        lines.append(f"  | {variant} | {data[variant]['bytes']['ratio']:.3f} | "
                     f"{latency.get(1, float('nan')):.3f} | {latency.get(64, float('nan')):.3f} |")
    return lines


def _rewritten_vs_direct(data):
    ratios = ", ".join(f"{k} {v:.3f}" for k, v in data["latency_ratio_rewritten_over_direct"].items())
    return [f"- A shrunk LeNet-5 (widths {data['widths']}) runs as fast as the same shape built "
            f"directly: TFLite latency rewritten / direct {ratios} (target 0.98-1.02; "
            "`benchmarks/bench_rewritten_vs_direct.py`)."]


def _budgets(data):
    lines = ["- Budgets on LeNet-5 / MNIST, group lasso started at 1e-3 "
             "(`benchmarks/bench_budgets.py`): reached / target"]
    for row in data["runs"]:
        verdict = "within +-10%" if row["within_tolerance"] else "missed"
        lines.append(f"  - {row['label']}: **{row['ratio']:.3f}** ({verdict}), test error "
                     f"{row['test_error_pct']}%, {row['params']:,} parameters")
    return lines


def _families(data):
    return ["", "Which `keras.applications` families shrink (`benchmarks/bench_families.py`, "
            "`make bench`): " + families.setup_text(data), "", *families.families_table(data),
            "", *families.families_summary(data)]


def _mobile(data):
    return ["", *mobile_report.readme_lines(data)]


def _shrink_during_training(data):
    return ["", *seed_points_report.shrink_during_training_lines(data)]


def _tri_state_depth(data):
    return ["", *seed_points_report.tri_state_depth_lines(data)]


def _compress(data):
    return ["", *compress_report.readme_lines(data)]


def _sequence(data):
    return ["", *sequence_report.readme_lines(data)]


SECTIONS = [("budgets", _budgets), ("prox_step", _prox_step), ("rewrite", _rewrite),
            ("rewritten_vs_direct", _rewritten_vs_direct), ("export", _export),
            ("families", _families), ("mobile", _mobile), ("compress", _compress),
            ("shrink_during_training", _shrink_during_training),
            ("tri_state_depth", _tri_state_depth),
            ("sequence", _sequence)]


def _mnist_targets(name="mnist", suffix=""):
    """The per-network 'Targets' lines of results/<name>.md (written by benchmarks/report.py),
    each network named with ``suffix`` appended."""
    path = RESULTS / f"{name}.md"
    if not path.is_file():
        return []
    lines, network = [], None
    for line in path.read_text().splitlines():
        if line.startswith("### "):
            network = line[4:].strip() + suffix
        elif line.startswith("Targets:") and network:
            lines.append(f"- **{network}**: {line[len('Targets: '):]}")
        elif line.startswith("- ") and ("MET" in line or "MISSED" in line) and network:
            lines.append(f"  {line}")
        elif line.startswith(("  (lowest error", "  (also meeting")) and network:
            lines.append(f"  {line}")
    return lines


def _tfmot_table():
    """The TFMOT baseline table of results/tfmot.md, as written by bench_tfmot.py."""
    path = RESULTS / "tfmot.md"
    if not path.is_file():
        return []
    table = [line for line in path.read_text().splitlines() if line.startswith("|")]
    return ["TFMOT magnitude pruning at 90% sparsity (`benchmarks/bench_tfmot.py`): the TFLite "
            "file keeps its size and speed.", "", *table, ""]


def _run_time(data, what, name):
    steps = ", ".join(f"{step['script']} {step['seconds'] / 60:.0f}" for step in data["steps"])
    cpu = f", {data['cpu']}" if data.get("cpu") else ""
    return (f"Last {what} ({data['started'][:10]}): {data['seconds_total'] / 60:.0f} min on "
            f"{data['cpus']} cores{cpu} (minutes per step: {steps}; "
            f"`benchmarks/results/{name}`).")


def _bench_time():
    """How long the last full ``make bench`` (and ``make bench-extra``) took, from
    results/run_all.json (run_all_extra.json)."""
    data = _load("run_all")
    if not data or data.get("quick"):
        return []
    line = (_run_time(data, "full `make bench`", "run_all.json") + _merged_since(data["started"])
            + ("" if data.get("tier") else _tier_estimate(data)))
    extra = _load("run_all_extra")
    if extra:
        line += " " + _run_time(extra, "`make bench-extra`", "run_all_extra.json")
    elif data.get("tier"):
        line += (f" `make bench-extra` has not been timed as a whole; summed from the per-run "
                 f"wall times in its results files: about {_extra_seconds(data) / 60:.0f} min.")
    return [line, ""]


def _tier_estimate(run_all):
    """`make bench` / `make bench-extra` minutes summed from the per-run wall times in the
    results files, for a plan that changed after the last full run."""
    rows = (_load("mnist") or {}).get("runs", [])
    core = (sum(r.get("seconds", 0) for r in rows if r.get("schedule") != "params-rule")
            + _other_steps_seconds(run_all, "core"))
    return (f" The plan has changed since: the parameter-share rule rows, the runs repeated "
            f"with three seeds and the budgets now run in `make bench-extra`. Summed from "
            f"the per-run wall times in the results files (an estimate, not a timed run): "
            f"`make bench` {core / 60:.0f} min, `make bench-extra` "
            f"{_extra_seconds(run_all) / 60:.0f} min." + _machine_spread())


def _other_steps_seconds(run_all, tier):
    """Seconds ``run_all`` spent in ``tier``'s steps other than bench_mnist's (whose time the
    rows of its results files give), by the tier run_all.STEPS now gives each step."""
    steps = {step["script"]: step["seconds"] for step in run_all["steps"]}
    return sum(steps.get(s.name, 0) for s in run_all_steps.STEPS
               if s.tier == tier and s.script != "bench_mnist.py")


def _extra_seconds(run_all):
    """``make bench-extra``'s seconds summed from its results files: the parameter-share rule
    rows of mnist.json, the seed studies (their invocations' wall time where recorded, else
    their summed run times), and its other steps (from ``run_all`` when that run had them, else
    the budgets' own training times)."""
    rows = (_load("mnist") or {}).get("runs", [])
    params_rule = sum(r.get("seconds", 0) for r in rows if r.get("schedule") == "params-rule")
    studies = sum(_study_seconds(_load(name) or {}) for name in report.SEED_STUDIES)
    others = _other_steps_seconds(run_all, "extra") or sum(
        r.get("train_seconds", 0) for r in (_load("budgets") or {}).get("runs", []))
    return params_rule + studies + others


def _study_seconds(payload):
    wall = invocations_wall_seconds(payload)
    return payload.get("seconds_total", 0) if wall is None else wall


def _machine_spread():
    """How much the per-run times depend on the machine: LeNet-5's dense training in mnist.json
    against the same training in the LeNet-5 seed study (run on another machine)."""
    def dense_seconds(name):
        return [r["train_seconds"] for r in (_load(name) or {}).get("runs", [])
                if r.get("arch") == "lenet5" and r.get("method") == "dense"]

    main, seeds = dense_seconds("mnist"), dense_seconds("mnist_lenet5_seeds")
    if not main or not seeds:
        return ""
    return (f" Times depend on the CPU: LeNet-5's dense training took {main[0]:.0f} s in "
            f"mnist.json and {min(seeds):.0f}-{max(seeds):.0f} s in mnist_lenet5_seeds.json.")


def _merged_since(started):
    """MNIST runs redone with ``bench_mnist.py --merge`` after the full run, from the
    invocations mnist.json records."""
    mnist = _load("mnist") or {}
    later = [i for i in mnist.get("invocations", [])
             if i.get("merge") and i["started"].replace(" ", "T") > started]
    if not later:
        return ""
    return " Since then, MNIST rows were redone with " + "; ".join(
        f"`bench_mnist.py {i['command']}` ({i['started'][:10]}, runs: {len(i['runs'])}, "
        f"{i.get('wall_seconds', 0) / 60:.0f} min)" for i in later) + "."


def render():
    lines = _bench_time()
    targets = _mnist_targets()
    for name, study in report.SEED_STUDIES.items():
        targets += _mnist_targets(name, study["readme"])
    if targets:
        lines += ["MNIST (`make bench`, seed 0 unless stated; every run, the TFMOT 90%-sparse "
                  "baseline, the uniform-width and L2+dropout baselines and the Pareto plot are in "
                  "[benchmarks/results/RESULTS.md](benchmarks/results/RESULTS.md)):", "",
                  *targets, ""]
    lines += _tfmot_table()
    for name, section in SECTIONS:
        data = _load(name)
        if data is not None:
            lines += section(data)
    return "\n".join(lines)


def render_tri_state_choice():
    data = _load("tri_state_depth")
    return "\n".join(seed_points_report.tri_state_choice_lines(data)) if data else ""


def replace_block(text, start, end, body):
    """``text`` with what lies between the markers ``start`` and ``end`` replaced by ``body``."""
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}\n{end}{tail}"


def main():
    readme = ROOT / "README.md"
    text = replace_block(readme.read_text(), START, END, render())
    text = replace_block(text, CHOICE_START, CHOICE_END, render_tri_state_choice())
    resultfiles.write_text(readme, text)
    print(f"updated {readme}")


if __name__ == "__main__":
    main()
