"""bench_sequence.py's verdicts and tables, from its results (no TensorFlow): which run of each
study counts at matched error, the issue's targets, results/sequence.md and the README lines."""

from benchmarks.sequence import config
from benchmarks.tflite_runs import load_text

STUDIES = {"vit": "ViT on 7x7 patches", "lstm": "LSTM over the rows"}
ARM_LABELS = {"dense": "dense (Adam)",
              "dense-long": "dense (Adam) trained as long as the compress runs (strength: "
                            "epochs)",
              "group-lasso": "group lasso per unit group",
              "sparse-group-lasso": "sparse group lasso per unit group",
              "adaptive-group-lasso": "group lasso per unit group, prox in Adam's metric",
              "adaptive-gates": "gates on heads and MLP neurons (L1), prox in Adam's metric",
              "adaptive-budget": "group lasso per unit group, Adam's metric, its strength "
                                 "steered by a SizeBudget (strength: MACs share)",
              "adaptive-mixed": "group lasso on heads (strength), gates on MLP neurons (L1 "
                                f"{config.MIXED_GATE_L1:g}), Adam's metric",
              "compress": "ns.compress of the trained dense model (strength: MACs share)",
              "compress-penalty": "ns.compress(method=\"penalty\") of the trained dense "
                                  "model (strength: MACs share)"}
PENALIZED_ARMS = ("group-lasso", "sparse-group-lasso", "adaptive-group-lasso", "adaptive-gates",
                  "adaptive-mixed", "adaptive-budget", "compress", "compress-penalty")
# The runs that start from the trained dense model (ns.compress), the rest penalize from scratch.
COMPRESS_ARMS = ("compress", "compress-penalty")
# Dense models: the reference every run is timed and judged against, and the same network
# trained for as many epochs as the compress runs had in all (the fair reference for them).
DENSE_ARMS = ("dense", "dense-long")
# What the table shows of each compact model: (key of row["structure"], column header).
STRUCTURE_COLUMNS = {"vit": (("heads", "heads per block"), ("mlp", "MLP neurons per block")),
                     "lstm": (("units", "LSTM units"),)}


def studies(payload):
    """The studies of ``payload`` that have their dense reference run, in STUDIES order."""
    return [s for s in STUDIES if any(r["study"] == s and r["arm"] == "dense"
                                      for r in payload["runs"])]


def dense_run(payload, study):
    return next(r for r in payload["runs"] if r["study"] == study and r["arm"] == "dense")


def penalized_runs(payload, study):
    return [r for r in payload["runs"] if r["study"] == study and r["arm"] not in DENSE_ARMS]


def long_dense_run(payload, study):
    """The dense model trained as long as the compress runs, None when it was not trained."""
    return next((r for r in payload["runs"] if r["study"] == study
                 and r["arm"] == "dense-long"), None)


def shrinking_runs(payload, study):
    """The penalized runs whose compact model is smaller than the dense one: a run that
    removed nothing matches the dense error by being the dense network, which says nothing."""
    dense = dense_run(payload, study)["macs"]
    return [r for r in penalized_runs(payload, study) if r["macs"] < dense]


def final_error(row):
    """The exported model's test error: the shrunk model's, fine-tuned when it was."""
    errors = row["error_pct"]
    return errors["shrunk"] if errors.get("finetuned") is None else errors["finetuned"]


def errors_text(row):
    """``trained / shrunk / fine-tuned`` test errors, ``-`` for a run not fine-tuned."""
    errors = row["error_pct"]
    shrunk, tuned = (("-" if errors.get(key) is None else f"{errors[key]:.2f}")
                     for key in ("shrunk", "finetuned"))
    return f"{errors['trained']:.2f} / {shrunk} / {tuned}"


def error_limit(payload, study):
    return final_error(dense_run(payload, study)) + payload["settings"]["matched_points"]


def matched_run(payload, study):
    """The run with the fewest multiply-adds among the ``shrinking_runs`` whose test error is
    at most the dense run's plus ``matched_points``; None when no run is that close."""
    return fewest_macs_within(shrinking_runs(payload, study), error_limit(payload, study))


