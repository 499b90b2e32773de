"""bench_mobile.py's verdicts and tables, from its results (no TensorFlow): which run of each arm
counts at matched error, the issue's two targets, results/mobile.md and the README lines."""

from benchmarks.tflite_runs import load_text

ARM_LABELS = {
    "dense": "dense (SGD)",
    "kernels": "(a) group lasso per kernel",
    "unit-groups": "(b) group lasso per unit group",
    "gates": "(c) gates",
}
SHORT = {"kernels": "(a)", "unit-groups": "(b)", "gates": "(c)"}
PRUNING_ARMS = tuple(SHORT)


def dense_run(payload):
    return next(r for r in payload["runs"] if r["arm"] == "dense")


def final_error(row):
    """The shrunk model's test error (the model that is exported)."""
    return row["error_pct"]["shrunk"]


def matched_runs(payload):
    """``{arm: run}``: each arm's run with the fewest parameters among those whose error is at
    most the dense run's plus ``matched_points``; None when no run of the arm is that close."""
    limit = final_error(dense_run(payload)) + payload["settings"]["matched_points"]
    chosen = {}
    for arm in PRUNING_ARMS:
        close = [r for r in payload["runs"] if r["arm"] == arm and final_error(r) <= limit + 1e-9]
        chosen[arm] = min(close, key=lambda r: (r["params"], final_error(r))) if close else None
    return chosen


def removed(payload, row):
    """Parameters the run's compact model has fewer than the dense model."""
    return dense_run(payload)["params"] - row["params"]


def _against_a(payload, chosen, ratio, text):
    """``(verdict, parts)``: MET when ``ratio(row, a_row)`` of (b) or (c)'s matched run reaches
    the target ratio against (a)'s matched run."""
    a = chosen["kernels"]
    if a is None:
        return "UNDECIDED", ["(a) has no run at matched error"]
    need = payload["settings"]["target_removed_ratio"]
    met, parts = False, []
    for arm in ("unit-groups", "gates"):
        if chosen[arm] is None:
            parts.append(f"{SHORT[arm]} no run at matched error")
            continue
        value = ratio(chosen[arm], a)
        met = met or value >= need
        parts.append(text(arm, chosen[arm], a, value))
    return ("MET" if met else "MISSED"), parts


def removal_verdict(payload, chosen):
    """``(verdict, text)`` of the issue's target read literally: "(b) or (c) removes >= N x
    the parameters (a) removes at matched error" (unreachable once (a) removes more than
    1/N of the parameters)."""
    def ratio(row, a):
        theirs = removed(payload, a)
        return removed(payload, row) / theirs if theirs > 0 else float("inf")

    def text(arm, row, a, value):
        times = f"{value:.2f}x" if removed(payload, a) > 0 else "(a) removed none, so any"
        return f"{SHORT[arm]} removes {removed(payload, row):,}, {times} (a)'s " \
               f"{removed(payload, a):,}"

    verdict, parts = _against_a(payload, chosen, ratio, text)
    need, total = payload["settings"]["target_removed_ratio"], dense_run(payload)["params"]
    if chosen["kernels"] is not None and need * removed(payload, chosen["kernels"]) > total:
        parts.append(f"unreachable: {need:g}x (a)'s removal exceeds all {total:,} parameters")
    return verdict, "; ".join(parts)


def compression_verdict(payload, chosen):
    """``(verdict, text)`` of the target read as compression: "(b) or (c) keeps <= 1/N of the
    parameters (a) keeps at matched error"."""
    def text(arm, row, a, value):
        return f"{SHORT[arm]} keeps {row['params']:,}, {value:.1f}x fewer than (a)'s " \
               f"{a['params']:,}"

    verdict, parts = _against_a(payload, chosen, lambda row, a: a["params"] / row["params"],
                                text)
    return verdict, "; ".join(parts)


def speed_verdict(payload, chosen):
    """``(verdict, text)`` of the target "compact TFLite of (b) or (c) >= N x faster than the
    dense one at batch 1" (the runs chosen at matched error)."""
    need = payload["settings"]["target_speedup"]
    speeds = {arm: chosen[arm]["latency"]["speedup"] for arm in ("unit-groups", "gates")
              if chosen[arm] is not None and chosen[arm].get("latency")}
    if not speeds:
        return "UNDECIDED", "no (b) or (c) run at matched error"
    met = max(speeds.values()) >= need
    return ("MET" if met else "MISSED"), "; ".join(
        f"{SHORT[arm]} {speed:.2f}x" for arm, speed in speeds.items())


