"""Which unit groups to remove for a target: a share of the units, a size, or widths per layer.

Groups are ranked by importance, least important first. ``"global"`` ranking compares groups
across layers after dividing each score by the mean score of its layer (Torch-Pruning's "mean"
normalizer: raw norms grow with a layer's fan-in); ``"local"`` removes the same share of every
layer. No layer loses more than ``max_layer_fraction`` of its units, and with ``round_to`` the
units a layer keeps are a multiple of it. A group belongs to the layer that produces it (its
first producer), or to its layer's kind of inner unit (a MultiHeadAttention's heads).
"""

import collections
import dataclasses
import math

import numpy as np

from tf_neuronselect.analysis import groups as groups_lib


@dataclasses.dataclass
class Candidate:
    """A removable unit group, the layer it counts for, and its importance."""

    group: object
    layer: str
    score: float


def eligible(groups, units_of, ignored=()):
    """The groups worth scoring: removable, counted by ``units_of`` (see ``counted_as``) and
    touching no ignored layer."""
    ignored = set(ignored)
    return [g for g in groups if not g.pinned and not ignored & set(g.layers())
            and counted_as(g) in units_of]


def counted_as(group):
    """What a group counts for in budgets, rankings and ``widths``: its first producing layer
    (``"dense_1"``), or for a unit inside a layer that layer's kind of unit
    (``"attention.heads"``, ``"block.intermediate"``), so a layer's heads and its neurons are
    ranked and capped apart."""
    if group.inner_kind:
        return group.inner_kind
    producers = group.layers((groups_lib.PRODUCES,))
    return producers[0] if producers else None


def candidates(groups, scores):
    """One ``Candidate`` per ``eligible`` group, named by what it counts for."""
    return [Candidate(group, counted_as(group), float(score))
            for group, score in zip(groups, scores)]


def layer_sizes(cands, units_of):
    """``{layer: units}`` for the layers the candidates count for."""
    return {c.layer: units_of[c.layer] for c in cands}


def _normalized(cands):
    means = collections.defaultdict(list)
    for c in cands:
        means[c.layer].append(c.score)
    means = {layer: np.mean([s for s in v if np.isfinite(s)] or [1.0]) for layer, v in
             means.items()}
    return [c.score / means[c.layer] if means[c.layer] > 0 else c.score for c in cands]


def _budgets(sizes, max_layer_fraction):
    """How many groups each layer may lose (always keeping one unit)."""
    return {layer: min(units - 1, math.floor(max_layer_fraction * units))
            for layer, units in sizes.items()}


def first_global(cands, count, sizes, max_layer_fraction):
    """The ``count`` least important candidates across layers, within each layer's budget."""
    budgets = _budgets(sizes, max_layer_fraction)
    order = np.argsort(_normalized(cands), kind="stable")
    chosen, used = [], collections.Counter()
    for i in order:
        if len(chosen) == count:
            break
        c = cands[i]
        if used[c.layer] < budgets[c.layer] and np.isfinite(c.score):
            chosen.append(c)
            used[c.layer] += 1
    return chosen


def first_local(cands, share, sizes, max_layer_fraction):
    """The least important ``share`` of every layer's units (within its budget)."""
    budgets = _budgets(sizes, max_layer_fraction)
    by_layer = collections.defaultdict(list)
    for c in cands:
        by_layer[c.layer].append(c)
    chosen = []
    for layer, members in by_layer.items():
        count = min(budgets[layer], int(round(share * sizes[layer])))
        ranked = sorted((c for c in members if np.isfinite(c.score)), key=lambda c: c.score)
        chosen += ranked[:count]
    return chosen


def by_widths(cands, widths, sizes):
    """For each layer of ``widths``, its least important groups down to that many units."""
    chosen = []
    for layer, width in widths.items():
        ranked = sorted((c for c in cands if c.layer == layer), key=lambda c: c.score)
        chosen += ranked[:max(0, sizes[layer] - width)]
    return chosen


def rounded(chosen, sizes, round_to):
    """``chosen`` with the fewest groups put back so every layer keeps a multiple of
    ``round_to`` units (the most important put back first)."""
    if not round_to:
        return chosen
    by_layer = collections.defaultdict(list)
    for c in chosen:
        by_layer[c.layer].append(c)
    kept = []
    for layer, members in by_layer.items():
        units = sizes[layer] - len(members)
        extra = (-units) % round_to
        members = sorted(members, key=lambda c: c.score)
        kept += members[:max(0, len(members) - extra)]
    return kept