def fewest_macs_within(runs, limit):
    """The run of ``runs`` with the fewest multiply-adds whose final test error is at most
    ``limit``; None when none is."""
    close = [r for r in runs if final_error(r) <= limit + 1e-9]
    return min(close, key=lambda r: (r["macs"], final_error(r))) if close else None


def structure_text(study, structure):
    """``heads 4-2-1-1, MLP neurons 128-40-9-3`` or ``LSTM units 37``."""
    return ", ".join(f"{header.replace(' per block', '')} {_dashed(structure[key])}"
                     for key, header in STRUCTURE_COLUMNS[study])


def _dashed(values):
    return "-".join(str(v) for v in values)


def _run_text(study, row):
    return (f"{row['arm']} {row['strength']:g}: {final_error(row):.2f}%, "
            f"{structure_text(study, row['structure'])}")


def error_verdict(payload, study):
    """``(verdict, text)``: is some shrinking run's model within the matched error?"""
    if not penalized_runs(payload, study):
        return "UNDECIDED", "no penalized run"
    runs = shrinking_runs(payload, study)
    if not runs:
        return "MISSED", "no penalized run removed a unit"
    chosen = matched_run(payload, study)
    if chosen is not None:
        return "MET", _run_text(study, chosen)
    closest = min(runs, key=final_error)
    return "MISSED", f"closest: {_run_text(study, closest)}"


def speed_verdict(payload, study):
    """``(verdict, text)``: is the matched run's compact TFLite file at least
    ``target_speedup`` times faster than the dense one at batch 1?"""
    chosen = matched_run(payload, study)
    if chosen is None or not chosen.get("latency"):
        return "UNDECIDED", "no timed run within the matched error"
    speedup = chosen["latency"]["speedup"]
    verdict = "MET" if speedup >= payload["settings"]["target_speedup"] else "MISSED"
    return verdict, f"{chosen['arm']} {chosen['strength']:g}: {speedup:.2f}x"


def relative_tflite_difference(row):
    """max |TFLite - Keras| / max(1, max |Keras|) of the run's exported model."""
    return row["tflite_max_abs_diff"] / max(1.0, row["tflite_max_abs_output"])


def exact_verdict(payload, study):
    """``(verdict, text)``: every run's TFLite file computes what its Keras model computes, to
    ``tflite_tolerance`` relative."""
    runs = [r for r in payload["runs"] if r["study"] == study]
    worst = max(runs, key=relative_tflite_difference)
    value = relative_tflite_difference(worst)
    verdict = "MET" if value <= payload["settings"]["tflite_tolerance"] else "MISSED"
    return verdict, f"largest {value:.1e}, {worst['arm']} {worst['strength']:g}"


def equal_epochs_line(payload, study):
    """The compress runs against the dense model trained as long: the one with the fewest
    MACs within ``matched_points`` of its error, with its speedup; [] without that model."""
    long_dense = long_dense_run(payload, study)
    if long_dense is None:
        return []
    limit = final_error(long_dense) + payload["settings"]["matched_points"]
    runs = [r for r in shrinking_runs(payload, study) if r["arm"] in COMPRESS_ARMS]
    chosen = fewest_macs_within(runs, limit)
    head = (f"- compress run within {payload['settings']['matched_points']:g} points of the "
            f"dense model trained as long ({long_dense['epochs']} epochs, "
            f"{final_error(long_dense):.2f}%)")
    if chosen is None:
        closest = min(runs, key=final_error) if runs else None
        return [head + ": MISSED" + (f" (closest: {_run_text(study, closest)})" if closest
                                     else " (no compress run)")]
    latency = chosen.get("latency")
    speed = f", {latency['speedup']:.2f}x at batch 1" if latency else ""
    return [head + f": MET ({_run_text(study, chosen)}{speed})"]


def scratch_run(payload, study):
    """The run trained with a penalty from scratch (every penalized arm but compress) with the
    fewest MACs within the matched error; None when none is."""
    runs = [r for r in shrinking_runs(payload, study) if r["arm"] not in COMPRESS_ARMS]
    return fewest_macs_within(runs, error_limit(payload, study))


