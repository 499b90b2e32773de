"""Penalty strengths: reading and scaling them, and one strength per layer by a rule.

A *strength knob* is a float attribute a penalty multiplies its non-smooth part by:
``strength`` (GroupLasso, SparseGroupLasso, L1, Binarizing) or ``li``/``lo``/``l1`` (DropNeuron;
its ``l2`` is weight decay and is left alone). Gate layers also keep their ``l1`` in their
config, so it is kept in step with the penalty on theta: a rebuilt Gate gets the current value.
TriStateReLU layers carry their size knob themselves: ``complexity`` (the width term; its
``binarize`` and ``linearity`` shape the gates rather than the size and are left alone).
"""

from tf_neuronselect import grouping
from tf_neuronselect.layers.gate import Gate
from tf_neuronselect.layers.tri_state_relu import TriStateReLU
from tf_neuronselect.penalties import add_penalty
from tf_neuronselect.regularizers.binarizing import Binarizing
from tf_neuronselect.surgery.costs import layer_macs
from tf_neuronselect.utils import keras_private
from tf_neuronselect.utils.validation import validate_choice
from tf_neuronselect.utils.validation import validate_non_negative_float

KNOBS = ("strength", "li", "lo", "l1")
RULES = ("params", "macs", "depth", "uniform")
# Alvarez & Salzmann's two strengths: 0.102 for the first layers, 0.255 for the rest.
PAPER_RATIO = 0.255 / 0.102


def strength_of(penalty):
    """The penalty's strength: its first non-zero knob (``strength``, ``li``, ``lo``, ``l1``),
    0.0 if all are zero, None if it has none."""
    values = [float(getattr(penalty, k)) for k in KNOBS if hasattr(penalty, k)]
    if not values:
        return None
    return next((v for v in values if v > 0), 0.0)


def with_strength(penalty, strength):
    """A copy of ``penalty`` whose strength (see ``strength_of``) is ``strength``; the other
    knobs keep their ratio to it."""
    strength = validate_non_negative_float(strength, "strength", "with_strength")
    current = strength_of(penalty)
    if current is None:
        raise TypeError(
            "with_strength: expected a penalty with a `strength` (or DropNeuron's li/lo/l1) "
            f"attribute. Received: {type(penalty).__name__}. How to fix: use a "
            "tf_neuronselect penalty such as GroupLasso."
        )
    config = penalty.get_config()
    for knob in KNOBS:
        if knob in config:
            config[knob] = strength if current == 0 else config[knob] * strength / current
    return type(penalty).from_config(config)


def penalties(model):
    """``[(layer, variable, penalty)]`` for every variable of ``model`` carrying a size
    penalty with strength knobs (Binarizing only pushes gates to 0 or 1, so it is not one)."""
    found = []
    for layer in keras_private.own_layers(model):
        # Own variables only: a wrapper's trainable_weights would repeat its sublayers'.
        for variable in keras_private.own_trainable_variables(layer):
            penalty = getattr(variable, "regularizer", None)
            if isinstance(penalty, Binarizing):
                continue
            if penalty is not None and strength_of(penalty) is not None:
                found.append((layer, variable, penalty))
    return found


def tri_state_layers(model):
    """The TriStateReLU layers of ``model``, whose ``complexity`` is a size knob."""
    return [layer for layer in keras_private.own_layers(model)
            if isinstance(layer, TriStateReLU)]


def strength_knobs(model):
    """``[(owner, attribute)]``: every float that sets how hard ``model`` is pushed to shrink
    (penalty knobs, TriStateReLU ``complexity``)."""
    knobs = [(penalty, knob) for _, _, penalty in penalties(model)
             for knob in KNOBS if hasattr(penalty, knob)]
    return knobs + [(layer, "complexity") for layer in tri_state_layers(model)]


def initialize_zero_strengths(model, strength):
    """Sets ``strength`` on every penalty and TriStateReLU whose size knobs are all 0 (a
    multiplicative controller cannot start from 0); returns how many were set."""
    count = 0
    for _, _, penalty in penalties(model):
        if strength_of(penalty) == 0:
            for knob in KNOBS:
                if hasattr(penalty, knob):
                    setattr(penalty, knob, strength)
            count += 1
    for layer in tri_state_layers(model):
        if layer.complexity == 0:
            layer.complexity = strength
            count += 1
    _sync_gate_configs(model)
    return count


def _sync_gate_configs(model):
    # The penalty on theta is l1 * learning_rate_multiplier (the whole gradient is scaled).
    for layer, _, penalty in penalties(model):
        if isinstance(layer, Gate):
            layer.l1 = float(penalty.strength) / layer.learning_rate_multiplier


