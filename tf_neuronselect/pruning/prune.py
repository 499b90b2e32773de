"""``prune``: one-shot (or iterative) structured pruning of a trained model over its unit groups.

The model is copied (yours is not changed); each step scores the unit groups, picks the least
important ones for the step's target, optionally folds their mean contribution into the layers
that read them, zeroes them (so they are exactly removable) and shrinks. With ``steps=k`` the
target is reached in k steps (sizes shrink geometrically), each re-scoring the smaller model.
Units inside a layer (attention heads, KerasHub blocks' neurons) are ranked as their own kind
(``"attention.heads"``): zeroing a head's query/key/value slices and output rows removes it.
"""

import collections
import dataclasses

from tf_neuronselect import grouping
from tf_neuronselect.analysis.graph import ModelGraph
from tf_neuronselect.analysis.groups import unit_groups
from tf_neuronselect.analysis.replay import copy_model
from tf_neuronselect.pruning import compensation
from tf_neuronselect.pruning import ranking
from tf_neuronselect.pruning import search
from tf_neuronselect.pruning.data import check_data
from tf_neuronselect.pruning.importance import DATA_DRIVEN
from tf_neuronselect.pruning.importance import KINDS
from tf_neuronselect.pruning.importance import group_importance
from tf_neuronselect.pruning.targets import check_widths
from tf_neuronselect.pruning.targets import parse_target
from tf_neuronselect.pruning.zeroing import zero_groups
from tf_neuronselect.surgery.reporting import model_size
from tf_neuronselect.surgery.rewrite import shrink
from tf_neuronselect.utils import keras_private
from tf_neuronselect.utils.keras_private import own_layers
from tf_neuronselect.utils.validation import validate_bool
from tf_neuronselect.utils.validation import validate_choice
from tf_neuronselect.utils.validation import validate_in_range
from tf_neuronselect.utils.validation import validate_positive_int

RANKINGS = ("global", "local")


@dataclasses.dataclass(frozen=True)
class Options:
    """How ``prune`` scores and picks groups (see ``prune``'s arguments)."""

    importance: str
    data: object
    loss: object
    ranking: str
    max_layer_fraction: float
    round_to: int | None
    ignored: tuple
    compensate: bool


def prune(model, *, fraction=None, params=None, macs=None, widths=None, importance="l2",
          data=None, loss=None, ranking="global", max_layer_fraction=0.9, round_to=None,
          ignored_layers=None, steps=1, compensate=None):
    """A smaller copy of a trained ``model`` with its least important unit groups removed.

    Args:
        model: a built Functional or Sequential model (trained).
        fraction: share of the prunable units to remove, in (0, 1); or
        params / macs: the size to reach: an int (parameters, or multiply-adds per example)
            or a float in (0, 1) (that share of the model's size); or
        widths: ``{layer name: units to keep}``; a layer's inner units by kind
            (``{"attention.heads": 2}``).
        importance: "l2", "l1", "bn_scale", "taylor" (needs ``data=(x, y)`` and a loss) or
            "activation" (needs ``data``); see ``tf_neuronselect.pruning.importance``.
        data: a few batches, ``x`` or ``(x, y)`` (at most 1024 samples are used).
        loss: the loss for "taylor" (default: the model's compiled loss).
        ranking: "global" (compare groups across layers, each score divided by its layer's
            mean) or "local" (the same share of every layer).
        max_layer_fraction: no layer loses more than this share of its units (in (0, 1]).
        round_to: keep every pruned layer's width a multiple of this.
        ignored_layers: names of layers whose groups are never removed.
        steps: reach the target in this many prune steps, re-scoring after each.
        compensate: fold removed channels' means (over ``data``) into the layers that read
            them; default True when ``data`` is given.

    Returns:
        The compact model, stock Keras layers only (as ``shrink`` builds it).
    """
    options = _options(model, importance, data, loss, ranking, max_layer_fraction, round_to,
                       ignored_layers, compensate)
    steps = validate_positive_int(steps, "steps", "prune")
    work = copy_model(ModelGraph(model))
    start = model_size(work)
    target = parse_target(fraction, params, macs, widths, start)
    for step in range(1, steps + 1):
        goal = target.at_step(step, steps, start.get(target.kind))
        work = _prune_step(work, goal, options)
    return work


def _options(model, importance, data, loss, ranking_name, max_layer_fraction, round_to,
             ignored_layers, compensate):
    validate_choice(importance, "importance", KINDS, "prune")
    validate_choice(ranking_name, "ranking", RANKINGS, "prune")
    compensate = data is not None if compensate is None else validate_bool(
        compensate, "compensate", "prune")
    if importance in DATA_DRIVEN or compensate:
        check_data(data, importance == "taylor", "prune")
    names = {layer.name for layer in own_layers(model)}
    ignored = tuple(ignored_layers or ())
    unknown = sorted(set(ignored) - names)
    if unknown:
        raise ValueError(f"prune: expected `ignored_layers` to name layers of the model. "
                         f"Received: {unknown}. How to fix: use names from model.layers.")
    if importance == "taylor" and loss is None:
        loss = (keras_private.compile_arguments(model) or {}).get("loss")
    return Options(importance, data, loss, ranking_name,
                   validate_in_range(max_layer_fraction, "max_layer_fraction", "prune", 0.0,
                                     1.0, high_open=False),
                   validate_positive_int(round_to, "round_to", "prune", allow_none=True,
                                         example=8), ignored, compensate)


def producer_units(model, groups):
    """``{name: units}`` of what can be pruned: every Dense/Conv-like layer's output units and
    every kind of unit inside a layer (``"attention.heads"``: the heads of layer
    ``attention``, counted from ``groups``)."""
    units = {}
    for layer in own_layers(model):
        spec = None if grouping.is_grouped_convolution(layer) else grouping.unit_spec(layer)
        if spec is not None:
            units[layer.name] = grouping.num_units(tuple(grouping.weight_of(layer, spec.kernel).shape),
                                                   spec.layout)
    units.update(collections.Counter(g.inner_kind for g in groups if g.inner_kind))
    return units


def _prune_step(work, target, options):
    groups = unit_groups(work)
    units = producer_units(work, groups)
    groups = ranking.eligible(groups, units, options.ignored)
    scores = group_importance(work, groups, options.importance, options.data, options.loss)
    cands = ranking.candidates(groups, scores)
    sizes = ranking.layer_sizes(cands, units)
    if target.kind == "widths":
        check_widths(target.value, sizes)
    chosen = search.choose(work, cands, sizes, target, options)
    chosen_groups = [c.group for c in chosen]
    means = compensation.read_means(work, chosen_groups, options.data) \
        if options.compensate else None
    zero_groups(work, chosen_groups)
    if means is not None:
        compensation.compensate(work, chosen_groups, means)
    return shrink(work)
