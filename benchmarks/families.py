"""The keras.applications families bench_families.py shrinks, and two ways to kill their units
the way training does: whole zero-invariant unit groups zeroed, or BatchNorm gamma = beta = 0
(Network Slimming's sign of a dead channel).

The table repeats tests/test_families.py's on purpose (benchmarks import no tests);
tests/test_benchmarks.py checks that the two agree.
"""

import numpy as np

# name -> input side (the smallest each family accepts, or 32), as in tests/test_families.py.
FAMILIES = {
    "ConvNeXtTiny": 32, "DenseNet121": 32, "EfficientNetB0": 32, "EfficientNetV2B0": 32,
    "InceptionResNetV2": 75, "InceptionV3": 75, "MobileNet": 32, "MobileNetV2": 32,
    "MobileNetV3Small": 32, "MobileNetV3Large": 32, "NASNetMobile": 32, "ResNet50": 32,
    "ResNet50V2": 32, "VGG16": 32, "Xception": 71,
}
# Families where gamma = beta = 0 cannot silence a channel, and why.
WITHOUT_BATCHNORM_GAMMA = {
    "ConvNeXtTiny": "LayerNormalization, no BatchNorm",
    "InceptionResNetV2": "BatchNorm(scale=False)",
    "InceptionV3": "BatchNorm(scale=False)",
    "VGG16": "no BatchNorm",
}
# `make bench-quick`: one mobile family with hard-swish and squeeze-and-excitation, one without
# BatchNorm.
QUICK_FAMILIES = ("MobileNetV3Small", "VGG16")
SHARE = 0.3  # of the unit groups zeroed, or of each BatchNorm's channels silenced
PRODUCES, CARRIES, READS = "produces", "carries", "reads"


def build(name, rng):
    """``keras.applications.<name>`` with weights=None, 10 classes, random BatchNorm
    statistics (so that folds and silenced channels are really tested)."""
    import keras

    side = FAMILIES[name]
    model = getattr(keras.applications, name)(weights=None, input_shape=(side, side, 3),
                                              classes=10)
    for layer in all_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            randomize_batchnorm(layer, rng)
    return model


def all_layers(model):
    """Every layer of ``model``, the layers of nested models included (not the models)."""
    import keras

    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found += all_layers(layer)
        else:
            found.append(layer)
    return found


def randomize_batchnorm(layer, rng):
    """Gamma in [0.5, 1.5], beta ~ N(0, 0.5), moving mean ~ N(0, 0.5), variance in [0.5, 2]
    (the weights the layer has: scale=False has no gamma)."""
    draw = {"gamma": lambda shape: rng.uniform(0.5, 1.5, shape),
            "beta": lambda shape: rng.normal(0, 0.5, shape),
            "moving_mean": lambda shape: rng.normal(0, 0.5, shape),
            "moving_variance": lambda shape: rng.uniform(0.5, 2.0, shape)}
    layer.set_weights([draw[w.name](w.shape) for w in layer.weights])


def weight_of(layer, path):
    """The variable of ``layer`` at ``path`` inside it (a unit group slice's ``weight``)."""
    prefix = f"{layer.path}/"
    for variable in layer.weights:
        inner = (variable.path[len(prefix):] if variable.path.startswith(prefix)
                 else variable.name)
        if inner == path:
            return variable
    raise KeyError(f"layer '{layer.name}' has no weight '{path}'")


def zero_unit_groups(model, share, rng):
    """Zeroes every trainable ``produces`` and ``carries`` slice of about ``share`` of the
    removable unit groups that have a producer (what a zero-invariant group lasso drives to
    zero); returns (groups zeroed, removable groups with a producer)."""
    import keras
    import tf_neuronselect as ns

    candidates = [g for g in ns.unit_groups(model).removable() if g.layers((PRODUCES,))]
    chosen = [g for g in candidates if rng.random() < share]
    units = {}
    for group in chosen:
        for s in group.slices:
            if s.role != READS:
                units.setdefault((s.layer, s.weight, s.layout, s.side), []).extend(s.units)
    layers = {layer.name: layer for layer in all_layers(model)}
    for (layer, weight, layout, side), killed in units.items():
        variable = weight_of(layers[layer], weight)
        if variable.trainable:
            array = keras.ops.convert_to_numpy(variable)
            factors = np.ones(ns.grouping.num_units(array.shape, layout, side))
            factors[killed] = 0.0
            variable.assign(ns.grouping.scale_units(array, layout, side, factors))
    return len(chosen), len(candidates)