def scale_strengths(model, factor):
    """Multiplies every strength knob of ``model`` (see ``strength_knobs``) by ``factor`` in
    place (Gate ``l1`` configs follow). Takes effect in the next traced train step: penalties
    and TriStateReLU read their strength as a Python float when the step is traced. Returns
    the number of penalties and TriStateReLU layers scaled."""
    for owner, knob in strength_knobs(model):
        setattr(owner, knob, float(getattr(owner, knob)) * factor)
    _sync_gate_configs(model)
    return len(penalties(model)) + len(tri_state_layers(model))


def _unit_layers(model, layers):
    if layers is not None:
        return [model.get_layer(n) if isinstance(n, str) else n for n in layers]
    return [layer for layer in keras_private.own_layers(model)
            if not grouping.is_grouped_convolution(layer) and grouping.unit_spec(layer) is not None]


def _cost(layer, rule):
    if rule == "params":
        return float(layer.count_params())
    # MACs per example from the layer's own (first) call: the same count ``make_plan`` uses.
    return float(layer_macs(layer, tuple(layer.input.shape), tuple(layer.output.shape)))


def layer_strengths(model, total_strength, rule="params", layers=None, first_layers=1,
                    ratio=PAPER_RATIO):
    """One penalty strength per prunable layer, whose mean over the layers is ``total_strength``.

    Alvarez & Salzmann (2016) found "a relatively small strength for the first few layers and a
    larger one for the rest" works best, without a rule for what "few" and "larger" mean. The
    rules here make that choice explicit:

    - ``"params"`` (default): ``strength_l = total_strength * L * P_l / sum(P)``, with ``P_l``
      the layer's parameter count and ``L`` the number of layers. A layer is pushed in
      proportion to what it costs; in convolutional networks the first layers hold few
      parameters, so they get the small strengths the paper recommends.
    - ``"macs"``: the same with each layer's multiply-adds per example (compute budgets).
    - ``"depth"``: the paper's two levels: the first ``first_layers`` layers get ``s``, the
      rest ``ratio * s`` (default 2.5, the paper's 0.102 vs 0.255), ``s`` chosen so the mean is
      ``total_strength``.
    - ``"uniform"``: every layer gets ``total_strength``.

    Args:
        model: a built Keras model.
        total_strength: the mean strength over the layers, a non-negative float.
        rule: one of ``"params"``, ``"macs"``, ``"depth"``, ``"uniform"``.
        layers: names or layers to include (default: every Dense/Conv-like layer, in model
            order; the output layer is usually left out by the caller).
        first_layers, ratio: the ``"depth"`` rule's parameters.

    Returns:
        ``{layer name: strength}`` in model order; apply it with ``apply_layer_strengths``.
    """
    total_strength = validate_non_negative_float(total_strength, "total_strength",
                                                 "layer_strengths")
    validate_choice(rule, "rule", RULES, "layer_strengths")
    chosen = _unit_layers(model, layers)
    if not chosen:
        raise ValueError(
            "layer_strengths: expected at least one Dense/Conv-like layer. Received: none in "
            f"model '{model.name}'. How to fix: pass `layers=[...]` naming prunable layers."
        )
    count = len(chosen)
    if rule == "uniform":
        weights = [1.0] * count
    elif rule == "depth":
        weights = _depth_weights(count, first_layers, ratio)
    else:
        costs = [_cost(layer, rule) for layer in chosen]
        weights = [count * c / sum(costs) for c in costs] if sum(costs) else [1.0] * count
    return {layer.name: total_strength * w for layer, w in zip(chosen, weights)}


def _depth_weights(count, first_layers, ratio):
    if isinstance(first_layers, bool) or not isinstance(first_layers, int) or first_layers < 0:
        raise ValueError(
            "layer_strengths: expected `first_layers` to be a non-negative int. "
            f"Received: first_layers={first_layers!r}."
        )
    ratio = validate_non_negative_float(ratio, "ratio", "layer_strengths")
    first = min(first_layers, count)
    small = count / (first + ratio * (count - first))
    return [small if i < first else small * ratio for i in range(count)]


def apply_layer_strengths(model, penalty, strengths):
    """Attaches a copy of ``penalty`` with each layer's strength (``{name: strength}``, from
    ``layer_strengths``) to that layer via ``add_penalty``; returns the layer names."""
    if not isinstance(strengths, dict):
        raise TypeError(
            "apply_layer_strengths: expected `strengths` to be a dict {layer name: strength} "
            f"such as layer_strengths(...) returns. Received: {type(strengths).__name__}."
        )
    names = []
    for name, strength in strengths.items():
        names += add_penalty(model, with_strength(penalty, strength), layers=[name])
    return names
