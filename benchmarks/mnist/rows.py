"""How the MNIST results name and group their rows: method labels, and configurations (a run
repeated over seeds) summarised by their seed means."""

import math

from benchmarks.mnist.config import ARCH_LABEL, SEED

METHOD_ORDER = ("dense", "l2-dropout", "uniform", "tfmot", "group-lasso", "sparse-group-lasso",
                "li-lo", "gate", "tri-state")
# Strength schedules other than the per-layer default (the comparison runs).
SCHEDULE_SUFFIX = {"global": " (global)", "params-rule": " (params rule)"}


def fmt(value, spec="{:,}"):
    if value is None:
        return "-"
    return spec.format(value)


def method_label(row, with_seed=True):
    method = row["method"]
    if row.get("strength") and method not in ("dense", "uniform"):
        method += f" {row['strength']:g}"
    method += SCHEDULE_SUFFIX.get(row.get("schedule"), "")
    if method.startswith("uniform") and row.get("widths"):
        method += " " + "-".join(map(str, row["widths"]))
    if with_seed and row.get("seed", SEED) != SEED:
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
        groups.setdefault(method_label(row, with_seed=False), []).append(row)
    summaries = []
    for label, members in groups.items():
        errors = [r["final_error_pct"] for r in members]
        speedups = [r["latency"]["batch1"]["speedup"] for r in members
                    if (r.get("latency") or {}).get("batch1")]
        summaries.append({
            "label": label, "rows": members, "error_pct": _mean(errors),
            "error_range": (min(errors), max(errors)),
            "compression": _mean([r.get("compression", 0) for r in members]),
            "params": _mean([r["params"] for r in members]),
            "speedup_b1": _mean(speedups) if speedups else None})
    return summaries


def config_text(config):
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


def describe(row):
    """A row's name in log lines: network / method, strength and schedule, seed."""
    return (f"{ARCH_LABEL[row['arch']]} / {row['method']}"
            + (f" strength {row['strength']:g} ({row['schedule']})" if row.get("schedule")
               else "") + f" seed {row['seed']}")
