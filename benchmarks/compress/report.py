"""Means and ranges over seeds, the issue's target (MET / MISSED), results/compress.md and the
README's lines, all from the rows of results/compress.json."""

import collections
import json
import statistics

from benchmarks import resultfiles
from benchmarks.compress import config
from benchmarks.mnist.config import SELECTION_METHODS

# Stored from-scratch studies (bench_mnist): penalties while training, then shrink, fine-tune.
SCRATCH_FILES = ("mnist", "mnist_lenet5_seeds", "mnist_lenet5_20", "mnist_mlp_40")


def aggregate(runs):
    """``{(arch, level, path): summary}``: mean, lowest and highest error over the seeds, the
    mean compression and seconds, the seeds and (ns.compress) the recipes it chose."""
    grouped = collections.defaultdict(list)
    for row in runs:
        grouped[(row["arch"], row["level"], row["path"])].append(row)
    return {key: _summary(rows) for key, rows in grouped.items()}


def _summary(rows):
    errors = [r["error_pct"] for r in rows]
    return {"mean": statistics.fmean(errors), "low": min(errors), "high": max(errors),
            "seeds": sorted(r["seed"] for r in rows),
            "compression": statistics.fmean(r["compression"] for r in rows),
            "seconds": statistics.fmean(r["seconds"] for r in rows),
            "methods": sorted({r["method"] for r in rows if r.get("method")})}


def verdicts(runs):
    """One verdict per (arch, level) where ns.compress ran: within ``WITHIN`` points of the best
    path's mean error, and (from ``BEATS_L2_FROM``) below one-shot L2's. ``complete`` is False
    when the paths did not all run on the same seeds (the means would not compare)."""
    table = aggregate(runs)
    found = []
    for arch, level in sorted({(a, lv) for a, lv, p in table if p == "compress"},
                              key=lambda k: (config.ARCHS.index(k[0]), k[1])):
        here = {p: table[(arch, level, p)] for p in config.PATHS if (arch, level, p) in table}
        best = min(here, key=lambda p: here[p]["mean"])
        mine, l2 = here["compress"]["mean"], here.get("l2", {}).get("mean")
        within = mine <= here[best]["mean"] + config.WITHIN + 1e-9
        beats = None if level < config.BEATS_L2_FROM or l2 is None else mine < l2
        found.append({"arch": arch, "level": level, "compress": mine, "best_path": best,
                      "best": here[best]["mean"], "l2": l2, "within": within,
                      "beats_l2": beats, "met": within and beats is not False,
                      "complete": len({tuple(s["seeds"]) for s in here.values()}) == 1
                      and len(here) == len(config.PATHS)})
    return found


def _word(ok):
    return "MET" if ok else "MISSED"


def verdict_lines(runs):
    """The target's lines: one per (arch, level) and the overall verdict."""
    found = verdicts(runs)
    lines = []
    for v in found:
        text = (f"- {config.ARCH_LABEL[v['arch']]} {v['level']}x: ns.compress {v['compress']:.2f}%"
                f", best path ({config.PATH_LABEL[v['best_path']]}) {v['best']:.2f}%: within "
                f"{config.WITHIN} points {_word(v['within'])}")
        if v["beats_l2"] is not None:
            text += f"; one-shot L2 {v['l2']:.2f}%: beaten {_word(v['beats_l2'])}"
        lines.append(text + ("" if v["complete"] else " (incomplete: not every path and seed)"))
    if found:
        overall = all(v["met"] for v in found) and all(v["complete"] for v in found)
        lines.insert(0, f"Target (ns.compress within {config.WITHIN} points of the best path's "
                        f"mean error at every level, and below one-shot L2 + fine-tune from "
                        f"{config.BEATS_L2_FROM}x): **{_word(overall)}**")
    return lines


def scratch_reference(arch, level, stored=None):
    """The from-scratch configuration (penalty while training, shrink, fine-tune; stored
    bench_mnist results) with the lowest mean error over its seeds among those reaching
    ``level``x on average, or None."""
    stored = stored if stored is not None else _stored_scratch()
    grouped = collections.defaultdict(list)
    for name, row in stored:
        if row["arch"] == arch and row["method"] in SELECTION_METHODS:
            grouped[(name, row["method"], row["strength"], row.get("schedule"),
                     row["epochs"], row.get("finetune_epochs"))].append(row)
    best = None
    for key, rows in grouped.items():
        error = statistics.fmean(r["final_error_pct"] for r in rows)
        compression = statistics.fmean(r["compression"] for r in rows)
        if compression >= level and (best is None or error < best["error"]):
            best = {"file": key[0], "method": key[1], "strength": key[2], "schedule": key[3],
                    "epochs": key[4], "finetune_epochs": key[5], "seeds": len(rows),
                    "error": error, "compression": compression}
    return best


def _stored_scratch():
    rows = []
    for name in SCRATCH_FILES:
        path = resultfiles.STORED / f"{name}.json"
        if path.is_file():
            rows += [(name, r) for r in json.loads(path.read_text()).get("runs", [])
                     if r.get("final_error_pct") is not None]
    return rows


def _dense_line(payload, arch):
    rows = [d for d in payload.get("dense", []) if d["arch"] == arch]
    if not rows:
        return []
    errors = [d["error_pct"] for d in rows]
    return [f"Dense network: {rows[0]['epochs']} epochs, {rows[0]['params']:,} parameters, "
            f"test error {statistics.fmean(errors):.2f}% ({min(errors):.2f}-{max(errors):.2f}) "
            f"over seeds {', '.join(str(d['seed']) for d in sorted(rows, key=_seed))}.", ""]