def from_scratch_line(payload, study):
    """Both targets for the runs penalized from scratch alone; [] when there are none."""
    runs = [r for r in shrinking_runs(payload, study) if r["arm"] not in COMPRESS_ARMS]
    if not runs:
        return []
    s = payload["settings"]
    head = (f"- penalty from scratch (no trained model) within {s['matched_points']:g} points "
            f"of the dense {final_error(dense_run(payload, study)):.2f}%")
    chosen = scratch_run(payload, study)
    if chosen is None:
        return [head + f": MISSED (closest: {_run_text(study, min(runs, key=final_error))})"]
    latency = chosen.get("latency")
    if not latency:
        return [head + f": MET ({_run_text(study, chosen)}, not timed)"]
    fast = "MET" if latency["speedup"] >= s["target_speedup"] else "MISSED"
    share = chosen["macs"] / dense_run(payload, study)["macs"]
    return [head + f": MET ({_run_text(study, chosen)}, {share:.0%} of the MACs); >= "
            f"{s['target_speedup']:g}x at batch 1: {fast} ({latency['speedup']:.2f}x)"]


def verdicts(payload, study):
    """The study's target lines, each ``- <target>: MET|MISSED|UNDECIDED (<numbers>)``."""
    s = payload["settings"]
    dense = final_error(dense_run(payload, study))
    error, error_text = error_verdict(payload, study)
    speed, speed_text = speed_verdict(payload, study)
    exact, exact_text = exact_verdict(payload, study)
    return [f"- exported (shrunk, fine-tuned) model's test error within "
            f"{s['matched_points']:g} points of the dense "
            f"{dense:.2f}%: {error} ({error_text})",
            f"- compact TFLite of that run >= {s['target_speedup']:g}x faster than the dense one "
            f"at batch 1: {speed} ({speed_text})",
            f"- TFLite output within {s['tflite_tolerance']:g} x max(1, max |Keras output|) of "
            f"Keras on every run: {exact} ({exact_text})", *from_scratch_line(payload, study),
            *equal_epochs_line(payload, study)]


def header(study):
    return ["arm", "strength", "error % trained / shrunk / fine-tuned",
            *(title for _, title in STRUCTURE_COLUMNS[study]), "parameters", "kept", "MACs",
            "TFLite bytes", "speedup batch 1", "TFLite - Keras"]


def row_cells(payload, study, row):
    dense = dense_run(payload, study)
    return [ARM_LABELS[row["arm"]], "-" if row["arm"] == "dense" else f"{row['strength']:g}",
            errors_text(row),
            *(_dashed(row["structure"][key]) for key, _ in STRUCTURE_COLUMNS[study]),
            f"{row['params']:,}", f"{row['params'] / dense['params']:.3f}", f"{row['macs']:,}",
            f"{row['tflite_bytes']:,}", _speedup_text(row),
            f"{relative_tflite_difference(row):.0e}"]


def _speedup_text(row):
    """The timed speedup; 1.00x for the reference itself, "-" for a run that was not timed."""
    if row.get("latency"):
        return f"{row['latency']['speedup']:.2f}x"
    return "1.00x" if row["arm"] == "dense" else "-"


def table(study, rows):
    titles = header(study)
    return ["| " + " | ".join(titles) + " |", "|" + "---|" * len(titles),
            *("| " + " | ".join(cells) + " |" for cells in rows)]


def setup_text(payload, study):
    """One sentence: the network, data, recipe and what matched error means."""
    s = payload["settings"]
    if study == "vit":
        v = s["vit"]
        network = (f"ViT on {v['patch']}x{v['patch']} patches ({(28 // v['patch']) ** 2} tokens, "
                   f"a sinusoidal position code), {v['blocks']} pre-norm blocks of width "
                   f"{v['width']}, {v['heads']} heads, MLP {v['mlp']} (gelu)")
    else:
        network = f"LSTM({s['lstm_units']}) reading the 28 rows as 28 steps, then a Dense head"
    return (f"{network}; MNIST ({s['train_images']:,} training / {s['test_images']:,} test "
            f"images), {s['epochs'][study]} epoch(s), batch {s['batch']}, Adam with "
            f"cosine-decayed learning rate {s['learning_rate']:g} (ProximalAdam with the penalty "
            f"over every unit group for the other arms, {_finetune_text(s, study)}"
            f"{_adaptive_text(payload, study)}), seed "
            f"{s['seed']}. Matched error: the "
            f"run with the fewest MACs among those that removed units and are within "
            f"{s['matched_points']:g} points of the "
            f"dense test error ({final_error(dense_run(payload, study)):.2f}% + "
            f"{s['matched_points']:g}).{_compress_text(payload, study)}{_dropped_text(payload, study)}"
            f" TFLite - Keras: max "
            f"|difference| / max(1, max |Keras output|) over {s['tflite_check_images']} test "
            f"images, batch 1.")


