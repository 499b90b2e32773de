"""Whether the issue's targets were met: the 'Targets:' lines of an MNIST results file (the
README's results block copies them)."""

from benchmarks.mnist.rows import config_text, configurations, fmt


def targets_text(payload, arch):
    """Whether the issue's targets were met, from the best selection configuration of ``arch``
    (a run, or the mean over the seeds a configuration was run with)."""
    target = payload["targets"][arch]
    rows = configurations([r for r in payload["runs"]
                           if r["arch"] == arch and r.get("schedule")])
    if not rows:
        return "no selection runs yet"
    ok = [r for r in rows if r["error_pct"] <= target["error_pct"]]
    if not ok:
        best = min(rows, key=lambda r: r["error_pct"])
        return (f"no selection {_run_or_configuration(best)} reached {target['error_pct']}% "
                f"error (best: {config_text(best)}): targets MISSED")
    best = max(ok, key=lambda r: r["compression"])
    lines = [f"best {_run_or_configuration(best)} at <= {target['error_pct']}% error: "
             f"{config_text(best)}, batch-1 latency speedup {fmt(best['speedup_b1'], '{:.2f}x')}"]
    lines += _compression_lines(best, ok, rows, target)
    lines.append(f"- stretch >= {target['stretch_compression']}x: "
                 f"{_verdict(best['compression'] >= target['stretch_compression'])}")
    if "latency_speedup_batch1" in target:
        lines += _latency_lines(best, ok, target)
    if "stretch_error_pct" in target:
        stretch = [r for r in rows if r["error_pct"] <= target["stretch_error_pct"]
                   and r["compression"] >= target["stretch_compression"]]
        lines.append(f"- stretch <= {target['stretch_error_pct']}% at >= "
                     f"{target['stretch_compression']}x: {_verdict(stretch)}")
    return "\n".join(lines)


def _run_or_configuration(config):
    return "run" if len(config["rows"]) == 1 else "configuration"


def _verdict(met):
    return "MET" if met else "MISSED"


def _compression_lines(best, ok, rows, target):
    """The error-and-compression target's verdict, then how far it holds beyond ``best`` (the
    other configurations meeting it) or, missed, the lowest error at the compression."""
    met = best["compression"] >= target["compression"]
    lines = [f"- error <= {target['error_pct']}% with >= {target['compression']}x fewer "
             f"parameters: {_verdict(met)}"]
    others = sorted((r for r in ok if r is not best and r["compression"] >= target["compression"]),
                    key=lambda r: -r["compression"])
    if met and others:
        lines.append("  (also meeting it: " + "; ".join(
            f"{r['label']} {r['error_pct']:.2f}% at {r['compression']:.1f}x"
            for r in others) + ")")
    small = [r for r in rows if r["compression"] >= target["compression"]]
    if not met and small:
        closest = min(small, key=lambda r: r["error_pct"])
        lines.append(f"  (lowest error at >= {target['compression']}x: {config_text(closest)})")
    return lines


def _latency_lines(best, ok, target):
    """The batch-1 latency target's verdict for ``best``, and the fastest run under the error
    target."""
    b1 = best["speedup_b1"]
    lines = [f"- >= {target['latency_speedup_batch1']}x lower TFLite latency at batch 1 (same "
             f"run): {_verdict(b1 is not None and b1 >= target['latency_speedup_batch1'])}"]
    fast = [r for r in ok if r["speedup_b1"]]
    if fast:
        top = max(fast, key=lambda r: r["speedup_b1"])
        lines.append(f"  (fastest run under the error target: {top['label']}, "
                     f"{top['speedup_b1']:.2f}x at batch 1)")
    return lines