def _seed(row):
    return row["seed"]


def _cell(summary):
    return (f"{summary['mean']:.2f} | {summary['low']:.2f}-{summary['high']:.2f} | "
            f"{summary['compression']:.1f}x | {summary['seconds']:.0f}")


def arch_table(runs, arch):
    """The markdown table of one network: a row per level and path."""
    table = aggregate(runs)
    lines = ["| level | path | error % (mean) | range | compression | seconds | seeds | "
             "recipe |", "|---|---|---|---|---|---|---|---|"]
    for level in sorted({lv for a, lv, _ in table if a == arch}):
        present = [p for p in config.PATHS if (arch, level, p) in table]
        best = min(table[(arch, level, p)]["mean"] for p in present)
        for path in present:
            summary = table[(arch, level, path)]
            name = config.PATH_LABEL[path]
            name = f"**{name}**" if summary["mean"] == best else name
            lines.append(f"| {level}x | {name} | {_cell(summary)} | {len(summary['seeds'])} | "
                         f"{', '.join(summary['methods'])} |")
    return lines


def scratch_lines(arch, levels):
    """The stored from-scratch runs closest to each level, for reference."""
    lines = []
    for level in levels:
        ref = scratch_reference(arch, level)
        if ref is None:
            lines.append(f"- {level}x: no stored from-scratch run reaches it")
            continue
        lines.append(
            f"- {level}x: {ref['method']} {ref['strength']:g} ({ref['schedule']}), "
            f"{ref['epochs']} epochs with the penalty + {ref['finetune_epochs']} of fine-tuning, "
            f"{ref['error']:.2f}% at {ref['compression']:.1f}x (mean of {ref['seeds']} seed"
            f"{'s' if ref['seeds'] > 1 else ''}; `{ref['file']}.json`)")
    return lines


def setup_lines(payload):
    s = payload["settings"]
    epochs = ", ".join(f"{config.ARCH_LABEL[a]} {e}" for a, e in s["dense_epochs"].items())
    lines = [f"Trained dense networks (epochs: {epochs}; {s['dense_training']}) compressed to "
             f"1/level of their parameters with {s['epochs']} epochs of training each, on "
             f"{'the 3k/1k quick subset of ' if s['quick'] else ''}MNIST; errors on the test "
             "set, which no path sees while compressing. The paths:", ""]
    lines += [f"- {config.PATH_LABEL[p]}: {config.PATH_CODE[p]}" for p in config.PATHS]
    return lines + ["", f"Hand-made fine-tuning: {s['finetune']}; Taylor scores and bias "
                        f"compensation read {s['data_samples']} training images.", ""]


def run_time_line(payload):
    parts = [f"`{i['command']}` {i.get('wall_seconds', 0) / 60:.0f} min ({i['runs']} runs, "
             f"{i['started'][:10]}, library {i['library']['commit']}"
             f"{' + changes' if i['library']['changed'] else ''})"
             for i in payload.get("invocations", [])]
    return "Invocations: " + "; ".join(parts) + "."


def markdown(payload):
    """results/compress.md."""
    runs = payload.get("runs", [])
    lines = ["## Compressing a trained network (`benchmarks/bench_compress.py`)", "",
             *setup_lines(payload)]
    for arch in config.ARCHS:
        if not any(r["arch"] == arch for r in runs):
            continue
        levels = sorted({r["level"] for r in runs if r["arch"] == arch})
        lines += [f"### {config.ARCH_LABEL[arch]}", "", *_dense_line(payload, arch),
                  *arch_table(runs, arch), "",
                  "From scratch with a penalty, for reference (stored bench_mnist results, "
                  "lowest mean error among the configurations reaching the level):",
                  *scratch_lines(arch, levels), ""]
    lines += [*verdict_lines(runs), "", run_time_line(payload)]
    return "\n".join(lines) + "\n"


def summary_table(runs):
    """One row per (network, level): each path's mean error, the lowest in bold."""
    table = aggregate(runs)
    lines = ["| network | level | " + " | ".join(config.PATH_LABEL[p] for p in config.PATHS)
             + " |", "|---|---|" + "---|" * len(config.PATHS)]
    for arch, level in sorted({(a, lv) for a, lv, _ in table},
                              key=lambda k: (config.ARCHS.index(k[0]), k[1])):
        here = {p: table[(arch, level, p)]["mean"] for p in config.PATHS
                if (arch, level, p) in table}
        best = min(here.values())
        cells = [("-" if p not in here else
                  f"**{here[p]:.2f}**" if here[p] == best else f"{here[p]:.2f}")
                 for p in config.PATHS]
        lines.append(f"| {config.ARCH_LABEL[arch]} | {level}x | " + " | ".join(cells) + " |")
    return lines


def readme_lines(payload):
    """The README's paragraph: the setting, the mean test errors (%) per path and the target."""
    runs = payload.get("runs", [])
    s = payload["settings"]
    seeds = sorted({r["seed"] for r in runs})
    return [f"Compressing trained networks (`benchmarks/bench_compress.py`, `make bench-extra`; "
            f"every run in [benchmarks/results/compress.md](benchmarks/results/compress.md)): "
            f"dense LeNet-5-Caffe and LeNet-300-100 trained on MNIST, then brought to 1/level of "
            f"their parameters with {s['epochs']} epochs of training by each path; mean test "
            f"error % over seed{'s' if len(seeds) > 1 else ''} "
            f"{', '.join(str(seed) for seed in seeds)}:", "", *summary_table(runs), "",
            *verdict_lines(runs)]
