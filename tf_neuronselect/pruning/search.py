"""Picking the groups for a target: directly for a share or widths, by search for a size.

For a parameter or multiply-add target the number of groups (global ranking) or the share of
every layer (local ranking) is found by bisection, each candidate measured exactly: the groups
are zeroed in the model, ``make_plan`` counts what ``shrink`` would keep, and the weights are
put back.
"""

import warnings

from tf_neuronselect.analysis import groups as groups_lib
from tf_neuronselect.pruning import ranking
from tf_neuronselect.pruning.zeroing import zero_groups
from tf_neuronselect.pruning.zeroing import zeroed_units
from tf_neuronselect.surgery.reporting import model_size
from tf_neuronselect.utils.arrays import to_numpy
from tf_neuronselect.utils.keras_private import own_layers

_BISECTIONS = 14


def choose(model, cands, sizes, target, options):
    """The candidates to remove for ``target`` (see the module doc), rounded per layer."""
    cap = options.max_layer_fraction
    if target.kind == "widths":
        chosen = ranking.by_widths(cands, target.value, sizes)
    elif target.kind == "fraction" and options.ranking == "global":
        count = int(round(target.value * sum(sizes.values())))
        chosen = ranking.first_global(cands, count, sizes, cap)
    elif target.kind == "fraction":
        chosen = ranking.first_local(cands, target.value, sizes, cap)
    else:
        chosen = _for_size(model, cands, sizes, target, options)
    return ranking.rounded(chosen, sizes, options.round_to)


def _for_size(model, cands, sizes, target, options):
    cap = options.max_layer_fraction
    if options.ranking == "global":
        pick = lambda amount: ranking.first_global(cands, int(amount), sizes, cap)  # noqa: E731
        low, high = 0, len(cands)
    else:
        pick = lambda amount: ranking.first_local(cands, amount, sizes, cap)  # noqa: E731
        low, high = 0.0, 1.0
    smallest = _size_after(model, pick(high), target.kind)
    if smallest > target.value:
        _warn_out_of_reach(target, smallest, cap)
        return pick(high)
    for _ in range(_BISECTIONS):
        middle = (low + high) / 2 if options.ranking == "local" else (low + high) // 2
        if middle in (low, high):
            break
        too_big = _size_after(model, pick(middle), target.kind) > target.value
        low, high = (middle, high) if too_big else (low, middle)
    return pick(high)


def _warn_out_of_reach(target, smallest, cap):
    # A smaller model than asked for would drop whole layers; the user decides that, so the
    # result is as small as the limits allow and the warning says which limit to move.
    warnings.warn(
        f"prune: the target {target.kind}={int(target.value):,} is out of reach: removing every "
        f"unit that max_layer_fraction={cap:g} (and ignored_layers) allow leaves "
        f"{int(smallest):,}. The model returned has that size. How to fix: raise "
        f"max_layer_fraction (at most 1.0 keeps one unit per layer) or prune in more steps.",
        stacklevel=4)


def _size_after(model, chosen, kind):
    """The size ``shrink`` would give after zeroing ``chosen``; the weights are restored."""
    groups = [c.group for c in chosen]
    layers = {layer.name: layer for layer in own_layers(model)}
    touched = {groups_lib.find_weight(layers[layer], weight).path:
               groups_lib.find_weight(layers[layer], weight)
               for layer, weight, _, _ in zeroed_units(groups)}
    saved = {path: to_numpy(v) for path, v in touched.items()}
    try:
        zero_groups(model, groups)
        return model_size(model)[kind]
    finally:
        for path, variable in touched.items():
            variable.assign(saved[path])
