"""The markdown of one MNIST results file (results/<name>.md): its settings, a table per network,
whether the targets were met and the published results to compare with."""

from benchmarks import resultfiles
from benchmarks.mnist.config import ARCH_LABEL, ARCHS
from benchmarks.mnist.rows import METHOD_ORDER, SCHEDULE_SUFFIX, fmt, method_label
from benchmarks.mnist.targets import targets_text

# What the table's units and columns mean, after the settings.
UNITS_NOTE = (
    "Units: LeNet-5 conv1-conv2-fc1 inputs-fc1, LeNet-300-100 inputs-fc1-fc2, VGG-style "
    "conv1-...-conv5-fc1 inputs-fc1 (the model's real widths after ns.shrink). 'fc1 inputs "
    "nonzero': fc1 input features (flattened features of the last conv, LeNet-300-100 pixels) "
    "with any non-zero outgoing weight after training; ns.shrink removes conv-fed fc1 inputs only "
    "together with whole channels of the last conv (the rest stay in the model and in the "
    "parameter count; `params_if_unused_fc1_inputs_dropped` in mnist.json says what dropping them "
    "would give), and LeNet-300-100 runs are shrunk with prune_inputs=True, so unused pixels go (a "
    "SelectFeatures layer after the Flatten). Speedup = dense TFLite latency / compact TFLite "
    "latency.")


def _speedup(row, batch):
    latency = row.get("latency") or {}
    entry = latency.get(f"batch{batch}")
    return "1.00x" if row.get("method") == "dense" else (
        f"{entry['speedup']:.2f}x" if entry else "-")


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
            f"| {method_label(r)} | {fmt(err['trained'], '{:.2f}')} | "
            f"{fmt(err['shrunk'], '{:.2f}')} | {fmt(err['finetuned'], '{:.2f}')} | "
            f"{r['units']} | {fmt(r.get('fc1_inputs_nonzero'))} | {r['params']:,} | "
            f"{fmt(r.get('compression'), '{:.1f}x')} | "
            f"{r['macs']:,} | {r['tflite_bytes']:,} | {_speedup(r, 1)} | {_speedup(r, 64)} | "
            f"{r['train_seconds'] + r.get('finetune_seconds', 0):.0f} |")
    return "\n".join(lines)


def mnist_markdown(payload, title=None):
    settings = payload["settings"]
    title = title or f"MNIST ({'quick smoke run' if settings.get('quick') else 'full'})"
    parts = [f"## {title}", "", _settings_paragraph(payload), ""]
    for arch in ARCHS:
        if not any(r["arch"] == arch for r in payload["runs"]):
            continue
        anchors = payload["anchors"].get(arch) or []
        parts += [f"### {ARCH_LABEL[arch]}", "", mnist_table(payload, arch), "",
                  "Targets: " + targets_text(payload, arch), ""]
        if anchors:
            parts += ["Published anchors: " + "; ".join(map(_anchor_text, anchors)), ""]
    return "\n".join(parts)


def _settings_paragraph(payload):
    settings = payload["settings"]
    return (f"Settings: {_seeds_text(settings)}{_workers_text(settings)}, batch "
            f"{settings['batch_size']}, epochs {settings['epochs']}, fine-tune epochs "
            f"{settings['finetune_epochs']}; training: {settings['learning_rate']}; fine-tune: "
            f"{settings['finetune']}; latency: {settings['latency']}. {UNITS_NOTE} Run times "
            f"summed: {payload.get('seconds_total', 0) / 60:.1f} min"
            + _per_arch_minutes(payload) + _invocations_minutes(payload) + ".")


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


def write_mnist_markdown(path, payload):
    return resultfiles.write_text(path, mnist_markdown(payload) + "\n")
