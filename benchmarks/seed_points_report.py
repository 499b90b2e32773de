"""README lines of the issue-22 benchmarks, from their results files (no TensorFlow).

bench_shrink_during_training.py (ShrinkNets' speed-up curve over gate strengths) and
bench_tri_state_depth.py (tri-state depth on an over-deep MLP) write
results/shrink_during_training.json and results/tri_state_depth.json; readme_results.py turns
them into the README's results lines and into the row that says when to pick tri-state.
"""


def verdict(met):
    return "MET" if met else "MISSED"


def shrink_during_training_lines(data):
    """ShrinkNets' speed-up curve over gate strengths (bench_shrink_during_training.py)."""
    dense, overhead = data["dense"], data["overhead"]
    lines = [f"- ShrinkNets' MLP (784-{data['model'].split('-')[1].split('(')[0]}-10 with one "
             f"Gate, {data['train_examples']:,} MNIST images, {data['epochs']} epochs, "
             f"SGD with momentum, learning rate {data['learning_rate']}, "
             f"`steps_per_execution={data['steps_per_execution']}`; "
             "`benchmarks/bench_shrink_during_training.py`): dense "
             f"{100 * dense['test_accuracy']:.2f}% test accuracy in {dense['seconds']:.0f} s. "
             f"Gated runs: `fit_with_shrinking(shrink_every_steps={data['remove_every_steps']}, "
             f"min_fraction={data['min_fraction']:g})`"
             f", `Gate(l1, learning_rate_multiplier=1 / ({data['close_steps']} * lr * l1))` "
             "(unneeded gates close within that many steps), timed in lock-step with dense:", "",
             "  | gate l1 | multiplier | test accuracy | vs dense (points) | units left | "
             "seconds | speed-up | CPU time speed-up | speed-up to dense's time to that "
             "accuracy |", "  |---|---|---|---|---|---|---|---|---|"]
    for row in data["runs"]:
        match = row["speedup_to_match"]
        lines.append(
            f"  | {row['l1']:g} | {row['learning_rate_multiplier']:.0f} | "
            f"{100 * row['test_accuracy']:.2f}% | {0.0 - row['accuracy_gap_points']:+.2f} | "
            f"{row['units_left']:,} | {row['seconds']:.0f} | {row['speedup']:.2f}x | "
            f"{row['cpu_speedup']:.2f}x | "
            f"{'not reached' if match is None else f'{match:.2f}x'} |")
    met = [row for row in data["runs"] if row["meets_target"]]
    best = max(met, key=lambda row: row["speedup"]) if met else None
    lines += ["", f"  - >= {data['target_speedup']:g}x faster within "
              f"{data['accuracy_limit_points']:g} points of dense: {verdict(best)}"
              + (f" (fastest: l1={best['l1']:g}, {best['speedup']:.2f}x)" if best else ""),
              overhead_line(overhead)]
    if "overhead_one_step" in data:
        lines.append(overhead_line(data["overhead_one_step"]))
    return lines + slow_epochs_line(data)


def slow_epochs_line(data):
    """The gated runs' epochs that took longer than dense's epoch timed beside them: after
    its first removal (within its first epoch) a gated run trains a smaller network, so such
    an epoch waited on something else ([] when there is none)."""
    dense = data["dense"]["seconds_per_epoch"]
    slow = [f"l1={row['l1']:g} epoch {epoch} {seconds:.1f} s against {dense[epoch - 1]:.1f} s"
            for row in data["runs"] if row["removals"]
            for epoch, seconds in enumerate(row["seconds_per_epoch"], 1)
            if seconds > dense[epoch - 1]]
    if not slow:
        return []
    return ["  - epochs of a gated run slower than dense's epoch beside them, though the "
            "gated network was the smaller one after its first removal (see *Removing units "
            "while training* on waits seen here): " + "; ".join(slow)]


