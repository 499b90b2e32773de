"""The baselines beside the dense network: L2 + dropout, and the "uniform" network, the dense one
with every hidden width scaled by one factor to the size of the best selection configuration
and trained from scratch (what neuron selection has to beat)."""

from benchmarks import _common
from benchmarks.mnist import plan
from benchmarks.mnist.config import DROPOUT, SELECTION_METHODS, TARGETS
from benchmarks.mnist.rows import configurations

log = _common.log


def l2_dropout(arch, strength, data, widths=None):
    """The dense network with dropout and an L2 penalty on every hidden kernel (the output layer
    is left alone)."""
    import keras

    import tf_neuronselect as ns
    from tf_neuronselect.examples import recipes

    model = recipes.build(arch, "dense", data.input_shape, data.num_classes, widths=widths,
                          dropout=DROPOUT)
    hidden = [layer.name for layer in model.layers
              if ns.grouping.unit_spec(layer) is not None and layer.name != "logits"]
    ns.add_penalty(model, keras.regularizers.L2(strength), layers=hidden)
    return model


def uniform_widths(arch, factor):
    """The dense ``arch``'s hidden widths, each multiplied by ``factor`` (at least 1)."""
    from tf_neuronselect.examples import recipes

    return tuple(max(1, int(round(w * factor))) for w in recipes.WIDTHS[arch])


def uniform_factor(arch, target_params, data):
    """Width factor whose uniformly scaled dense network has about ``target_params``."""
    from tf_neuronselect.examples import recipes

    low, high = 0.005, 1.0
    for _ in range(30):
        mid = (low + high) / 2
        params = recipes.build(arch, "dense", data.input_shape, data.num_classes,
                               widths=uniform_widths(arch, mid)).count_params()
        low, high = (mid, high) if params < target_params else (low, mid)
    return (low + high) / 2


def best_selection(rows, arch):
    """The selection configuration the uniform baseline is matched to: fewest parameters among
    those meeting the error target (seed means), else the lowest error. Returns its first row
    with ``params`` replaced by the configuration's mean parameter count."""
    candidates = configurations(
        [r for r in rows if r["arch"] == arch and r["method"] in SELECTION_METHODS])
    if not candidates:
        return None
    ok = [c for c in candidates if c["error_pct"] <= TARGETS[arch]["error_pct"]]
    best = (min(ok, key=lambda c: c["params"]) if ok
            else min(candidates, key=lambda c: c["error_pct"]))
    return dict(best["rows"][0], params=int(round(best["params"])))


def matched_uniform_widths(rows, arch, data):
    """(best selection row, widths) of the uniform baseline matched to the best selection
    configuration's size, or (None, None) when there is no selection run yet."""
    best = best_selection(rows, arch)
    if best is None:
        log("  no selection run to match; skipping the uniform baseline")
        return None, None
    factor = uniform_factor(arch, best["params"], data)
    widths = uniform_widths(arch, factor)
    log(f"  matching {best['method']} s={best['strength']:g} ({best['params']:,} params):"
        f" width factor {factor:.4f} -> widths {widths}")
    return best, widths


def uniform_tasks(seeded_plan, rows, data, settings, first_seed):
    """The planned uniform runs as tasks, each network's matched to its best selection
    configuration among ``rows`` (so they are made once the selection runs are stored)."""
    tasks = []
    for arch in dict.fromkeys(run[1] for run in seeded_plan if run[2] == "uniform"):
        best, widths = matched_uniform_widths(rows, arch, data)
        if best is not None:
            matched = {"method": best["method"], "strength": best["strength"],
                       "params": best["params"]}
            tasks += [plan.make_task(run, settings, first_seed, widths, {"matched_to": matched})
                      for run in seeded_plan if run[1:3] == (arch, "uniform")]
    return tasks


def note_stale_uniform(rows):
    """Logs the uniform baselines that a merge left matched to another run than the best."""
    for arch in sorted({r["arch"] for r in rows}):
        best = best_selection(rows, arch)
        for r in rows:
            if (r["arch"] == arch and r["method"] == "uniform" and best
                    and r.get("matched_to", {}).get("params") != best["params"]):
                log(f"  note: the {arch} uniform baseline matches {r['matched_to']}, no longer the "
                    f"best selection run ({best['method']} {best['strength']:g}, "
                    f"{best['params']:,} params): rerun it with --merge --methods uniform")