def verdicts(payload):
    """The target lines, each ``- <target>: MET|MISSED|UNDECIDED (<numbers>)``: the parameter
    target read literally (removed counts) and as compression (kept counts), and the speed
    target."""
    settings = payload["settings"]
    chosen = matched_runs(payload)
    need = settings["target_removed_ratio"]
    removal, removal_text = removal_verdict(payload, chosen)
    compression, compression_text = compression_verdict(payload, chosen)
    speed, speed_text = speed_verdict(payload, chosen)
    return [f"- (b) or (c) removes >= {need:g}x the parameters (a) removes at matched error: "
            f"{removal} ({removal_text})",
            f"- (b) or (c) keeps <= 1/{need:g} of the parameters (a) keeps at matched error "
            f"({need:g}x (a)'s compression): {compression} ({compression_text})",
            f"- compact TFLite of (b) or (c) >= {settings['target_speedup']:g}x faster than the "
            f"dense one at batch 1: {speed} ({speed_text})"]


def _row_cells(payload, row):
    dense = dense_run(payload)
    latency = row.get("latency")
    return [ARM_LABELS[row["arm"]], "-" if row["arm"] == "dense" else f"{row['strength']:g}",
            f"{row['error_pct']['trained']:.2f} / {final_error(row):.2f}", f"{row['params']:,}",
            f"{row['params'] / dense['params']:.3f}", f"{row['macs']:,}",
            f"{row['tflite_bytes']:,}", f"{latency['speedup']:.2f}x" if latency else "1.00x"]


HEADER = ["arm", "strength", "error % trained / shrunk", "parameters", "kept", "MACs",
          "TFLite bytes", "speedup batch 1"]


def _table(rows):
    return ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER),
            *("| " + " | ".join(cells) + " |" for cells in rows)]


def setup_text(payload):
    """One sentence: the network, data, recipe and what matched error means."""
    s = payload["settings"]
    data = (f"{s['train_images']:,} training / {s['test_images']:,} test images")
    return (f"MobileNetV3Small(alpha={s['alpha']:g}, weights=None) on MNIST padded to "
            f"{s['side']}x{s['side']}x1 ({data}), {s['epochs']} epoch(s), batch {s['batch']}, "
            f"SGD momentum {s['momentum']:g} with cosine-decayed learning rate "
            f"{s['learning_rate']:g} (ProximalSGD for the arms), BatchNorm momentum "
            f"{s['bn_momentum']:g}, seed {s['seed']}. Matched error: each arm's run with the "
            f"fewest parameters among those within {s['matched_points']:g} points of the dense "
            f"test error ({final_error(dense_run(payload)):.2f}% + {s['matched_points']:g}).")


def mobile_markdown(payload):
    """results/mobile.md: every run, the matched runs and the verdicts."""
    chosen = matched_runs(payload)
    marked = [r for r in chosen.values() if r is not None]
    rows = [_row_cells(payload, r) + ["yes" if any(r is m for m in marked) else ""]
            for r in payload["runs"]]
    table = _table([cells[:-1] for cells in rows])
    table[0] += " matched |"
    table[1] += "---|"
    table[2:] = [line + f" {cells[-1]} |" for line, cells in zip(table[2:], rows)]
    return "\n".join(["## MobileNetV3 on MNIST: per-kernel vs unit-group group lasso vs gates",
                      "", setup_text(payload), "", *table, "", *verdicts(payload), "",
                      load_text(payload), ""])


def readme_lines(payload):
    """The README's section: the dense run and each arm's matched run, then the verdicts."""
    chosen = matched_runs(payload)
    rows = [_row_cells(payload, dense_run(payload))]
    rows += [_row_cells(payload, chosen[arm]) for arm in PRUNING_ARMS if chosen[arm]]
    missing = [ARM_LABELS[arm] for arm in PRUNING_ARMS if chosen[arm] is None]
    lines = ["MobileNetV3 on MNIST (`benchmarks/bench_mobile.py`, `make bench-extra`; every run "
             "in [benchmarks/results/mobile.md](benchmarks/results/mobile.md)): "
             + setup_text(payload), "", *_table(rows), ""]
    if missing:
        lines += [f"No run at matched error: {', '.join(missing)}.", ""]
    return lines + verdicts(payload) + [f"- {load_text(payload)}", ""]