def overhead_line(overhead):
    """The overhead verdict: fastest runs' ratio when stored, else (older files) the median."""
    pairs = len(overhead["ratios"])
    if "fastest_ratio" not in overhead:
        return (f"  - `fit_with_shrinking` when nothing dies / `model.fit`, one epoch, median of "
                f"{pairs} pairs: **{overhead['median']:.3f}** (target <= "
                f"{overhead['target']:g}): {verdict(overhead['meets_target'])}")
    return (f"  - `fit_with_shrinking` when nothing dies / `model.fit`, {overhead['examples']:,} "
            f"images, `steps_per_execution={overhead['steps_per_execution']}`, {pairs} alternating "
            "pairs: fastest run / fastest run "
            f"**{overhead['fastest_ratio']:.3f}** (target <= {overhead['target']:g}): "
            f"{verdict(overhead['meets_target'])}; median of the pair ratios "
            f"{overhead['median']:.3f}")


def tri_state_depth_lines(data):
    """Tri-state depth selection on the over-deep MLP (bench_tri_state_depth.py)."""
    lines = [f"- Tri-state depth on an over-deep MLP ({data['model']}, "
             f"{data['train_examples']:,} MNIST images, {data['epochs']} epochs; "
             "`benchmarks/bench_tri_state_depth.py`), shrunk with "
             "`collapse_linear=True`, TFLite latency compact / dense 6x256 (LiteRT, 1 thread):",
             "", "  | run | test error | vs dense (points) | hidden layers left | widths | "
             "parameters | latency batch 1 | batch 64 |", "  |---|---|---|---|---|---|---|---|"]
    for row in data["runs"]:
        gap = "" if row["method"] == "dense" else f"{row['error_gap_points']:+.2f}"
        lines.append(
            f"  | {row['label']} | {row['error_pct']:.2f}% | {gap} | {row['hidden_layers_left']}"
            f" | {'-'.join(str(w) for w in row['hidden_widths'])} | {row['params_compact']:,} "
            f"| {row['latency']['1']['ratio']:.2f} | {row['latency']['64']['ratio']:.2f} |")
    targets = data["targets"]
    lines += ["", f"  - >= {targets['hidden_layers_removed']} of 6 hidden layers removed, width "
              f"cut, within {targets['error_points']:g} points of dense's error (every "
              f"tri-state run with depth): {verdict(data['meets_target'])}"]
    return lines


def _choice_row(row):
    return (f"| {row['label']} | {row['error_gap_points']:+.2f} | {row['hidden_layers_left']} | "
            f"{row['params_compact']:,} | {row['latency']['1']['ratio']:.2f} |")


def tri_state_choice_lines(data):
    """The README's row on when to pick tri-state over the group penalties, measured on the
    over-deep MLP: tri-state with depth, without it and the sparse group lasso side by side,
    then which one the numbers favour. Nothing until a full run has the group lasso's row."""
    depth = [r for r in data["runs"] if r["method"] == "tri-state" and r.get("linearity")]
    group = [r for r in data["runs"] if r["method"] == "sparse-group-lasso"]
    if not depth or not group:
        return []
    group = group[0]
    others = [r for r in data["runs"] if r["method"] == "tri-state" and not r.get("linearity")]
    slowest = max(r["latency"]["1"]["ratio"] for r in depth)
    fewest_removed = min(r["hidden_layers_removed"] for r in depth)
    lines = [f"When to pick tri-state (`benchmarks/bench_tri_state_depth.py`, {data['model']}, "
             "each run against the dense net trained with its optimizer):", "",
             "| run | error vs dense (points) | hidden layers left | parameters | "
             "TFLite latency batch 1 / dense |", "|---|---|---|---|---|",
             *[_choice_row(row) for row in depth + others + [group]], ""]
    if data["meets_target"] and slowest < group["latency"]["1"]["ratio"]:
        lines.append(
            f"Pick tri-state with `linearity` when the network may be deeper than the task "
            f"needs: here every seed removed at least {fewest_removed} of the 6 hidden layers "
            f"within {data['targets']['error_points']:g} points of dense and ran at "
            f"<= {slowest:.2f} of dense's batch-1 latency, against "
            f"{group['latency']['1']['ratio']:.2f} for the sparse group lasso "
            f"({group['hidden_layers_left']} hidden layers left).")
    else:
        lines.append(
            f"Here tri-state's depth selection did not beat the sparse group lasso (depth "
            f"target {verdict(data['meets_target'])}; batch-1 latency up to {slowest:.2f} of "
            f"dense's against {group['latency']['1']['ratio']:.2f}): prefer the group "
            "penalties on such a network.")
    return lines