def silence_batchnorm(model, share, rng):
    """Sets gamma = beta = 0 on about ``share`` of the channels of every BatchNormalization
    that has both; returns (channels silenced, channels of such layers)."""
    import keras

    silenced_total = channels = 0
    for layer in all_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization) and layer.scale and layer.center:
            silenced = rng.random(layer.gamma.shape) < share
            for variable in (layer.gamma, layer.beta):
                variable.assign(np.where(silenced, 0.0, keras.ops.convert_to_numpy(variable)))
            silenced_total += int(silenced.sum())
            channels += silenced.size
    return silenced_total, channels


# --- results tables (results/families.md and the README) ---

MAX_KEPT = 0.80  # the bar: at most this share of the parameters kept


def _by_family(payload):
    table = {}
    for row in payload["rows"]:
        table.setdefault(row["family"], {})[row["mode"]] = row
    return table


def _exact_cell(modes):
    measured = [r for r in modes.values() if not r.get("skipped")]
    worst = max(r["relative_diff"] for r in measured)
    failed = [mode for mode, r in modes.items() if not r.get("skipped") and not r["exact"]]
    verdict = f"no ({', '.join(failed)})" if failed else "yes"
    return f"{verdict}, {worst:.0e}"


def _batchnorm_cell(row):
    if row is None:
        return "-"
    if row.get("skipped"):
        return f"no BN gamma ({row['skipped']})"
    return f"{row['kept_params']:.3f}"


def families_table(payload):
    """The markdown table of results/families.json, one line a family."""
    lines = ["| family | input | parameters | kept params, 30% groups zeroed | kept MACs | "
             "kept params, 30% BN gamma = beta = 0 | exact, max diff / max output |",
             "|---|---|---|---|---|---|---|"]
    for name, modes in _by_family(payload).items():
        groups = modes["unit-groups"]
        lines.append(f"| {name} | {groups['input_side']}x{groups['input_side']} | "
                     f"{groups['params_before']:,} | {groups['kept_params']:.3f} | "
                     f"{groups['kept_macs']:.3f} | {_batchnorm_cell(modes.get('batchnorm'))} | "
                     f"{_exact_cell(modes)} |")
    return lines


def families_summary(payload):
    """The verdict lines under the table: exactness, the 0.80 bar, families without gamma."""
    rows = [r for r in payload["rows"] if not r.get("skipped")]
    inexact = sorted({f"{r['family']} ({r['mode']})" for r in rows if not r["exact"]})
    over = sorted({f"{r['family']} ({r['mode']}, {r['kept_params']:.3f})" for r in rows
                   if r["kept_params"] > MAX_KEPT})
    skipped = [r for r in payload["rows"] if r.get("skipped")]
    count = len({r["family"] for r in payload["rows"]})
    return ["- exact in every family and both ways: "
            + ("MET" if not inexact else f"MISSED ({', '.join(inexact)})"),
            f"- at most {MAX_KEPT:.2f} of the parameters kept in every family and both ways: "
            + ("MET" if not over else f"MISSED ({', '.join(over)})"),
            f"- {len(skipped)} of {count} families have no BatchNorm gamma, so gamma = beta = 0 "
            "cannot silence a channel there (they shrink by zeroed unit groups): "
            + ", ".join(f"{r['family']} ({r['skipped']})" for r in skipped)]


def setup_text(payload):
    """What was killed and what "kept" and "exact" mean."""
    settings = payload["settings"]
    return (f"each family's smallest member, weights=None, random BatchNorm statistics; "
            f"{settings['share']:.0%} of the removable unit groups zeroed (every slice that "
            "produces or carries the channel), or as many of each BatchNorm's channels at "
            "gamma = beta = 0; kept = after / before `ns.shrink`; exact: max |output "
            f"difference| <= {settings['tolerance']:g} x max(1, max |output|); "
            f"{payload['seconds_total'] / 60:.1f} min.")


def families_markdown(payload):
    """results/families.md."""
    text = setup_text(payload)
    return "\n".join(["## Which keras.applications families shrink", "",
                      text[0].upper() + text[1:], "", *families_table(payload), "",
                      *families_summary(payload), ""])