def _adaptive_text(payload, study):
    """How the adaptive arm's optimizer differs, when the study has that arm."""
    if not any(r["study"] == study and r["arm"] == "adaptive-group-lasso"
               for r in payload["runs"]):
        return ""
    epochs = payload["settings"].get("prox_warmup_epochs", 0)
    return (f"; `ProximalAdam(adaptive_prox=True, prox_warmup_steps=<{epochs:g} epoch>)` for "
            f"the adaptive arm")


def _dropped_text(payload, study):
    """What a width of 0 means, when a run of the study has one ("" otherwise)."""
    widths = [w for r in payload["runs"] if r["study"] == study
              for values in r["structure"].values() for w in values]
    if 0 not in widths:
        return ""
    return (" A width of 0: every head (or MLP neuron) of that block's branch was dead, so "
            "`shrink` dropped the branch and adds its constant output instead.")


def _compress_text(payload, study):
    """What the compress runs did, when the study has any ("" otherwise)."""
    runs = [r for r in payload["runs"] if r["study"] == study and r["arm"] in COMPRESS_ARMS]
    if not runs:
        return ""
    epochs = payload["settings"]["compress_epochs"][study]
    methods = " / ".join(sorted({r["method"] for r in runs if r["arm"] == "compress"}))
    distill = ", distill=True" if any(r.get("distill") for r in runs) else ""
    penalty = (" (the compress-penalty runs with method=\"penalty\")"
               if methods and any(r["arm"] == "compress-penalty" for r in runs) else "")
    return (f" The ns.compress runs start from the trained dense model: `ns.compress(model, "
            f"(x_train, y_train), macs=share, epochs={epochs}, method=\"{methods or 'penalty'}\""
            f"{distill})`{penalty} (the share in the strength column), so their models "
            f"trained {payload['settings']['epochs'][study]} + {epochs} epochs in all.")


def _finetune_text(settings, study):
    epochs = settings["finetune_epochs"][study]
    if not epochs:
        return "their shrunk models not fine-tuned"
    return (f"whose shrunk models are then fine-tuned {epochs} epoch(s) without it, Adam from "
            f"{settings['finetune_lr']:g}")


def sequence_markdown(payload):
    """results/sequence.md: every run of each study, the matched run and the verdicts."""
    lines = ["## Sequence models on MNIST: attention heads, MLP neurons and LSTM units", ""]
    for study in studies(payload):
        chosen = matched_run(payload, study)
        rows = [row_cells(payload, study, r) + ["yes" if r is chosen else ""]
                for r in payload["runs"] if r["study"] == study]
        body = table(study, [cells[:-1] for cells in rows])
        body[0] += " matched |"
        body[1] += "---|"
        body[2:] = [line + f" {cells[-1]} |" for line, cells in zip(body[2:], rows)]
        lines += [f"### {STUDIES[study]}", "", setup_text(payload, study), "", *body, "",
                  *verdicts(payload, study), ""]
    return "\n".join(lines + [load_text(payload), ""])


def readme_lines(payload):
    """The README's section: per study, the dense run and the matched run, then the
    verdicts."""
    lines = ["Sequence models on MNIST (`benchmarks/bench_sequence.py`, `make bench-extra`; every "
             "run in [benchmarks/results/sequence.md](benchmarks/results/sequence.md)):", ""]
    for study in studies(payload):
        chosen = matched_run(payload, study)
        scratch = scratch_run(payload, study)
        shown = (dense_run(payload, study), long_dense_run(payload, study), chosen,
                 None if scratch is chosen else scratch)
        rows = [row_cells(payload, study, r) for r in shown if r]
        missing = [] if chosen else ["No penalized run at matched error.", ""]
        lines += [f"- **{STUDIES[study]}**: {setup_text(payload, study)}", "",
                  *table(study, rows), "", *missing, *verdicts(payload, study), ""]
    return lines + [f"- {load_text(payload)}", ""]
